"""IRIs shared by every layer: the kgreason ontology namespace and how names become IRIs."""
from __future__ import annotations

from urllib.parse import quote

from rdflib import Namespace, URIRef

KGO = Namespace("http://kgreason.org/ontology#")
DEFAULT_NS = "http://kgreason.org/data/"

# Characters kept unescaped in an entity IRI tail (RFC 3987 friendly, no spaces, no '<>"{}|^`\').
_SAFE = "-._~!$&'()*+,;=:@"


def entity_iri(name: str, namespace: str = DEFAULT_NS) -> URIRef:
    """IRI of an entity known only by its name: `<ns>e/<percent-quoted name>`."""
    return URIRef(f"{namespace}e/{quote(name, safe=_SAFE)}")


def property_iri(relation: str, namespace: str = DEFAULT_NS) -> URIRef:
    """IRI of a relation name from a delimited file: `<ns>p/<quoted relation>`."""
    return URIRef(f"{namespace}p/{quote(relation.strip(), safe=_SAFE)}")


def relation_label(relation: str) -> str:
    """Readable label of a relation name: `directed_by` -> `directed by`."""
    return " ".join(relation.replace("_", " ").split())
