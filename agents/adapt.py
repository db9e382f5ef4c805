"""Adapting to a graph: train a graph-only question model for it (cached per graph fingerprint), from the CLI
(`kgreason finetune questions --from-graph`) or in the background while the chat answers zero-shot."""
from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.config import KGReasonConfig
from agents.graphmodel import GraphModelRun, train_graph_model
from agents.job_state import JobState, Superseded
from agents.runtime import Runtime
from reasoning.graphview import GraphView


def fingerprint_of(graph: Any) -> dict[str, Any]:
    """Triple count and order-independent hash of a graph (the retrieval index's cache key too)."""
    from knowledge.retrieval import graph_fingerprint

    return graph_fingerprint(graph)


def model_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """Where graph models are cached: `graphmodel/` beside the retrieval indexes under the cache root."""
    if cache_dir is not None:
        return Path(cache_dir)
    from knowledge.cache import default_cache_dir

    return default_cache_dir().parent / "graphmodel"


def cached_model(fingerprint: dict[str, Any], cache_dir: str | Path | None = None) -> Path:
    return model_cache_dir(cache_dir) / f"{fingerprint['triples']}-{fingerprint['hash']}"


def train_for_config(config: KGReasonConfig, out: str | Path, *, max_seconds: float = 600.0, seed: int = 0,
                     questions: int = 0, command: str = "", base: str | None = None,
                     on_progress: Callable[[dict], None] | None = None) -> GraphModelRun:
    """Open the configured graph and train a graph-only question model for it into `out`."""
    t0 = time.perf_counter()
    rt = Runtime(config)
    view = rt.view()
    if type(view) is not GraphView:
        view = GraphView.build(rt.graph)  # synthesis lists a property's subjects, which a store view does not
    fp = fingerprint_of(rt.graph)
    # 5% kept for loading the encoder and writing the folder, so the whole run stays within `max_seconds`
    left = max(10.0, 0.95 * max_seconds - (time.perf_counter() - t0)) if max_seconds else 0.0
    return train_graph_model(view, out, max_seconds=left, seed=seed, questions=questions, base=base,
                             max_hops=config.max_hops, fingerprint=fp, command=command, on_progress=on_progress)


#: where each training stage's progress goes in the job's fraction: (start, width)
_STAGES = {"synthesising": (0.0, 0.05), "reading paths": (0.05, 0.1), "reading questions": (0.15, 0.65),
           "training": (0.8, 0.2)}


@dataclass(frozen=True)
class AdaptStatus:
    """Where background adaptation stands."""

    state: str = "idle"  # idle | training | ready | failed | off
    fraction: float = 0.0
    message: str = ""
    seconds: float = 0.0
    model: str = ""
    superseded: int = 0  # trainings for earlier graphs that a newer load stopped

    def markdown(self) -> str:
        """One line for the chat page."""
        if self.state == "training":
            stopped = " (the previous graph's training was stopped)" if self.superseded else ""
            return (f"**Graph model:** training for this graph{stopped} ({100 * self.fraction:.0f}%, "
                    f"{self.seconds:.0f} s; {self.message}). Questions are planned zero-shot meanwhile.")
        if self.state == "ready":
            return f"**Graph model:** ready ({self.message})."
        if self.state == "failed":
            return f"**Graph model:** not available ({self.message}); questions are planned zero-shot."
        return "**Graph model:** off." if self.state == "off" else ""

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "fraction": round(self.fraction, 3), "message": self.message,
                "seconds": round(self.seconds, 1), "model": self.model, "superseded": self.superseded}


class AdaptationJob:
    """Trains a graph-only question model for a graph in a daemon thread (or finds it in the cache, keyed by
    the graph's fingerprint) and hands its folder to `on_ready`; starting again (the graph changed) supersedes
    a running job: its training stops at its next progress report (every 200 synthesis draws, encoder chunk
    or head epoch), its partial folder is removed and nothing of it is used or cached."""

    def __init__(self, on_ready: Callable[[Path], None], cache_dir: str | Path | None = None,
                 max_seconds: float = 600.0, base: str | None = None, max_hops: int = 3) -> None:
        self.on_ready = on_ready
        self.cache_dir = cache_dir
        self.max_seconds = max_seconds
        self.base = base
        self.max_hops = max_hops
        self._state: JobState[AdaptStatus] = JobState(AdaptStatus())
        self._thread: threading.Thread | None = None

    def status(self) -> AdaptStatus:
        return self._state.get()

    def _set(self, generation: int, **changes: Any) -> bool:
        try:
            self._state.update(generation, **changes)
        except Superseded:
            return False
        return True

    def start(self, graph: Any, reading: Callable[[], Any]) -> "AdaptationJob":
        """Adapt to `graph` (read under `reading()`, a context manager holding the graph's read lock)."""
        generation = self._state.begin(lambda before: AdaptStatus(
            "training", message="reading the graph", superseded=before.superseded + (before.state == "training")))
        self._thread = threading.Thread(target=self._work, args=(generation, graph, reading),
                                        name="kgreason-adapt", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> AdaptStatus:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status()

    def _work(self, generation: int, graph: Any, reading: Callable[[], Any]) -> None:
        from finetune.errors import ModelError
        from finetune.pathpairs import is_pair_model

        t0 = time.perf_counter()
        try:
            with reading():
                fp = fingerprint_of(graph)
                view = GraphView.build(graph)
            folder = cached_model(fp, self.cache_dir)
            if not is_pair_model(folder):
                partial = folder.with_name(folder.name + f".part-{os.getpid()}-{generation}")

                def progress(info: dict) -> None:
                    stage = info.get("stage", "")
                    # synthesis, then the encoder reads path texts and questions, then the head trains
                    start, width = _STAGES.get(stage, (0.0, 0.0))
                    done = info.get("done", info.get("epoch", 0)) / max(1, info.get("total", info.get("epochs", 1)))
                    fraction = max(self.status().fraction, start + width * min(1.0, done))
                    # raises Superseded once a newer start began: the training stops here
                    self._state.update(generation, fraction=fraction, message=stage,
                                       seconds=time.perf_counter() - t0)

                try:
                    run = train_graph_model(view, partial, max_seconds=self.max_seconds, base=self.base,
                                            max_hops=self.max_hops, fingerprint=fp, on_progress=progress,
                                            command="kgreason serve (background adaptation)")
                except Superseded:
                    shutil.rmtree(partial, ignore_errors=True)
                    return
                if not self._state.is_current(generation):
                    shutil.rmtree(partial, ignore_errors=True)
                    return
                if not is_pair_model(folder):
                    shutil.rmtree(folder, ignore_errors=True)
                    partial.rename(folder)
                else:
                    shutil.rmtree(partial, ignore_errors=True)
                accuracy = run.card["best"].get("dev_path_accuracy")
                message = f"trained in {run.card['seconds']:.0f} s, synthetic dev path accuracy {accuracy}"
            else:
                message = f"from the cache ({folder.name})"
            if not self._state.is_current(generation):
                return
            self.on_ready(folder)
            self._set(generation, state="ready", fraction=1.0, message=message, model=str(folder),
                      seconds=time.perf_counter() - t0)
        except (ModelError, OSError, RuntimeError, ValueError, MemoryError) as exc:
            self._set(generation, state="failed", message=f"{type(exc).__name__}: {exc}",
                      seconds=time.perf_counter() - t0)
