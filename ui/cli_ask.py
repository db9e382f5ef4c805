"""`kgreason ask` and `kgreason evaluate qa`: fill a KGReasonConfig and run the agent pipeline."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ui.errors import USER_ERRORS, fail

app = typer.Typer()  # `ask`; ui/cli.py adds these commands to the top-level app
evaluate_app = typer.Typer()  # `evaluate qa`; added to `kgreason evaluate`


_SYNONYMS_HELP = ('Zero-shot planning also matches words by embedding similarity ("author" ~ "writer"): '
                  "static (the shipped word table, default), minilm (the transformer, slower) or off.")


def _config(kg: list[Path] | None, store: Optional[str], endpoint: Optional[str], question_model: Optional[str],
            zero_shot: bool, index: Optional[Path], rules: list[Path] | None, bundled_rules: bool,
            timeout: float, device: Optional[str], synonyms: str = "static",
            view: str = "auto"):  # type: ignore[no-untyped-def]
    from agents.config import KGReasonConfig
    from agents.graphs import graph_source

    return KGReasonConfig(graph=graph_source(kg, store, endpoint), question_model=None if zero_shot else (question_model or "auto"),
                          index_dir=index, rules=tuple(rules or ()), bundled_rules=bundled_rules,
                          agent_timeout_s=timeout, device=device, zero_shot_synonyms=synonyms, view=view)


_VIEW_HELP = ("How questions read the graph: memory (every triple in an adjacency view), store (hop-by-hop "
              "queries, bounded memory) or auto (store for endpoints and stores of 1M+ triples).")


@app.command("ask")
def ask(question: str = typer.Argument(..., help="The question, in plain words."),
        kg: Optional[list[Path]] = typer.Option(None, "--kg", help="Graph file(s): RDF or subject|relation|object."),
        store: Optional[str] = typer.Option(None, help="An oxigraph store folder."),
        endpoint: Optional[str] = typer.Option(None, help="A SPARQL query endpoint URL."),
        question_model: Optional[str] = typer.Option(None, help="Question model folder (default: shipped)."),
        zero_shot: bool = typer.Option(False, help="Plan without a question model."),
        synonyms: str = typer.Option("static", help=_SYNONYMS_HELP),
        index: Optional[Path] = typer.Option(None, help="Retrieval index folder."),
        rules: Optional[list[Path]] = typer.Option(None, "--rules", help="Rules file(s) to apply first."),
        bundled_rules: bool = typer.Option(False, help="Apply the bundled movie rules."),
        timeout: float = typer.Option(10.0, help="Seconds each agent may take."),
        device: Optional[str] = typer.Option(None),
        view: str = typer.Option("auto", help=_VIEW_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print answers, proofs and trace as JSON.")) -> None:
    """Answer a question over the graph, with proofs."""
    from agents.coordinator import Coordinator

    try:
        cfg = _config(kg, store, endpoint, question_model, zero_shot, index, rules, bundled_rules, timeout, device,
                      synonyms, view)
        with Coordinator(cfg) as coord:
            coord.warm_up()
            result = coord.run(question)
    except USER_ERRORS as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(result.reply)
    if not result.found:
        raise typer.Exit(1)


@evaluate_app.command("qa")
def evaluate_qa_cmd(
        questions: Path = typer.Option(..., help="MetaQA-format file: question<TAB>a1|a2."),
        qtypes: Optional[Path] = typer.Option(None, help="Parallel file of question types."),
        kg: Optional[list[Path]] = typer.Option(None, "--kg", help="Graph file(s) (default: the bundled graph)."),
        store: Optional[str] = typer.Option(None), endpoint: Optional[str] = typer.Option(None),
        question_model: Optional[str] = typer.Option(None, help="Question model folder (default: shipped)."),
        zero_shot: bool = typer.Option(False, help="Plan without a question model."),
        synonyms: str = typer.Option("static", help=_SYNONYMS_HELP),
        keep_brackets: bool = typer.Option(False, help="Keep MetaQA's [entity] brackets."),
        lowercase: bool = typer.Option(False, help="Lower-case the questions (as many users type them)."),
        limit: Optional[int] = typer.Option(None, min=1),
        device: Optional[str] = typer.Option(None),
        view: str = typer.Option("auto", help=_VIEW_HELP),
        out: Optional[Path] = typer.Option(None, "--json", help="Also write the JSON report here.")) -> None:
    """Hits@1, exact match, F1, questions/s and latency of the whole pipeline."""
    from agents.coordinator import Coordinator
    from agents.evaluate import evaluate_qa, read_qa

    try:
        items = read_qa(questions, qtypes, keep_brackets=keep_brackets, limit=limit, lowercase=lowercase)
        cfg = _config(kg, store, endpoint, question_model, zero_shot, None, None, False, 60.0, device, synonyms, view)
        with Coordinator(cfg) as coord:
            report = evaluate_qa(coord, items)
    except USER_ERRORS as exc:
        raise fail(str(exc)) from None
    text = json.dumps(report, indent=2)
    typer.echo(text)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
