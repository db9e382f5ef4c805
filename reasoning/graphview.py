"""An in-memory adjacency view of a graph (per-property forward/backward maps, labels, role words).

Path execution, planning and the rule engine read this view instead of issuing one store call per hop;
it is built once per graph state and rebuilt when the graph's size changes."""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import rdflib
from rdflib import OWL, RDF, RDFS, Literal, URIRef
from rdflib.namespace import SKOS
from rdflib.term import Node

from knowledge.graph import gc_paused
from knowledge.labels import LABEL_PREDICATES, name_keys
from knowledge.namespaces import KGO
from knowledge.terms import Triple, iri_tail  # noqa: F401  (re-exported to reasoning/agents)


#: the name predicates, best first (`knowledge.labels.LABEL_PREDICATES`, as the label index reads them)
LABEL_PROPS = LABEL_PREDICATES
_LABEL_RANK = {p: i for i, p in enumerate(LABEL_PROPS)}
#: Namespaces whose properties describe the schema or documents, not facts worth walking.
SCHEMA_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(SKOS), str(KGO), "http://www.w3.org/2002/07/owl#")


def as_rdf(graph: object) -> rdflib.Graph:
    """The rdflib graph behind a KnowledgeGraph (its `.rdf`) or the graph itself."""
    rdf = getattr(graph, "rdf", graph)
    if not isinstance(rdf, rdflib.Graph):
        raise TypeError(f"expected a KnowledgeGraph or rdflib.Graph, got {type(graph).__name__}")
    return rdf


def iter_triples(rdf: rdflib.Graph) -> Iterator[Triple]:
    """Every triple of the graph, across named graphs for datasets (de-duplicated only when several
    graphs hold triples)."""
    if isinstance(rdf, rdflib.ConjunctiveGraph):
        graphs = [g for g in rdf.contexts() if len(g)]
        if len(graphs) <= 1:
            for g in graphs:
                yield from g.triples((None, None, None))  # type: ignore[misc]
            return
        seen: set[Triple] = set()
        for s, p, o, _ in rdf.quads((None, None, None, None)):
            t = (s, p, o)
            if t not in seen:
                seen.add(t)
                yield t  # type: ignore[misc]
    else:
        yield from rdf.triples((None, None, None))  # type: ignore[misc]


def role_key(word: str) -> str:
    """Canonical role word: lower-case alphanumerics, trailing plural 's' removed ("tags" == "tag")."""
    key = re.sub(r"[^a-z0-9]", "", word.lower())
    return key[:-1] if len(key) > 3 and key.endswith("s") else key


def is_schema_property(p: Node) -> bool:
    return any(str(p).startswith(ns) for ns in SCHEMA_NAMESPACES) or p in LABEL_PROPS


