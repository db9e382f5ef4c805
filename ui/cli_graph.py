"""Graph verbs: `kgreason load`, `stats`, `query`, `entities`, and the options -> graph helper they share."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from ui.errors import USER_ERRORS, fail

app = typer.Typer()  # `load`, `stats`, `query`, `entities`; ui/cli.py adds them to the top-level app


def open_graph(kg: list[Path] | None = None, store: Optional[str] = None, endpoint: Optional[str] = None,
               *, demo_when_empty: bool = True, format: Optional[str] = None,
               delimiter: Optional[str] = None, header: bool = False, create: bool = False) -> Any:
    """The graph the CLI options name (`agents.graphs`): files loaded into memory (`--kg`), an oxigraph folder
    (`--store`; a missing one is an error unless `create`, which only `load` and `ingest` pass), a SPARQL endpoint
    (`--endpoint`), else the bundled demo graph (or an empty one). Bad input -> `fail` (exit 2)."""
    from agents.graphs import graph_source, open_graph as open_source

    try:
        source = graph_source(kg, store, endpoint, format=format, delimiter=delimiter, header=header,
                              empty="demo" if demo_when_empty else "memory")
        return open_source(source, create=create)
    except USER_ERRORS as exc:
        raise fail(str(exc)) from exc


def _emit(data: dict, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else text)


@app.command("load")
def load(files: list[Path] = typer.Argument(..., help="RDF files (ttl, nt, nq, trig, rdf/xml, json-ld; .gz ok) "
                                                       "or subject|relation|object / TSV / CSV text."),
         store: Optional[str] = typer.Option(None, help="Load into this oxigraph store folder (kept)."),
         endpoint: Optional[str] = typer.Option(None, help="Load into this SPARQL endpoint (query URL)."),
         format: Optional[str] = typer.Option(None, "--format", "-f", help="Force a format (turtle, nt, ...)."),
         delimiter: Optional[str] = typer.Option(None, help="Force the delimiter of triple text ('|', tab, ',')."),
         header: bool = typer.Option(False, help="The first line of triple text is a header."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Load files into a graph (all or nothing) and report triples added, entities, seconds, triples/s."""
    from knowledge.errors import InputError

    graph = open_graph(None, store, endpoint, demo_when_empty=False, create=True)
    try:
        report = graph.load(files, format=format, delimiter=delimiter, header=header)
        total = len(graph)
    except InputError as exc:
        raise fail(str(exc)) from exc
    finally:
        graph.close()
    data = {**report.to_dict(), "graph_triples": total, "backend": graph.backend.name, "location": graph.location}
    _emit(data, as_json, f"loaded {len(report.files)} file(s): {report.triples_added} triples added "
                         f"({report.triples_read} read), {report.entities} entities, {report.seconds:.2f} s, "
                         f"{report.triples_per_second:,.0f} triples/s; graph now holds {total} triples")


@app.command("stats")
def stats(kg: Optional[list[Path]] = typer.Option(None, "--kg", help="Graph file(s) to load into memory."),
          store: Optional[str] = typer.Option(None, help="An oxigraph store folder."),
          endpoint: Optional[str] = typer.Option(None, help="A SPARQL query endpoint URL."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Size of a graph: triples, entities, per-property and per-class counts (default: the demo graph)."""
    from knowledge.errors import InputError

    graph = open_graph(kg, store, endpoint)
    try:
        st = graph.stats()
    except InputError as exc:
        raise fail(str(exc)) from exc
    finally:
        graph.close()
    lines = [f"{st.backend} graph{' at ' + st.location if st.location else ''}: {st.triples} triples, "
             f"{st.entities} entities", "properties:"]
    lines += [f"  {name}: {n}" for name, n in sorted(st.properties.items(), key=lambda x: -x[1])]
    lines += ["classes:"] + [f"  {name}: {n}" for name, n in st.classes.items()]
    _emit(st.to_dict(), as_json, "\n".join(lines))


@app.command("query")
def query(sparql: str = typer.Argument(..., help="A SPARQL query (or update, with --allow-update)."),
          kg: Optional[list[Path]] = typer.Option(None, "--kg", help="Graph file(s) to load into memory."),
          store: Optional[str] = typer.Option(None, help="An oxigraph store folder."),
          endpoint: Optional[str] = typer.Option(None, help="A SPARQL query endpoint URL."),
          allow_update: bool = typer.Option(False, "--allow-update", help="Allow INSERT/DELETE/... updates."),
          limit: int = typer.Option(50, help="Print at most this many rows (text output)."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Run SPARQL against a graph (default: the demo graph). Read-only unless --allow-update."""
    from agents.graphs import classify_sparql
    from knowledge.errors import InputError

    try:
        kind, _ = classify_sparql(sparql)  # refuse bad input before opening anything
        if kind == "update" and not allow_update:
            raise fail("this is a SPARQL update, which changes the graph; add --allow-update to run it")
    except InputError as exc:
        raise fail(str(exc)) from exc
    graph = open_graph(kg, store, endpoint)
    try:
        result = graph.query(sparql, allow_update=allow_update)
    except InputError as exc:
        raise fail(str(exc)) from exc
    finally:
        graph.close()
    data = result.to_json()
    if result.kind == "update":
        text = "update done"
    elif result.kind == "ask":
        text = "yes" if result.boolean else "no"
    elif result.kind == "select":
        rows = data["rows"]
        text = "\n".join(["\t".join(result.variables)]
                         + ["\t".join("" if r[v] is None else str(r[v]) for v in result.variables)
                            for r in rows[:limit]]
                         + ([f"... {len(rows) - limit} more rows"] if len(rows) > limit else []))
    else:
        text = "\n".join(" ".join(str(x) for x in t) for t in data["triples"][:limit])
    _emit(data, as_json, text)


@app.command("entities")
def entities(name: str = typer.Argument(..., help="A name to look up (case, accents and typos tolerated)."),
             k: int = typer.Option(10, "-k", "--top", help="How many candidates."),
             kg: Optional[list[Path]] = typer.Option(None, "--kg", help="Graph file(s) to load into memory."),
             store: Optional[str] = typer.Option(None, help="An oxigraph store folder."),
             endpoint: Optional[str] = typer.Option(None, help="A SPARQL query endpoint URL."),
             as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Find the graph entities a name refers to (default graph: the demo)."""
    from agents.graphs import link_entities
    from knowledge.errors import InputError

    if k < 1:
        raise fail("-k must be at least 1")
    graph = open_graph(kg, store, endpoint)
    try:
        data = link_entities(graph, name, k=k)
    except InputError as exc:
        raise fail(str(exc)) from exc
    finally:
        graph.close()
    if not data["candidates"]:
        text = f"no entity matches {name!r}"
    else:
        text = "\n".join(f"{i}. {c['label']}\t{c['score']:.3f}\t{c['method']}\t{','.join(c['types'])}\t{c['iri']}"
                         for i, c in enumerate(data["candidates"], start=1))
    _emit(data, as_json, text)
