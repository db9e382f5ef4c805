"""A store-backed view of a graph too big for memory: the `GraphView` interface (what paths, the planner, the
ranker and the answerer read) answered by hop-by-hop neighbourhood queries against the store.

A node's outgoing (or incoming) triples are fetched in one store lookup the first time any property of it is
asked for, and kept in a bounded LRU cache (counted in edges); labels come from the same fetch, entity names
from the store's persistent label index. Nothing is read from the graph as a whole: the property list and
counts come from the store's load metadata. `has` reads the store (through the cache), so the answerer's proof
check is a check against the store."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from rdflib import RDFS, Literal, URIRef
from rdflib.term import Node

from knowledge.namespaces import KGO
from reasoning.graphview import LABEL_PROPS, GraphView, class_roles, iri_tail, role_key

_ALL_LENGTHS = frozenset(range(1, 64))


class _EdgeCache:
    """LRU of node -> {property: [neighbours]} for one direction, bounded by the edges it holds."""

    def __init__(self, fetch: Any, inverse: bool, max_edges: int, intern: Any) -> None:
        self._fetch = fetch
        self._intern = intern
        self._inverse = inverse
        self._max = max_edges
        self._held = 0
        self._lru: OrderedDict[Node, tuple[dict[Node, list[Node]], int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, node: Node) -> dict[Node, list[Node]]:
        with self._lock:
            hit = self._lru.get(node)
            if hit is not None:
                self._lru.move_to_end(node)
                return hit[0]
        edges = self._fetch([node], self._inverse).get(node, [])
        table: dict[Node, list[Node]] = {}
        intern = self._intern
        for p, other in edges:
            other = intern(other)
            bucket = table.get(p)
            if bucket is None:
                table[p] = [other]
            else:
                bucket.append(other)
        with self._lock:
            if node not in self._lru:
                self._lru[node] = (table, len(edges))
                self._held += len(edges) + 1
                while self._held > self._max and len(self._lru) > 1:
                    _, (_, n) = self._lru.popitem(last=False)
                    self._held -= n + 1
        return table

    def __len__(self) -> int:
        return len(self._lru)

    def clear(self) -> None:
        with self._lock:
            self._lru.clear()
            self._held = 0


class _Adjacency:
    """`out[p]` / `inc[p]` of one property: node -> neighbours, read from the store on demand."""

    def __init__(self, cache: _EdgeCache, prop: URIRef) -> None:
        self._cache = cache
        self._prop = prop

    def get(self, node: Node, default: Any = None) -> Any:
        found = self._cache.get(node).get(self._prop)
        return found if found else default

    def __getitem__(self, node: Node) -> list[Node]:
        found = self.get(node)
        if found is None:
            raise KeyError(node)
        return found

    def __contains__(self, node: object) -> bool:
        return bool(self._cache.get(node).get(self._prop))  # type: ignore[arg-type]


class _Table:
    """`view.out` / `view.inc`: property -> adjacency, over the properties the store holds."""

    def __init__(self, cache: _EdgeCache, props: frozenset[URIRef]) -> None:
        self._cache = cache
        self._props = props
        self._adj: dict[URIRef, _Adjacency] = {}

    def __getitem__(self, p: URIRef) -> _Adjacency:
        adj = self._adj.get(p)
        if adj is None:
            adj = self._adj[p] = _Adjacency(self._cache, p)
        return adj

    def get(self, p: URIRef, default: Any = None) -> Any:
        return self[p] if p in self._props else default

    def __contains__(self, p: object) -> bool:
        return p in self._props

    def __iter__(self) -> Iterator[URIRef]:
        return iter(self._props)

    def __len__(self) -> int:
        return len(self._props)


class _ByLabel:
    """`view.by_label`: normalised name key (`knowledge.labels.name_keys`) -> nodes, from the label index."""

    def __init__(self, labels: Any, node: Any) -> None:
        self._labels = labels
        self._node = node

    def get(self, key: str, default: Any = None) -> Any:
        nodes = [self._node(e.iri) for e in self._labels.entries(key)]
        return list(dict.fromkeys(nodes)) or default

    def __getitem__(self, key: str) -> list[Node]:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None  # type: ignore[arg-type]


class _Words:
    """What `planner.label_words` gives the detector for partial names (word -> keys holding it), from the
    label index (a few keys per word: more than a few means the word names nothing in particular)."""

    def __init__(self, labels: Any, limit: int = 8) -> None:
        self._labels = labels
        self._limit = limit

    def get(self, word: str, default: Any = ()) -> Any:
        return self._labels.keys_with_words(word, self._limit) or default


class _Starts:
    """What `planner.label_starts` gives the detector (first word -> word counts of labels starting with it),
    answered by the label index: any length is allowed when some label starts with the word, so the detector
    asks `by_label` for each n-gram starting there (cheap point queries)."""

    def __init__(self, labels: Any) -> None:
        self._labels = labels
        self._memo: dict[str, frozenset[int] | None] = {}

    def get(self, word: str, default: Any = None) -> Any:
        if word not in self._memo:
            if len(self._memo) > 50_000:
                self._memo.clear()
            self._memo[word] = _ALL_LENGTHS if self._labels.has_key_starting(word) else None
        found = self._memo[word]
        return found if found is not None else default


class StoreView(GraphView):
    """`GraphView` over a store (Oxigraph folder or SPARQL endpoint) through a KnowledgeGraph's `edges`,
    `predicate_counts` and `labels()`; bounded memory (`max_edges` cached per direction)."""

    def __init__(self, graph: Any, max_edges: int = 2_000_000, sample: int = 50) -> None:
        super().__init__()
        self.graph = graph
        self.sample = sample
        self._max_nodes = 2 * max_edges
        counts = graph.predicate_counts()
        self.triples_count = sum(counts.values())
        props = frozenset(p for p in counts if p not in LABEL_PROPS and p not in (KGO.subjectRole, KGO.objectRole))
        self._fwd = _EdgeCache(graph.edges, False, max_edges, self.node)
        self._back = _EdgeCache(graph.edges, True, max_edges, self.node)
        self.out = _Table(self._fwd, props)  # type: ignore[assignment]
        self.inc = _Table(self._back, props)  # type: ignore[assignment]
        label_index = graph.labels()
        self.by_label = _ByLabel(label_index, self.node)  # type: ignore[assignment]
        # what the planner's detector would build from every label, answered by the label index instead; fuzzy
        # typos are left to the entity linker (FTS5 trigram candidates), so the detector gets no key list
        self.memo[("label_starts",)] = _Starts(label_index)
        self.memo[("label_words",)] = _Words(label_index)
        self.memo[("label_keys",)] = ()

    @classmethod
    def build(cls, graph: object, extra: Any = ()) -> "StoreView":  # type: ignore[override]
        if extra:
            raise ValueError("a store-backed view holds no derived triples")
        return cls(graph)

    def node(self, n: Node) -> Node:
        """One object per term, as in the memory view (path execution compares nodes by identity); the table
        is bounded: when full it is emptied together with the edge caches that hold its objects."""
        found = self._nodes.get(n)
        if found is None:
            if len(self._nodes) >= self._max_nodes:
                self._nodes.clear()
                self._fwd.clear()
                self._back.clear()
            found = self._nodes.setdefault(n, n)
        return found

    def add_triples(self, triples: Any) -> None:
        raise NotImplementedError("rules are not forward-chained over a store-backed view")

    def has(self, s: Node, p: URIRef, o: Node) -> bool:
        if isinstance(s, Literal):
            return False
        objs = self._fwd.get(s).get(p)
        return objs is not None and o in objs

    def label(self, node: Node) -> str:
        if isinstance(node, Literal):
            return str(node)
        table = self._fwd.get(node)
        for p in LABEL_PROPS:
            for value in table.get(p, ()):
                if isinstance(value, Literal):
                    return str(value)
        return iri_tail(node)

    def property_label(self, p: URIRef) -> str:
        for value in self._fwd.get(p).get(RDFS.label, ()):
            if isinstance(value, Literal):
                return str(value)
        return iri_tail(p).replace("_", " ")

    def subjects_sample(self, p: URIRef, n: int) -> list[Node]:
        """As `GraphView.subjects_sample`, from the store's own listing."""
        return [self.node(s) for s in self.graph.subjects_sample(p, n)]

    def single_valued(self, min_subjects: int = 20, share: float = 0.95) -> list[URIRef]:
        """As `GraphView.single_valued`, estimated on the first `sample` subjects the store lists for each
        property (counting every subject of a 20M-triple graph would read the whole graph)."""
        key = ("single_valued", min_subjects, share)
        found = self.memo.get(key)
        if found is None:
            found = []
            for p in self.fact_properties():
                subjects = self.graph.subjects_sample(p, self.sample)
                if len(subjects) >= min(min_subjects, self.sample):
                    edges = self.graph.edges(subjects)  # one batched lookup per property
                    single = sum(sum(q == p for q, _ in edges.get(s, ())) == 1 for s in subjects)
                    if single >= share * len(subjects):
                        found.append(p)
            self.memo[key] = found
        return list(found)  # type: ignore[call-overload]

    def roles(self, p: URIRef) -> tuple[tuple[str, ...], tuple[str, ...]]:
        key = ("roles", p)
        found = self.memo.get(key)
        if found is None:
            table = self._fwd.get(p)
            subj = tuple(role_key(str(r)) for r in table.get(KGO.subjectRole, ()))
            obj = tuple(role_key(str(r)) for r in table.get(KGO.objectRole, ()))
            found = self.memo[key] = (subj or class_roles(self, table.get(RDFS.domain, ())),
                                      obj or class_roles(self, table.get(RDFS.range, ())))
        return found  # type: ignore[return-value]
