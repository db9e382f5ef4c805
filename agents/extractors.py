"""Retraining and evaluating the extractors (document NER, question model) from the CLI: the `finetune` and
`evaluate ner|questions` verbs call these, not finetune/ directly. (The chat's training child process has its
own light entry point, `agents/training.py`.)"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finetune.evaluate import evaluate_ner, evaluate_questions  # noqa: F401  (re-exported)
from finetune.modeling import INT8_SCOPES  # noqa: F401  (re-exported)
from finetune.ner import NER_PROFILES, NerTrainer
from finetune.questions import QuestionTrainer, questions_of
from finetune.train import TrainingArguments
from knowledge.errors import InputError

__all__ = ["INT8_SCOPES", "NER_PROFILES", "TrainingArguments", "training_arguments", "train_ner",
           "train_questions", "split_question_files", "evaluate_ner", "evaluate_questions"]


def training_arguments(epochs: int, lr: float | None, batch_size: int, adapter: str, seed: int, max_steps: int,
                       max_length: int, context: int, patience: int, device: str | None, max_seconds: float = 0.0,
                       word_shape: bool = True, crf: bool = False, pack: int = 0) -> TrainingArguments:
    """Checked training settings; the learning rate defaults to 5e-4 for LoRA, 1e-4 for full fine-tuning."""
    if adapter not in ("lora", "full"):
        raise InputError(f"--adapter must be lora or full, got {adapter!r}")
    if pack < 0 or context < 0:
        raise InputError(f"--pack and --context must be >= 0, got {pack} and {context}")
    return TrainingArguments(epochs=epochs, lr=lr if lr is not None else (5e-4 if adapter == "lora" else 1e-4),
                             batch_size=batch_size, adapter=adapter, seed=seed, max_steps=max_steps,
                             max_length=max_length, context=context, patience=patience, device=device,
                             max_seconds=max_seconds, word_shape=word_shape, crf=crf, pack=pack)


def train_ner(args: TrainingArguments, base: str | None, train: Path, dev: Path, out: Path, **kw: Any) -> Any:
    """Fine-tune the document NER model into `out` (returns the NerTrainingRun)."""
    return NerTrainer(args, base).run(train, dev, out, **kw)


def train_questions(args: TrainingArguments, base: str | None, train: Path, qtypes: Path | None, dev: Path,
                    dev_qtypes: Path | None, out: Path, **kw: Any) -> Any:
    """Fine-tune the joint question model into `out` (returns the QuestionTrainingRun)."""
    return QuestionTrainer(args, base).run(train, qtypes, dev, dev_qtypes, out, **kw)


def split_question_files(files: Sequence[Path], holdout: float, seed: int, out: Path) -> dict[str, Any]:
    """Seeded split (stratified by path label) of question files into `out`/train.txt and holdout.txt (with
    their _qtype.txt); returns what was written."""
    from finetune.data import split_questions, write_questions

    if not 0.0 < holdout < 1.0:
        raise InputError(f"--holdout must be between 0 and 1, got {holdout}")
    qs = [q for f in files for q in questions_of(f)]
    train, held = split_questions(qs, holdout, seed)
    tr = write_questions(train, out / "train.txt")
    ho = write_questions(held, out / "holdout.txt")
    return {"train": [str(p) for p in tr if p], "holdout": [str(p) for p in ho if p], "n_train": len(train),
            "n_holdout": len(held), "seed": seed}
