"""Label index: every named resource by its exact label and by a normalised key, for entity linking."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import rdflib
from rdflib import OWL, RDF, RDFS, Literal, URIRef
from rdflib.namespace import FOAF, SKOS, SDO

from knowledge.terms import Entity

#: predicates read as names, best first
LABEL_PREDICATES: tuple[URIRef, ...] = (RDFS.label, SKOS.prefLabel, SDO.name, FOAF.name, SKOS.altLabel,
                                        URIRef("http://schema.org/name"))
#: rdf:types whose members are vocabulary (properties, classes), not entities to link
VOCABULARY_TYPES: frozenset[URIRef] = frozenset({RDF.Property, OWL.ObjectProperty, OWL.DatatypeProperty,
                                                 OWL.AnnotationProperty, RDFS.Class, OWL.Class})
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
#: a lower-case letter or digit followed by a capital, or a capital run followed by a capitalised word
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD_SPAN = re.compile(r"[^\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Compare-key of a name whatever its naming convention: accents dropped (NFKD), case folded, underscores,
    punctuation and extra spaces removed ("Alan_PULIDO", "alan pulido", "Alán Pulido" -> "alan pulido")."""
    if text.isascii():  # nothing to decompose (same key, ~4x faster: label indexes normalise millions)
        stripped = text
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", stripped.casefold()).split())


def closeness(label: str, text: str) -> float:
    """How closely `text` writes a `label` it matches under a normalised key: 1.0 as written, 0.97 up to case,
    0.96 only under the key (accents, punctuation or underscores differ: "bruno" is closer to "Bruno" than to
    "Brüno", "taxi!" to "Taxi!" than to "Taxi")."""
    if label == text:
        return 1.0
    return 0.97 if label.casefold() == text.casefold() else 0.96


def split_camel(text: str) -> str:
    """camelCase / PascalCase words taken apart ("placeOfBirth" -> "place Of Birth", "HTMLParser" -> "HTML Parser")."""
    return _CAMEL.sub(" ", text)


def name_keys(text: str) -> tuple[str, ...]:
    """Every normalised key a name is found under: as written and, when it has camelCase, split into words."""
    plain = normalise(text)
    if _CAMEL.search(text) is None:  # nothing to split (most names; label indexes key millions)
        return (plain,)
    split = normalise(split_camel(text))
    return (plain,) if split == plain else (plain, split)


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """The words of `text` as (normalised key, start, end), split at underscores and punctuation as names are."""
    out = []
    for m in _WORD_SPAN.finditer(text):
        key = normalise(m.group())
        if key:
            out.append((key, m.start(), m.end()))
    return out


class LabelIndex:
    """Exact and normalised lookups over labels (every naming convention: `name_keys`), partial names (a
    first name or surname: "Ann" -> "Ann Lee"), and the list of keys a fuzzy matcher searches."""

    def __init__(self, pairs: Iterable[tuple[URIRef, str]]) -> None:
        self._exact: dict[str, list[URIRef]] = {}
        self._norm: dict[str, list[Entity]] = {}
        self._label_of: dict[URIRef, str] = {}
        for iri, label in pairs:
            bucket = self._exact.setdefault(label, [])
            if iri not in bucket:
                bucket.append(iri)
                for key in name_keys(label):
                    if key:
                        self._norm.setdefault(key, []).append(Entity(iri, label))
            self._label_of.setdefault(iri, label)
        self._keys: list[str] | None = None
        self._words: dict[str, list[str]] | None = None

    @classmethod
    def from_graph(cls, graph: rdflib.Graph) -> "LabelIndex":
        """Index every labelled resource of `graph` that is not a property or class (resources without a label
        are found through the adjacency view, by their IRI's local name)."""
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

    def normalised(self, name: str) -> list[Entity]:
        """Resources whose label has a normalised key of `name` (any naming convention, case, accents)."""
        out: list[Entity] = []
        for key in name_keys(name):
            out.extend(e for e in self._norm.get(key, ()) if e not in out)
        return out

    def entries(self, key: str) -> list[Entity]:
        """Resources under one normalised key."""
        return list(self._norm.get(key, ()))

    def partial(self, name: str) -> list[Entity]:
        """Resources whose label has the words of `name` as a whole-word run but is longer ("Ann" -> "Ann Lee",
        "pulido" -> "Alan_PULIDO"), best first: the run at the start, then shorter labels."""
        key = normalise(name)
        if not key:
            return []
        if self._words is None:
            words: dict[str, list[str]] = {}
            for k in self._norm:
                for w in set(k.split(" ")):
                    words.setdefault(w, []).append(k)
            self._words = words
        first = key.split(" ")[0]
        hits = [k for k in self._words.get(first, ()) if k != key and f" {key} " in f" {k} "]
        hits.sort(key=lambda k: (not k.startswith(key + " "), len(k), k))
        out: list[Entity] = []
        for k in hits:
            out.extend(e for e in self._norm[k] if e not in out)
        return out

    @property
    def keys(self) -> list[str]:
        """All normalised keys (what fuzzy matching searches)."""
        if self._keys is None:
            self._keys = list(self._norm)
        return self._keys

    def items(self) -> Iterable[tuple[URIRef, str]]:
        """(iri, label) for every indexed resource."""
        return self._label_of.items()