@dataclass
class GraphView:
    """Forward (`out[p][s] -> objects`) and backward (`inc[p][o] -> subjects`) maps plus labels.

    Nodes are interned while indexing (one object per IRI), so lookups along a path hit by identity instead
    of calling rdflib's Python-level `__eq__`; `node()` maps any equal term to the view's own object."""

    out: dict[URIRef, dict[Node, list[Node]]] = field(default_factory=dict)
    inc: dict[URIRef, dict[Node, list[Node]]] = field(default_factory=dict)
    labels: dict[Node, str] = field(default_factory=dict)
    by_label: dict[str, list[Node]] = field(default_factory=dict)  # normalised name key -> nodes
    subject_roles: dict[URIRef, tuple[str, ...]] = field(default_factory=dict)
    object_roles: dict[URIRef, tuple[str, ...]] = field(default_factory=dict)
    triples_count: int = 0
    derived: set[Triple] = field(default_factory=set)
    #: per-view memo of derived lookups (e.g. path label -> steps); valid as long as the view is
    memo: dict[object, object] = field(default_factory=dict, repr=False)
    _nodes: dict[Node, Node] = field(default_factory=dict, repr=False)
    #: rank in LABEL_PROPS of the predicate a label came from, for labels not from rdfs:label
    _label_ranks: dict[Node, int] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, graph: object, extra: Iterable[Triple] = ()) -> "GraphView":
        """Scan the graph once (plus `extra` derived triples) and index it."""
        view = cls()
        with gc_paused():
            view._ingest(iter_triples(as_rdf(graph)))
            view.add_triples(extra)
            view._index_labels()
        return view

    def node(self, n: Node) -> Node:
        """The view's own object for a term equal to `n` (or `n` itself when the view does not know it)."""
        return self._nodes.get(n, n)

    def _ingest(self, triples: Iterable[Triple]) -> None:
        out, inc, labels = self.out, self.inc, self.labels
        intern = self._nodes.setdefault
        label_rank, ranks = _LABEL_RANK, self._label_ranks
        subj_role, obj_role = KGO.subjectRole, KGO.objectRole
        special = frozenset(label_rank) | {subj_role, obj_role}
        n = 0
        for s, p, o in triples:
            n += 1
            s = intern(s, s)
            p = intern(p, p)
            if p in special:
                rank = label_rank.get(p)
                if rank is not None:
                    if isinstance(o, Literal):  # the best predicate's first label, as `LabelIndex.label_of`
                        if s not in labels or rank < ranks.get(s, 0):
                            labels[s] = str(o)
                            if rank:
                                ranks[s] = rank
                            else:
                                ranks.pop(s, None)
                        continue
                elif p == subj_role:
                    self.subject_roles[s] = self.subject_roles.get(s, ()) + (str(o),)  # type: ignore[index]
                    continue
                else:
                    self.object_roles[s] = self.object_roles.get(s, ()) + (str(o),)  # type: ignore[index]
                    continue
            o = intern(o, o)
            fwd = out.get(p)
            if fwd is None:
                fwd = out[p] = {}
                inc[p] = {}
            objs = fwd.get(s)
            if objs is None:
                fwd[s] = [o]
            else:
                objs.append(o)
            back = inc[p]
            subs = back.get(o)
            if subs is None:
                back[o] = [s]
            else:
                subs.append(s)
        self.triples_count += n

    def _index_labels(self) -> None:
        """`by_label`: every normalised key of every label (`knowledge.labels.name_keys`: case, accents,
        underscores, punctuation, camelCase); a resource without a label under its IRI's local name."""
        by_label, labels, props = self.by_label, self.labels, self.out
        classes = self.inc.get(RDF.type, {})
        named = [(node, text) for node, text in labels.items()]
        named += [(node, iri_tail(node)) for node in self._nodes
                  if isinstance(node, URIRef) and node not in labels and node not in props
                  and node not in classes and not is_schema_property(node)]
        for node, text in named:
            for key in name_keys(text):
                if not key:
                    continue
                bucket = by_label.get(key)
                if bucket is None:
                    by_label[key] = [node]
                elif node not in bucket:
                    bucket.append(node)

    def add_triples(self, triples: Iterable[Triple]) -> None:
        """Add derived triples to the view (the graph itself is not touched)."""
        new = [(s, p, o) for s, p, o in triples if not self.has(s, p, o)]
        if new:
            labelled = len(self.labels)
            self._ingest(new)
            self.derived.update((self.node(s), self.node(p), self.node(o)) for s, p, o in new)
            if self.by_label and len(self.labels) != labelled:
                self.by_label.clear()
                self._index_labels()
            self.memo.clear()

    def has(self, s: Node, p: URIRef, o: Node) -> bool:
        """Whether the triple is in the view (a graph fact or an added derived triple)."""
        objs = self.out.get(p, {}).get(s)
        return objs is not None and o in objs

    def label(self, node: Node) -> str:
        """rdfs:label (or skos/schema/foaf name), a literal's text, else the IRI's unquoted tail."""
        found = self.labels.get(node)
        if found is not None:
            return found
        if isinstance(node, Literal):
            return str(node)
        return iri_tail(node)

    def property_label(self, p: URIRef) -> str:
        return self.labels.get(p) or iri_tail(p).replace("_", " ")

    def fact_properties(self) -> list[URIRef]:
        """Properties that carry facts (not schema, label or document bookkeeping)."""
        key = ("fact_properties",)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = sorted((p for p in self.out if not is_schema_property(p)), key=str)
        return list(found)  # type: ignore[call-overload]

    def single_valued(self, min_subjects: int = 20, share: float = 0.95) -> list[URIRef]:
        """Fact properties that nearly every subject has once (at least `share` of at least `min_subjects`
        subjects), like a film's release year: a node with several values of one of them is probably several
        real-world things under one name."""
        key = ("single_valued", min_subjects, share)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = [
                p for p in self.fact_properties() if len(fwd := self.out[p]) >= min_subjects
                and sum(len(objs) == 1 for objs in fwd.values()) >= share * len(fwd)]
        return list(found)  # type: ignore[call-overload]

    def subjects_sample(self, p: URIRef, n: int) -> list[Node]:
        """Up to `n` subjects of a property, in a fixed order (sorted), for estimates read from the data."""
        key = ("subjects_sample", p, n)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = sorted(self.out.get(p, {}), key=str)[:n]
        return list(found)  # type: ignore[call-overload]

    def roles(self, p: URIRef) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(subject role keys, object role keys) of a property: kgo annotations, else (each side) the labels
        of its rdfs:domain / rdfs:range classes; `reasoning.relnames.roles` reads names and data when both are
        empty."""
        key = ("roles", p)
        found = self.memo.get(key)
        if found is None:
            subj = tuple(role_key(r) for r in self.subject_roles.get(p, ()))
            obj = tuple(role_key(r) for r in self.object_roles.get(p, ()))
            found = self.memo[key] = (
                subj or class_roles(self, self.out.get(RDFS.domain, {}).get(p, ())),
                obj or class_roles(self, self.out.get(RDFS.range, {}).get(p, ())))
        return found  # type: ignore[return-value]


def class_roles(view: GraphView, classes: Iterable[Node]) -> tuple[str, ...]:
    """Role keys of a property's rdfs:domain or rdfs:range classes: their labels ("team" for acme:Team), the
    RDF/RDFS/OWL vocabulary (rdfs:Literal, owl:Thing) left out."""
    keys = (role_key(view.label(c)) for c in classes if isinstance(c, URIRef) and not is_schema_property(c))
    return tuple(dict.fromkeys(k for k in keys if k))


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

    @staticmethod
    def _stamp(graph: object, extra: list[Triple]) -> tuple[int, int, int, int]:
        rdf = as_rdf(graph)
        return (id(rdf), len(rdf), int(getattr(graph, "version", 0)), len(extra))

    def prime(self, graph: object, view: GraphView) -> None:
        """Use an already built `view` (of `graph` plus the extra triples) until the graph changes."""
        with self._lock:
            self._view, self._key = view, self._stamp(graph, self._extra)

    def get(self, graph: object) -> GraphView:
        rdf = as_rdf(graph)
        key = self._stamp(graph, self._extra)
        with self._lock:
            if self._view is None or self._key != key:
                self._view = GraphView.build(rdf, self._extra)
                self._key = key
            return self._view
