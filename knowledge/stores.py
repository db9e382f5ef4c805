"""Store backends behind one Protocol, picked by name from a small registry.

`memory`   rdflib's in-process Memory store (fastest for reasoning walks).
`oxigraph` a persistent folder through oxrdflib (reopening the folder gives the same graph).
`sparql`   a SPARQL 1.1 endpoint (query + update URLs) through rdflib's SPARQLUpdateStore.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import rdflib
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import BNode, Literal, Node, URIRef, Variable

from knowledge.errors import BackendError
from knowledge.terms import Triple


@runtime_checkable
class StoreBackend(Protocol):
    """How a KnowledgeGraph talks to a store: open it, bulk-add triples, close it."""

    name: str
    #: whether `objects()`/`subjects()` answers are cheap enough to memoise the whole adjacency locally
    local: bool

    def open(self, location: str | None, **kw: Any) -> rdflib.Graph:
        """Open (creating if needed) the store at `location` and return an rdflib Graph over it."""
        ...

    def add_many(self, graph: rdflib.Graph, triples: Sequence[Triple]) -> None:
        """Add many triples at once (as fast as the store allows)."""
        ...

    def close(self, graph: rdflib.Graph) -> None:
        """Flush and release the store."""
        ...

    def count(self, graph: rdflib.Graph) -> int:
        """Number of triples in the graph."""
        ...

    def query(self, graph: rdflib.Graph, sparql: str, prepared: Any, bindings: Mapping[Variable, Node]) -> Any:
        """Run a parsed read-only query (`prepared` from rdflib's prepareQuery); values only via bindings."""
        ...

    def update(self, graph: rdflib.Graph, sparql: str, bindings: Mapping[Variable, Node]) -> None:
        """Run a SPARQL update; values only via bindings."""
        ...

    def edges(self, graph: rdflib.Graph, nodes: Sequence[Node], inverse: bool) -> dict[Node, list[tuple[Node, Node]]]:
        """Every (property, neighbour) of each node: its outgoing triples, or its incoming ones when `inverse`
        (one batched lookup: the hop-by-hop neighbourhood queries of a store-backed view)."""
        ...


class MemoryBackend:
    """rdflib Memory store: everything in this process."""

    name = "memory"
    local = True

    def open(self, location: str | None = None, **kw: Any) -> rdflib.Graph:
        if location:
            raise BackendError("the memory backend takes no location (use --store or --endpoint)")
        return rdflib.Graph(store="Memory")

    def add_many(self, graph: rdflib.Graph, triples: Sequence[Triple]) -> None:
        add = graph.store.add  # straight into the store: measured ~2x faster than Graph.addN
        for triple in triples:
            add(triple, graph)

    def close(self, graph: rdflib.Graph) -> None:
        graph.close()

    def count(self, graph: rdflib.Graph) -> int:
        return len(graph)

    def query(self, graph: rdflib.Graph, sparql: str, prepared: Any, bindings: Mapping[Variable, Node]) -> Any:
        return graph.query(prepared, initBindings=dict(bindings))

    def update(self, graph: rdflib.Graph, sparql: str, bindings: Mapping[Variable, Node]) -> None:
        graph.update(sparql, initBindings=dict(bindings))

    def edges(self, graph: rdflib.Graph, nodes: Sequence[Node], inverse: bool) -> dict[Node, list[tuple[Node, Node]]]:
        triples = graph.store.triples
        if inverse:
            return {n: [(p, s) for (s, p, _), _ in triples((None, None, n), graph)] for n in nodes}
        return {n: [(p, o) for (_, p, o), _ in triples((n, None, None), graph)] for n in nodes}


def _to_ox(term: Node) -> Any:
    import pyoxigraph as ox

    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise BackendError(f"cannot store term {term!r}")


class OxigraphBackend:
    """A persistent Oxigraph (RocksDB) folder through oxrdflib; `location=None` is an in-memory Oxigraph."""

    name = "oxigraph"
    local = False

    def __init__(self) -> None:
        self._terms = _FromOx()  # term conversions for `edges`, kept across calls (bounded)

    def open(self, location: str | None = None, **kw: Any) -> rdflib.Graph:
        import pyoxigraph as ox
        from oxrdflib import OxigraphStore

        if location is None:
            inner = ox.Store()
        else:
            folder = Path(location)
            if folder.exists() and not folder.is_dir():
                raise BackendError(f"{folder}: the oxigraph store location must be a folder")
            if not kw.get("create", True) and not (folder / "CURRENT").is_file():
                what = "does not exist" if not folder.exists() else "holds no oxigraph store"
                raise BackendError(f"{folder}: {what} (create one with `kgreason load FILE --store {folder}`)")
            folder.mkdir(parents=True, exist_ok=True)
            try:
                inner = ox.Store(str(folder))
            except OSError as exc:
                raise BackendError(f"{folder}: cannot open the oxigraph store ({exc})") from exc
        return rdflib.Graph(store=OxigraphStore(store=inner), identifier=DATASET_DEFAULT_GRAPH_ID)

    def add_many(self, graph: rdflib.Graph, triples: Sequence[Triple]) -> None:
        import pyoxigraph as ox

        default = ox.DefaultGraph()
        inner = graph.store._inner  # the pyoxigraph.Store under oxrdflib
        cache: dict[Node, Any] = {}  # few distinct terms repeat many times; converting each once is ~3x faster

        def conv(term: Node) -> Any:
            found = cache.get(term)
            if found is None:
                found = cache[term] = _to_ox(term)
            return found

        inner.extend([ox.Quad(conv(s), conv(p), conv(o), default) for s, p, o in triples])  # one transaction

    def close(self, graph: rdflib.Graph) -> None:
        store = graph.store
        if getattr(store, "_store", None) is not None:
            store._store.flush()
        graph.close()

    def count(self, graph: rdflib.Graph) -> int:
        inner = graph.store._inner
        if next(iter(inner.named_graphs()), None) is None:
            return len(inner)  # only the default graph: the store's quad count (no query needed)
        return len(graph)

    def query(self, graph: rdflib.Graph, sparql: str, prepared: Any, bindings: Mapping[Variable, Node]) -> Any:
        if bindings:
            # Oxigraph's substitutions only cover projected variables; rdflib's engine binds any variable
            return graph.query(prepared, initBindings=dict(bindings), use_store_provided=False)
        return graph.query(sparql)

    def update(self, graph: rdflib.Graph, sparql: str, bindings: Mapping[Variable, Node]) -> None:
        graph.update(sparql, initBindings=dict(bindings))  # oxrdflib defers to rdflib's engine for bindings

    def edges(self, graph: rdflib.Graph, nodes: Sequence[Node], inverse: bool) -> dict[Node, list[tuple[Node, Node]]]:
        """Native index scans (SPO for outgoing, OSP for incoming) of the pyoxigraph store, default graph."""
        import pyoxigraph as ox

        inner = graph.store._inner
        default = ox.DefaultGraph()
        conv = self._terms
        out: dict[Node, list[tuple[Node, Node]]] = {}
        for n in nodes:
            if isinstance(n, Literal) and not inverse:
                out[n] = []
                continue
            term = _to_ox(n)
            quads = (inner.quads_for_pattern(None, None, term, default) if inverse
                     else inner.quads_for_pattern(term, None, None, default))
            if inverse:
                out[n] = [(conv(q.predicate), conv(q.subject)) for q in quads]
            else:
                out[n] = [(conv(q.predicate), conv(q.object)) for q in quads]
        return out


class _FromOx:
    """pyoxigraph terms -> rdflib terms, IRIs cached (at most `limit`; emptied when full)."""

    def __init__(self, limit: int = 1_000_000) -> None:
        import pyoxigraph as ox

        self._iris: dict[str, URIRef] = {}
        self._limit = limit
        self._named = ox.NamedNode

    def __call__(self, term: Any) -> Node:
        if type(term) is self._named:
            value = term.value
            found = self._iris.get(value)
            if found is None:
                if len(self._iris) >= self._limit:
                    self._iris.clear()
                found = self._iris[value] = URIRef(value)
            return found
        import pyoxigraph as ox

        if isinstance(term, ox.BlankNode):
            return BNode(term.value)
        if term.language:
            return Literal(term.value, lang=term.language)
        dt = term.datatype.value
        return Literal(term.value) if dt == _XSD_STRING else Literal(term.value, datatype=URIRef(dt))


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


class SparqlBackend:
    """A remote SPARQL 1.1 endpoint; `location` is the query URL, `update_endpoint` the update URL.

    When no update URL is given, a query URL ending in `/query` or `/sparql` maps to `/update`."""

    name = "sparql"
    local = False

    def open(self, location: str | None = None, **kw: Any) -> rdflib.Graph:
        from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore

        if not location:
            raise BackendError("the sparql backend needs the endpoint's query URL")
        update = kw.get("update_endpoint") or _guess_update_url(location)
        store = SPARQLUpdateStore(query_endpoint=location, update_endpoint=update, autocommit=True,
                                  returnFormat="json")
        return rdflib.Graph(store=store, identifier=DATASET_DEFAULT_GRAPH_ID)

    def add_many(self, graph: rdflib.Graph, triples: Sequence[Triple]) -> None:
        """One INSERT DATA request for the whole load: SPARQL 1.1 services run a request atomically, so a
        failed load adds nothing. Terms are written by rdflib's own serialiser, which escapes every term."""
        store = graph.store
        nts = store.node_to_sparql
        body = "\n".join(f"{nts(s)} {nts(p)} {nts(o)} ." for s, p, o in triples)
        store.update(f"INSERT DATA {{\n{body}\n}}", queryGraph=_ENDPOINT_DEFAULT)

    def close(self, graph: rdflib.Graph) -> None:
        graph.close()

    def count(self, graph: rdflib.Graph) -> int:
        return len(graph)

    # rdflib's Graph.query/update would name <urn:x-rdflib:default> as the dataset; ask the store directly
    # with no dataset so the endpoint's own default graph is used (where add_many writes).
    def query(self, graph: rdflib.Graph, sparql: str, prepared: Any, bindings: Mapping[Variable, Node]) -> Any:
        return graph.store.query(sparql, initNs={}, initBindings=dict(bindings), queryGraph=_ENDPOINT_DEFAULT)

    def update(self, graph: rdflib.Graph, sparql: str, bindings: Mapping[Variable, Node]) -> None:
        graph.store.update(sparql, initNs={}, initBindings=dict(bindings), queryGraph=_ENDPOINT_DEFAULT)

    def edges(self, graph: rdflib.Graph, nodes: Sequence[Node], inverse: bool, batch: int = 100
              ) -> dict[Node, list[tuple[Node, Node]]]:
        """One SELECT per `batch` nodes; the nodes (graph terms, never user text) go into a VALUES block
        written by rdflib's term serialiser, as rdflib itself does for initBindings on a remote store."""
        out: dict[Node, list[tuple[Node, Node]]] = {n: [] for n in nodes}
        pattern = "?x ?p ?n" if inverse else "?n ?p ?x"
        todo = [n for n in nodes if inverse or not isinstance(n, Literal)]
        for i in range(0, len(todo), batch):
            values = " ".join(n.n3() for n in todo[i:i + batch])
            res = graph.store.query(f"SELECT ?n ?p ?x WHERE {{ VALUES ?n {{ {values} }} {pattern} }}", initNs={},
                                    initBindings={}, queryGraph=_ENDPOINT_DEFAULT)
            for n, p, x in res:
                out.setdefault(n, []).append((p, x))
        return out


_ENDPOINT_DEFAULT = "__UNION__"


def _guess_update_url(query_url: str) -> str:
    for tail in ("/query", "/sparql"):
        if query_url.rstrip("/").endswith(tail):
            return query_url.rstrip("/")[: -len(tail)] + "/update"
    return query_url


BACKENDS: MappingProxyType[str, type] = MappingProxyType({
    "memory": MemoryBackend,
    "oxigraph": OxigraphBackend,
    "sparql": SparqlBackend,
})


def backend_names() -> list[str]:
    """Names accepted by `get_backend`."""
    return list(BACKENDS)


def get_backend(name: str) -> StoreBackend:
    """A fresh backend object for `name` (one of `backend_names()`)."""
    try:
        return BACKENDS[name]()
    except KeyError:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}") from None
