"""Label index: every named resource by its exact label and by a normalised key, for entity linking."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import rdflib
from rdflib import OWL, RDF, RDFS, Literal, URIRef
from rdflib.namespace import FOAF, SKOS, SDO

#: predicates read as names, best first
LABEL_PREDICATES: tuple[URIRef, ...] = (RDFS.label, SKOS.prefLabel, SDO.name, FOAF.name, SKOS.altLabel,
                                        URIRef("http://schema.org/name"))
#: rdf:types whose members are vocabulary (properties, classes), not entities to link
VOCABULARY_TYPES: frozenset[URIRef] = frozenset({RDF.Property, OWL.ObjectProperty, OWL.DatatypeProperty,
                                                 OWL.AnnotationProperty, RDFS.Class, OWL.Class})
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Compare-key of a name: accents dropped (NFKD), case folded, punctuation and extra spaces removed."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", stripped.casefold()).split())


@dataclass(frozen=True)
class LabelEntry:
    """One resource and one of its labels."""

    iri: URIRef
    label: str


class LabelIndex:
    """Exact and normalised lookups over labels, and the list of keys a fuzzy matcher searches."""

    def __init__(self, pairs: Iterable[tuple[URIRef, str]]) -> None:
        self._exact: dict[str, list[URIRef]] = {}
        self._norm: dict[str, list[LabelEntry]] = {}
        self._label_of: dict[URIRef, str] = {}
        for iri, label in pairs:
            bucket = self._exact.setdefault(label, [])
            if iri not in bucket:
                bucket.append(iri)
                self._norm.setdefault(normalise(label), []).append(LabelEntry(iri, label))
            self._label_of.setdefault(iri, label)
        self._keys: list[str] | None = None

    @classmethod
    def from_graph(cls, graph: rdflib.Graph) -> "LabelIndex":
        """Index every labelled resource of `graph` that is not a property or class."""
        vocab: set[URIRef] = set()
        for vt in VOCABULARY_TYPES:
            vocab.update(s for s in graph.subjects(RDF.type, vt) if isinstance(s, URIRef))

        def pairs() -> Iterable[tuple[URIRef, str]]:
            for pred in LABEL_PREDICATES:
                for s, o in graph.subject_objects(pred):
                    if isinstance(s, URIRef) and isinstance(o, Literal) and s not in vocab:
                        yield s, str(o)

        return cls(pairs())

    def __len__(self) -> int:
        return len(self._label_of)

    def __contains__(self, iri: object) -> bool:
        return iri in self._label_of

    def label_of(self, iri: URIRef) -> str | None:
        """The first label seen for `iri` (rdfs:label before other name predicates)."""
        return self._label_of.get(iri)

    def exact(self, name: str) -> list[URIRef]:
        """Resources whose label is exactly `name`."""
        return list(self._exact.get(name, ()))

    def normalised(self, name: str) -> list[LabelEntry]:
        """Resources whose label has the same normalised key as `name`."""
        return list(self._norm.get(normalise(name), ()))

    def entries(self, key: str) -> list[LabelEntry]:
        """Resources under one normalised key."""
        return list(self._norm.get(key, ()))

    @property
    def keys(self) -> list[str]:
        """All normalised keys (what fuzzy matching searches)."""
        if self._keys is None:
            self._keys = list(self._norm)
        return self._keys

    def items(self) -> Iterable[tuple[URIRef, str]]:
        """(iri, label) for every indexed resource."""
        return self._label_of.items()
