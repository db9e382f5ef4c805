"""Retraining in the background, with a status the Finetune tab polls (never blocks the chat).

`TrainingJob` runs a callable in a thread; `ChildTrainingJob` runs it in a spawned child process with bounded
threads, so training never competes for the server's interpreter, can be cancelled, and a crash (even a killed
child) only fails the job."""
from __future__ import annotations

import multiprocessing
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

ProgressFn = Callable[[int, int, dict[str, float]], None]


@dataclass(frozen=True)
class TrainingStatus:
    """A snapshot of one training job."""

    task: str = ""
    state: str = "idle"                       # idle | running | done | failed | cancelled
    epoch: int = 0
    epochs: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    history: tuple[tuple[int, dict[str, float]], ...] = ()
    message: str = ""
    model_dir: str | None = None
    started: float = 0.0
    finished: float = 0.0

    @property
    def fraction(self) -> float:
        if self.state == "done":
            return 1.0
        return self.epoch / self.epochs if self.epochs else 0.0


class TrainingJob:
    """Runs `target(progress)` once in a daemon thread; `target` returns the trained model's folder."""

    def __init__(self, task: str, target: Callable[[ProgressFn], str], epochs: int) -> None:
        self._target = target
        self._lock = threading.Lock()
        self._status = TrainingStatus(task=task, state="idle", epochs=epochs)
        self._thread: threading.Thread | None = None

    def start(self) -> "TrainingJob":
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("this job was already started")
            self._status = replace(self._status, state="running", started=time.time(), message="starting")
            self._thread = threading.Thread(target=self._run, name=f"train-{self._status.task}", daemon=True)
        self._thread.start()
        return self

    def status(self) -> TrainingStatus:
        with self._lock:
            return self._status

    def running(self) -> bool:
        return self.status().state == "running"

    def join(self, timeout: float | None = None) -> TrainingStatus:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status()

    def _progress(self, epoch: int, epochs: int, metrics: dict[str, float]) -> None:
        clean = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
        with self._lock:
            self._status = replace(self._status, epoch=epoch, epochs=epochs or self._status.epochs,
                                   metrics=clean, history=self._status.history + ((epoch, clean),),
                                   message=f"epoch {epoch}/{epochs or self._status.epochs} finished")

    def _run(self) -> None:
        try:
            model_dir = self._target(self._progress)
        except Exception as exc:  # noqa: BLE001  (shown to the user, the chat goes on)
            with self._lock:
                self._status = replace(self._status, state="failed", finished=time.time(),
                                       message=f"{type(exc).__name__}: {exc}",)
            traceback.print_exc()
            return
        with self._lock:
            self._status = replace(self._status, state="done", finished=time.time(), model_dir=str(model_dir),
                                   message=f"done: model saved in {model_dir}")


class ChildTrainingJob(TrainingJob):
    """Runs `child(events, threads, kwargs)` (a picklable module-level function, e.g. agents.training.child_main)
    in a spawned process; it puts ("progress", epoch, epochs, metrics), then ("done", model_dir) or
    ("failed", message) on `events`. A watcher thread turns those into the status."""

    def __init__(self, task: str, child: Callable[..., None], kwargs: dict, epochs: int, threads: int = 1,
                 cleanup: Sequence[str | Path] = ()) -> None:
        super().__init__(task, lambda progress: "", epochs)
        self._child, self._kwargs, self._threads = child, kwargs, max(1, threads)
        self._cleanup = tuple(cleanup)  # files removed when the job ends (uploaded copies the child reads)
        self._process: multiprocessing.process.BaseProcess | None = None
        self._cancelled = threading.Event()

    @property
    def pid(self) -> int | None:
        """The training child's process id while it exists."""
        with self._lock:
            return self._process.pid if self._process is not None else None

    def cancel(self) -> bool:
        """Stop the child now (its partial model folder is left as it is); False when nothing was running."""
        with self._lock:
            process = self._process
            if self._status.state != "running" or process is None:
                return False
            self._cancelled.set()
        process.terminate()
        return True

    def _run(self) -> None:
        context = multiprocessing.get_context("spawn")
        events = context.Queue()
        process = context.Process(target=self._child, args=(events, self._threads, self._kwargs),
                                  name=f"train-{self._status.task}", daemon=True)
        try:
            process.start()
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            self._finish("failed", f"could not start the training process ({type(exc).__name__})")
            return
        with self._lock:
            self._process = process
        outcome: tuple | None = None
        while outcome is None:
            try:
                event = events.get(timeout=0.5)
            except queue.Empty:
                if not process.is_alive():
                    break
                continue
            if event[0] == "progress":
                self._progress(*event[1:])
            else:
                outcome = event
        process.join(10)
        if self._cancelled.is_set():
            self._finish("cancelled", "cancelled; the chat keeps its current model")
        elif outcome is None:
            self._finish("failed", f"the training process stopped (exit code {process.exitcode}); "
                                   "see the server log")
        elif outcome[0] == "done":
            self._finish("done", f"done: model saved in {outcome[1]}", model_dir=str(outcome[1]))
        else:
            self._finish("failed", str(outcome[1]))
        events.close()

    def _finish(self, state: str, message: str, model_dir: str | None = None) -> None:
        remove_files(self._cleanup)  # whatever the outcome: the child has read them or never will
        with self._lock:
            self._status = replace(self._status, state=state, finished=time.time(), message=message,
                                   model_dir=model_dir)


def remove_files(paths: Iterable[str | Path]) -> None:
    """Delete files if they are there (temporary copies of uploads); errors are ignored."""
    for path in paths:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError:
            pass
