"""Retraining in a background thread, with a status the Finetune tab polls (never blocks the chat)."""
from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace

ProgressFn = Callable[[int, int, dict[str, float]], None]


@dataclass(frozen=True)
class TrainingStatus:
    """A snapshot of one training job."""

    task: str = ""
    state: str = "idle"                       # idle | running | done | failed
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
