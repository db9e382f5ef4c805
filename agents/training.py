"""Training jobs: retraining an extractor for the chat server (one picklable entry point, so it can run in a
child process) and NER distillation for `kgreason finetune distill`.

`train_extractor` is what the server's training child runs; `child_main` wraps it for `multiprocessing`
(spawn): it bounds the child's threads, streams progress as ("progress", epoch, epochs, metrics) events and ends
with ("done", model_dir) or ("failed", message). Bad training files fail with their `file:line` message; any other
failure says only its type (the traceback goes to the server's log)."""
from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

TASKS = ("ner", "questions")
ProgressFn = Callable[[int, int, dict[str, float]], None]


def train_extractor(progress: ProgressFn, *, task: str, train_file: str, dev_file: str, out: str, epochs: int,
                    train_qtypes: str | None = None, dev_qtypes: str | None = None, base: str | None = None,
                    limit: int | None = None) -> str:
    """Retrain the `ner` or `questions` model into `out`; `progress(epoch, epochs, metrics)` after each epoch.
    Returns the model folder."""
    if task not in TASKS:
        raise ValueError(f"unknown model {task!r}: choose 'ner' or 'questions'")
    from finetune.train import TrainingArguments

    args = TrainingArguments(epochs=epochs, progress=False)

    def on_epoch_end(metrics: dict) -> None:
        flat = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and k != "epoch"}
        progress(int(metrics.get("epoch", 0)), epochs, flat)

    if task == "ner":
        from finetune.ner import NerTrainer

        run = NerTrainer(args, base=base).run(train_file, dev_file, Path(out), limit=limit,
                                              on_epoch_end=on_epoch_end, command="kgreason serve")
    else:
        from finetune.questions import QuestionTrainer

        run = QuestionTrainer(args, base=base).run(train_file, train_qtypes, dev_file, dev_qtypes, Path(out),
                                                   limit=limit, on_epoch_end=on_epoch_end, command="kgreason serve")
    return str(run.out)


def child_main(events: Any, threads: int, kwargs: dict[str, Any]) -> None:
    """The training child's body: bounded threads, progress and the outcome as events on `events` (a queue)."""
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[key] = str(threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    torch.set_num_threads(threads)
    from finetune.errors import DataError, ModelError
    from knowledge.errors import InputError

    try:
        out = train_extractor(lambda e, n, m: events.put(("progress", e, n, m)), **kwargs)
    except (DataError, ModelError, InputError, ValueError, FileNotFoundError) as exc:
        events.put(("failed", " ".join(str(exc).split())))
    except BaseException as exc:  # noqa: BLE001  (the server log gets the details, the page only the type)
        traceback.print_exc()
        events.put(("failed", f"training failed ({type(exc).__name__}); see the server log"))
    else:
        events.put(("done", out))


def distill_ner(teacher: str | Path | list[Path], student: str | None, args: Any, train: Path, dev: Path, out: Path, *,
                unlabelled: Path | None = None, temperature: float = 2.0, alpha: float = 0.5,
                limit: int | None = None, dev_limit: int | None = None, repair: bool = False,
                command: str | None = None) -> Any:
    """Distil a teacher NER folder (or several: an ensemble) into a student (base encoder or NER folder);
    returns the training run."""
    from finetune.distill import DistillArguments, NerDistiller

    distiller = NerDistiller(teacher, student, args, DistillArguments(temperature=temperature, alpha=alpha))
    return distiller.run(train, dev, out, unlabelled=unlabelled, limit=limit, dev_limit=dev_limit, repair=repair,
                         command=command)
