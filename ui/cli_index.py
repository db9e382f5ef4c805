"""Retrieval verbs: `kgreason index build`, `kgreason index search` and `kgreason ingest`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from ui.cli_graph import open_graph
from ui.errors import USER_ERRORS, fail

app = typer.Typer()  # `ingest`; ui/cli.py adds it to the top-level app
index_app = typer.Typer()  # `index build|search`; added to `kgreason index`

_KG = typer.Option(None, "--kg", help="Graph file(s) to load into memory (default: the demo graph).")
_STORE = typer.Option(None, help="An oxigraph store folder.")
_ENDPOINT = typer.Option(None, help="A SPARQL query endpoint URL.")
_INDEX = typer.Option(None, "--index", help="Index folder (default: the cache folder of the graph).")
_DELIM = typer.Option(None, help="Delimiter of triple text files given with --kg ('|', tab, ',').")


def _kinds(text: str) -> list[str]:
    from agents.indexing import KINDS

    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if not kinds or bad:
        raise fail(f"--kinds takes a comma list of {', '.join(KINDS)}; got {text!r}")
    return kinds


def _open_index(graph: Any, folder: Optional[Path], kinds: list[str], backend: str) -> Any:
    from agents.indexing import open_index

    return open_index(graph, folder, kinds, backend)


@index_app.command("build")
def build(kinds: str = typer.Option("entity,fact", help="What to index: entity, fact, passage (comma list)."),
          kg: Optional[list[Path]] = _KG, store: Optional[str] = _STORE, endpoint: Optional[str] = _ENDPOINT,
          delimiter: Optional[str] = _DELIM,
          out: Optional[Path] = typer.Option(None, "--out", help="Index folder (default: the graph's cache folder)."),
          backend: str = typer.Option("auto", help="Vector index: auto, flat, hnsw, ivf, torch."),
          embedder: Optional[str] = typer.Option(
              None, help="static (default: the shipped static model, seconds), minilm (the transformer, ~50x "
                         "slower on a CPU) or a model folder; searches reuse the model the index was built with."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Embed the graph's entity names, facts and passages into a searchable index (rebuilds it)."""
    from agents.indexing import build_index
    from knowledge.errors import InputError

    chosen = _kinds(kinds)
    graph = open_graph(kg, store, endpoint, delimiter=delimiter)
    try:
        index, out = build_index(graph, chosen, out, backend=backend, progress=True, embedder=embedder)
    except InputError as exc:
        raise fail(str(exc)) from exc
    finally:
        graph.close()
    data = {"folder": str(out), "counts": index.counts(), "backends": index.manifest.get("backends", {}),
            "model_id": index.manifest.get("model_id")}
    typer.echo(json.dumps(data, indent=2) if as_json else
               f"indexed {', '.join(f'{n} {k}' for k, n in data['counts'].items())} into {out}")


@index_app.command("search")
def search(text: str = typer.Argument(..., help="What to look for (a name, a question, a phrase)."),
           k: int = typer.Option(10, "-k", "--top", help="How many hits."),
           kind: Optional[str] = typer.Option(None, "--kind", help="Only entity, fact or passage hits."),
           entity_type: Optional[str] = typer.Option(None, "--type", help="Only hits about this class IRI."),
           kg: Optional[list[Path]] = _KG, store: Optional[str] = _STORE, endpoint: Optional[str] = _ENDPOINT,
           delimiter: Optional[str] = _DELIM, index_dir: Optional[Path] = _INDEX,
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Search the index (built and cached on first use)."""
    from agents.indexing import KINDS
    from knowledge.errors import InputError

    if k < 1:
        raise fail("-k must be at least 1")
    if kind is not None and kind not in KINDS:
        raise fail(f"--kind must be one of {', '.join(KINDS)}")
    graph = open_graph(kg, store, endpoint, delimiter=delimiter)
    try:
        index = _open_index(graph, index_dir, ["entity", "fact"], "auto")
        result = index.run(text, k=k, kind=kind, entity_type=entity_type)
    except InputError as exc:
        raise fail(str(exc)) from exc
    finally:
        graph.close()
    if as_json:
        typer.echo(json.dumps({"query": text, "seconds": round(result.seconds, 4),
                               "hits": [h.to_dict() for h in result.hits]}, ensure_ascii=False, indent=2))
    elif not result.hits:
        typer.echo("no hits")
    else:
        for i, h in enumerate(result.hits, 1):
            typer.echo(f"{i}. {h.score:.3f}\t{h.kind}\t{h.label}\t{h.iri or ''}")


@app.command("ingest")
def ingest(files: list[Path] = typer.Argument(..., help="UTF-8 text or Markdown files."),
           kg: Optional[list[Path]] = _KG, store: Optional[str] = _STORE, endpoint: Optional[str] = _ENDPOINT,
           delimiter: Optional[str] = _DELIM, index_dir: Optional[Path] = _INDEX,
           ner_model: Optional[Path] = typer.Option(None, "--ner-model", help="NER model folder (default: shipped)."),
           ner_profile: str = typer.Option("accurate", "--ner-profile",
                                           help="NER inference preset: accurate (as trained) or fast (~7x on CPU)."),
           no_index: bool = typer.Option(False, "--no-index", help="Only add to the graph."),
           as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Read documents: passages and the entities NER finds in them go into the graph (use --store to keep
    them) and the passages into the retrieval index."""
    from agents.indexing import check_ner_profile, ingest_documents

    try:
        check_ner_profile(ner_profile)
    except USER_ERRORS as exc:
        raise fail(str(exc)) from exc
    graph = open_graph(kg, store, endpoint, delimiter=delimiter, create=True)  # ingest writes: it may start a store
    try:
        report = ingest_documents(graph, files, index_dir=index_dir, ner_model=ner_model, ner_profile=ner_profile,
                                  with_index=not no_index, graph_persists=bool(store or endpoint))
    except USER_ERRORS as exc:
        raise fail(str(exc)) from exc
    finally:
        graph.close()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for f in report.files:
            typer.echo(f"{f.path}: {f.passages} passages, {f.mentions} mentions ({f.linked} linked, "
                       f"{f.new_entities} new entities), {f.replaced_passages} old passages replaced")
        if not store and not endpoint:
            typer.echo("note: the graph is in memory; pass --store DIR to keep what was ingested")
