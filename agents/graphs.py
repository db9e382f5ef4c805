"""The graph the user names, for both faces (CLI verbs, the chat) and the Coordinator's runtime: one function
from options to a `GraphSource`, one from a `GraphSource` to an open graph, and the graph verbs' library calls."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.config import GraphSource
from knowledge.errors import InputError
from knowledge.graph import classify_sparql  # noqa: F401  (re-exported: the CLI refuses an update before opening)

if TYPE_CHECKING:
    from knowledge.graph import KnowledgeGraph


def graph_source(kg: Sequence[str | Path] | None = None, store: str | Path | None = None,
                 endpoint: str | None = None, *, format: str | None = None, delimiter: str | None = None,
                 header: bool = False, empty: str = "demo") -> GraphSource:
    """The source the options name: files (loaded into memory), an oxigraph folder, a SPARQL endpoint, else
    `empty` ("demo": the bundled movie graph; "memory": an empty in-memory graph). More than one -> InputError."""
    if sum(bool(x) for x in (kg, store, endpoint)) > 1:
        raise InputError("give only one of --kg, --store, --endpoint")
    if kg:
        return GraphSource("files", tuple(Path(p) for p in kg), format=format, delimiter=delimiter, header=header)
    if store:
        return GraphSource("store", location=str(store))
    if endpoint:
        return GraphSource("endpoint", location=endpoint)
    return GraphSource(empty)


def open_graph(source: GraphSource, *, create: bool = False) -> "KnowledgeGraph":
    """Open (or load) the graph of `source`. An oxigraph folder must exist unless `create` (only writing
    verbs, `load` and `ingest`, pass it)."""
    from knowledge.graph import KnowledgeGraph

    if source.kind == "demo":
        return KnowledgeGraph.demo()
    if source.kind == "store":
        return KnowledgeGraph.open("oxigraph", source.location, create=create)
    if source.kind == "endpoint":
        return KnowledgeGraph.open("sparql", source.location)
    graph = KnowledgeGraph.open("memory")
    if source.kind == "files":
        graph.load(list(source.paths), format=source.format, delimiter=source.delimiter, header=source.header)
    return graph


def link_entities(graph: "KnowledgeGraph", name: str, k: int = 10) -> dict[str, Any]:
    """The entity linker's candidates for `name`, as JSON, each with the labels of its classes."""
    from knowledge.linker import EntityLinker

    result = EntityLinker(graph).run(name, k=k)
    data = result.to_dict()
    for cand, found in zip(data["candidates"], result.candidates):
        cand["types"] = [graph.label(t) for t in graph.types(found.iri)]
    return data
