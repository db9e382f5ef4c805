"""`kgreason finetune ner|distill|questions|split-questions` and `kgreason evaluate ner|questions`."""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from ui.errors import USER_ERRORS, fail

finetune_app = typer.Typer()  # `finetune ...`; ui/cli.py adds these commands to `kgreason finetune`
evaluate_app = typer.Typer()  # `evaluate ner|questions`; added to `kgreason evaluate`


def _args(*args: Any, **kw: Any) -> Any:
    from agents.extractors import training_arguments

    try:
        return training_arguments(*args, **kw)
    except USER_ERRORS as exc:
        raise fail(str(exc)) from None


def _guard(fn):
    try:
        return fn()
    except (*USER_ERRORS, FileNotFoundError) as exc:
        raise fail(str(exc)) from None


def _emit(obj: dict, out: Optional[Path]) -> None:
    text = json.dumps(obj, indent=1)
    typer.echo(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")


def _command() -> str:
    return "kgreason " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@finetune_app.command("ner")
def finetune_ner(train: Path = typer.Option(..., help="CoNLL or JSONL training file"),
                 dev: Path = typer.Option(..., help="CoNLL or JSONL dev file (evaluated every epoch)"),
                 out: Path = typer.Option(..., help="folder for the fine-tuned model"),
                 base: Optional[str] = typer.Option(None, help="base encoder folder or cached name"),
                 epochs: int = 3, lr: Optional[float] = typer.Option(None, help="default 5e-4 (lora) / 1e-4 (full)"),
                 batch_size: int = 32, adapter: str = "lora", seed: int = 0, max_steps: int = 0,
                 max_length: int = 256, context: int = typer.Option(64, help="document-context sub-tokens per side"),
                 patience: int = 2, limit: int = typer.Option(0, help="use only the first N training sentences"),
                 dev_limit: int = 0, repair: bool = typer.Option(False, help="fix I- tags that start an entity"),
                 device: Optional[str] = None,
                 max_seconds: float = typer.Option(0.0, help="wall-clock budget; stops, evaluates, keeps the best"),
                 word_shape: bool = typer.Option(True, "--word-shape/--no-word-shape",
                                                 help="learn a casing-class embedding (the base is uncased)"),
                 crf: bool = typer.Option(False, "--crf", help="a linear-chain CRF over the tags (Viterbi decoding)"),
                 pack: int = typer.Option(0, help="train on windows packing sentences up to N sub-tokens (0: one each)")
                 ) -> None:
    """Fine-tune the document NER model (token classification, LoRA by default)."""
    from agents.extractors import train_ner

    args = _args(epochs, lr, batch_size, adapter, seed, max_steps, max_length, context, patience, device, max_seconds,
                 word_shape, crf, pack)
    run = _guard(lambda: train_ner(args, base, train, dev, out, limit=limit or None, dev_limit=dev_limit or None,
                                                    repair=repair, command=_command()))
    best = {k: v for k, v in run.result.best.items() if k != "per_type"}
    _emit({"out": str(run.out), "best": best, "seconds": run.card["seconds"],
           "train_tokens_per_second": run.card["train_tokens_per_second"]}, None)


@finetune_app.command("distill")
def finetune_distill(teacher: List[Path] = typer.Option(..., help="teacher NER folder (saved by `finetune ner`); "
                                                                  "repeat for an ensemble (distributions averaged)"),
                     student: Optional[str] = typer.Option(None, help="student: base encoder or a saved NER folder "
                                                                      "(default: the packaged MiniLM)"),
                     train: Path = typer.Option(..., help="CoNLL or JSONL training file (gold tags)"),
                     dev: Path = typer.Option(..., help="CoNLL or JSONL dev file (evaluated every epoch)"),
                     out: Path = typer.Option(..., help="folder for the distilled model"),
                     unlabelled: Optional[Path] = typer.Option(
                         None, help="UTF-8 text the teacher labels too (blank lines separate documents)"),
                     temperature: float = typer.Option(2.0, help="softmax temperature of the soft labels"),
                     alpha: float = typer.Option(0.5, help="weight of the gold-tag loss (the rest: teacher KL)"),
                     epochs: int = 3, lr: Optional[float] = typer.Option(None, help="default 5e-4 (lora) / 1e-4 (full)"),
                     batch_size: int = 32, adapter: str = "lora", seed: int = 0, max_steps: int = 0,
                     max_length: int = 256, context: int = typer.Option(64, help="document-context sub-tokens per side"),
                     patience: int = 2, limit: int = typer.Option(0, help="use only the first N training sentences"),
                     dev_limit: int = 0, repair: bool = typer.Option(False, help="fix I- tags that start an entity"),
                     device: Optional[str] = None,
                     max_seconds: float = typer.Option(0.0, help="wall-clock budget; stops, evaluates, keeps the best"),
                     pack: int = typer.Option(0, help="train on windows packing sentences up to N sub-tokens")) -> None:
    """Distil a teacher NER model into a student: soft labels over the training (and unlabelled) text."""
    from agents.training import distill_ner

    if temperature <= 0 or not 0.0 <= alpha <= 1.0:
        raise fail(f"--temperature must be > 0 and --alpha in [0, 1], got {temperature} and {alpha}")
    for t in teacher:
        if not (t / "model_card.json").is_file():
            raise fail(f"{t}: not a NER model folder (no model_card.json); train one with `kgreason finetune ner`")
    args = _args(epochs, lr, batch_size, adapter, seed, max_steps, max_length, context, patience, device, max_seconds,
                 pack=pack)
    run = _guard(lambda: distill_ner(teacher, student, args, train, dev, out, unlabelled=unlabelled,
                                     temperature=temperature, alpha=alpha, limit=limit or None,
                                     dev_limit=dev_limit or None, repair=repair, command=_command()))
    best = {k: v for k, v in run.result.best.items() if k != "per_type"}
    _emit({"out": str(run.out), "best": best, "teacher": run.card["distillation"]["teacher_best"],
           "seconds": run.card["seconds"]}, None)


_FROM_GRAPH_HELP = ("synthesise questions from the graph's own relation paths and train a path-pair model "
                    "(usable as --question-model)")


@finetune_app.command("questions")
def finetune_questions(train: Optional[Path] = typer.Option(None, help="questions file: `q with [entity]<TAB>answers`"),
                       qtypes: Optional[Path] = typer.Option(None, help="path labels, one a line (default <stem>_qtype.txt)"),
                       dev: Optional[Path] = None, dev_qtypes: Optional[Path] = None,
                       out: Path = typer.Option(...), base: Optional[str] = None, epochs: int = 3,
                       lr: Optional[float] = None, batch_size: int = 64, adapter: str = "lora", seed: int = 0,
                       max_steps: int = 0, max_length: int = 64, patience: int = 2, limit: int = 0, dev_limit: int = 0,
                       device: Optional[str] = None,
                       max_seconds: float = typer.Option(0.0, help="wall-clock budget; stops, evaluates, keeps the best"
                                                         " (--from-graph: default 600)"),
                       from_graph: bool = typer.Option(False, "--from-graph", help=_FROM_GRAPH_HELP),
                       kg: Optional[List[Path]] = typer.Option(None, "--kg", help="--from-graph: graph file(s) "
                                                               "(default: the bundled graph)"),
                       store: Optional[str] = typer.Option(None, help="--from-graph: oxigraph folder"),
                       endpoint: Optional[str] = typer.Option(None, help="--from-graph: SPARQL endpoint"),
                       questions: int = typer.Option(0, help="--from-graph: questions to synthesise (0: as the "
                                                             "budget allows)")) -> None:
    """Fine-tune the joint question model (topic-entity span + relation path), or with --from-graph train a
    path-pair model from the graph alone (no labelled questions)."""
    if from_graph:
        return _from_graph(kg, store, endpoint, out, max_seconds or 600.0, seed, questions, base, device)
    if train is None or dev is None:
        raise fail("--train and --dev are needed (or --from-graph)")
    from agents.extractors import train_questions

    args = _args(epochs, lr, batch_size, adapter, seed, max_steps, max_length, 0, patience, device, max_seconds)
    run = _guard(lambda: train_questions(args, base, train, qtypes, dev, dev_qtypes, out, limit=limit or None,
                                                         dev_limit=dev_limit or None, command=_command()))
    _emit({"out": str(run.out), "best": run.result.best, "seconds": run.card["seconds"],
           "train_tokens_per_second": run.card["train_tokens_per_second"]}, None)


def _from_graph(kg: Optional[List[Path]], store: Optional[str], endpoint: Optional[str], out: Path,
                max_seconds: float, seed: int, questions: int, base: Optional[str], device: Optional[str]) -> None:
    from agents.adapt import train_for_config
    from knowledge.errors import InputError
    from ui.cli_ask import _config

    if max_seconds < 30 or questions < 0:
        raise fail(f"--max-seconds must be >= 30 and --questions >= 0, got {max_seconds} and {questions}")
    try:
        cfg = _config(kg, store, endpoint, None, True, None, None, False, 60.0, device)
        run = _guard(lambda: train_for_config(cfg, out, max_seconds=max_seconds, seed=seed, questions=questions,
                                              base=base, command=_command()))
    except InputError as exc:
        raise fail(str(exc)) from None
    card = run.card
    _emit({"out": str(run.out), "best": card["best"], "seconds": card["seconds"],
           "synthesis": card["data"]["synthesis"], "questions_read": card["data"]["questions_read"]}, None)


@finetune_app.command("split-questions")
def split_questions_cmd(files: List[Path] = typer.Argument(..., help="question files (their <stem>_qtype.txt is used)"),
                        holdout: float = typer.Option(0.1, help="fraction held out for tuning/evaluation"),
                        seed: int = 0, out: Path = typer.Option(..., help="writes train.txt, holdout.txt (+ _qtype.txt)")
                        ) -> None:
    """Seeded split (stratified by path label) of question files into train and a held-out slice."""
    from agents.extractors import split_question_files

    _emit(_guard(lambda: split_question_files(files, holdout, seed, out)), None)


@evaluate_app.command("ner")
def evaluate_ner_cmd(model: Optional[Path] = typer.Option(None, help="fine-tuned NER folder (default: shipped)"),
                     data: Path = typer.Option(...),
                     json_out: Optional[Path] = typer.Option(None, "--json"), limit: int = 0,
                     repair: bool = False,
                     profile: str = typer.Option("accurate", help="inference preset: accurate (as trained) or fast"),
                     pack: Optional[int] = typer.Option(
                         None, help="sub-tokens of consecutive sentences per window (0: one sentence; default: the profile's)"),
                     int8: Optional[str] = typer.Option(
                         None, help="dynamic int8 on CPU: all, attention or none (default: the profile's)")) -> None:
    """seqeval strict IOB2 entity-level scores of a NER model on a CoNLL/JSONL file."""
    from agents.extractors import INT8_SCOPES, NER_PROFILES, evaluate_ner

    if profile not in NER_PROFILES:
        raise fail(f"--profile must be one of {', '.join(NER_PROFILES)}, got {profile!r}")
    if pack is not None and pack < 0:
        raise fail(f"--pack must be >= 0, got {pack}")
    if int8 not in (None, "none", *INT8_SCOPES):
        raise fail(f"--int8 must be one of {', '.join(INT8_SCOPES)} or none, got {int8!r}")
    q = False if int8 == "none" else int8
    _emit(_guard(lambda: evaluate_ner(model, data, limit=limit or None, repair=repair, profile=profile, pack=pack,
                                      int8=q)), json_out)


@evaluate_app.command("questions")
def evaluate_questions_cmd(model: Optional[Path] = typer.Option(None, help="question model folder (default: shipped)"),
                           data: Path = typer.Option(...),
                           qtypes: Optional[Path] = None, json_out: Optional[Path] = typer.Option(None, "--json"),
                           limit: int = 0, int8: Optional[bool] = typer.Option(
                               None, "--int8/--no-int8", help="dynamic int8 encoder (default: on for CPU)")) -> None:
    """Topic-entity exact match and top-1 path accuracy of a question model."""
    from agents.extractors import evaluate_questions

    _emit(_guard(lambda: evaluate_questions(model, data, qtypes, limit=limit or None, int8=int8)), json_out)
