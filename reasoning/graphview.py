"""An in-memory adjacency view of a graph (per-property forward/backward maps, labels, role words).

Path execution, planning and the rule engine read this view instead of issuing one store call per hop;
it is built once per graph state and rebuilt when the graph's size changes."""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote

import rdflib
from rdflib import OWL, RDF, RDFS, Literal, URIRef
from rdflib.namespace import FOAF, SDO, SKOS
from rdflib.term import Node

from knowledge.namespaces import KGO

Triple = tuple[Node, URIRef, Node]

LABEL_PROPS = (RDFS.label, SKOS.prefLabel, SDO.name, FOAF.name)
#: Namespaces whose properties describe the schema or documents, not facts worth walking.
SCHEMA_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(SKOS), str(KGO), "http://www.w3.org/2002/07/owl#")
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def as_rdf(graph: object) -> rdflib.Graph:
    """The rdflib graph behind a KnowledgeGraph (its `.rdf`) or the graph itself."""
    rdf = getattr(graph, "rdf", graph)
    if not isinstance(rdf, rdflib.Graph):
        raise TypeError(f"expected a KnowledgeGraph or rdflib.Graph, got {type(graph).__name__}")
    return rdf


def iter_triples(rdf: rdflib.Graph) -> Iterator[Triple]:
    """Every triple of the graph, across named graphs for datasets."""
    if isinstance(rdf, rdflib.ConjunctiveGraph) or isinstance(rdf, rdflib.Dataset):
        seen: set[Triple] = set()
        for s, p, o, _ in rdf.quads((None, None, None, None)):
            t = (s, p, o)
            if t not in seen:
                seen.add(t)
                yield t  # type: ignore[misc]
    else:
        yield from rdf.triples((None, None, None))  # type: ignore[misc]


def normalize(text: str) -> str:
    """Case- and spacing-insensitive key for label lookup: lower-cased word/punctuation tokens."""
    return " ".join(_TOKEN.findall(text.lower()))


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def iri_tail(node: Node) -> str:
    text = str(node)
    tail = re.split(r"[/#]", text.rstrip("/#"))[-1] if isinstance(node, URIRef) else text
    return unquote(tail)


def role_key(word: str) -> str:
    """Canonical role word: lower-case alphanumerics, trailing plural 's' removed ("tags" == "tag")."""
    key = re.sub(r"[^a-z0-9]", "", word.lower())
    return key[:-1] if len(key) > 3 and key.endswith("s") else key


def is_schema_property(p: Node) -> bool:
    return any(str(p).startswith(ns) for ns in SCHEMA_NAMESPACES) or p in LABEL_PROPS


@dataclass
class GraphView:
    """Forward (`out[p][s] -> objects`) and backward (`inc[p][o] -> subjects`) maps plus labels."""

    out: dict[URIRef, dict[Node, list[Node]]] = field(default_factory=dict)
    inc: dict[URIRef, dict[Node, list[Node]]] = field(default_factory=dict)
    labels: dict[Node, str] = field(default_factory=dict)
    by_label: dict[str, list[Node]] = field(default_factory=dict)
    subject_roles: dict[URIRef, tuple[str, ...]] = field(default_factory=dict)
    object_roles: dict[URIRef, tuple[str, ...]] = field(default_factory=dict)
    triples_count: int = 0

    @classmethod
    def build(cls, graph: object, extra: Iterable[Triple] = ()) -> "GraphView":
        """Scan the graph once (plus `extra` derived triples) and index it."""
        view = cls()
        for s, p, o in iter_triples(as_rdf(graph)):
            view._add(s, p, o)
        view.add_triples(extra)
        for node, text in view.labels.items():
            view.by_label.setdefault(normalize(text), []).append(node)
        return view

    def _add(self, s: Node, p: URIRef, o: Node) -> None:
        self.triples_count += 1
        if p in LABEL_PROPS and isinstance(o, Literal):
            if p == RDFS.label or s not in self.labels:
                self.labels[s] = str(o)
            return
        if p == KGO.subjectRole:
            self.subject_roles[s] = self.subject_roles.get(s, ()) + (str(o),)  # type: ignore[index]
            return
        if p == KGO.objectRole:
            self.object_roles[s] = self.object_roles.get(s, ()) + (str(o),)  # type: ignore[index]
            return
        self.out.setdefault(p, {}).setdefault(s, []).append(o)
        self.inc.setdefault(p, {}).setdefault(o, []).append(s)

    def add_triples(self, triples: Iterable[Triple]) -> None:
        """Add derived triples to the view (the graph itself is not touched)."""
        for s, p, o in triples:
            if o not in self.out.get(p, {}).get(s, ()):
                self._add(s, p, o)

    def has(self, s: Node, p: URIRef, o: Node) -> bool:
        return o in self.out.get(p, {}).get(s, ())

    def label(self, node: Node) -> str:
        """rdfs:label (or skos/schema/foaf name), a literal's text, else the IRI's unquoted tail."""
        if node in self.labels:
            return self.labels[node]
        if isinstance(node, Literal):
            return str(node)
        return iri_tail(node)

    def property_label(self, p: URIRef) -> str:
        return self.labels.get(p) or iri_tail(p).replace("_", " ")

    def fact_properties(self) -> list[URIRef]:
        """Properties that carry facts (not schema, label or document bookkeeping)."""
        return sorted((p for p in self.out if not is_schema_property(p)), key=str)

    def roles(self, p: URIRef) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(subject role keys, object role keys) of a property from kgo annotations, else from its name."""
        subj = tuple(role_key(r) for r in self.subject_roles.get(p, ()))
        obj = tuple(role_key(r) for r in self.object_roles.get(p, ()))
        return subj, obj


class ViewCache:
    """Holds one GraphView per graph and rebuilds it when the graph changes size (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int, int, int] | None = None
        self._view: GraphView | None = None
        self._extra: list[Triple] = []

    def set_extra(self, triples: Iterable[Triple]) -> None:
        """Derived triples (e.g. from rules) that every later view includes."""
        with self._lock:
            self._extra = list(triples)
            self._key = None

    def get(self, graph: object) -> GraphView:
        rdf = as_rdf(graph)
        key = (id(rdf), len(rdf), int(getattr(graph, "version", 0)), len(self._extra))
        with self._lock:
            if self._view is None or self._key != key:
                self._view = GraphView.build(rdf, self._extra)
                self._key = key
            return self._view
