"""Adapting to a graph: train a graph-only question model for it (cached per graph fingerprint), from the CLI
(`kgreason finetune questions --from-graph`) or in the background while the chat answers zero-shot."""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.config import KGReasonConfig
from agents.graphmodel import GraphModelRun, train_graph_model
from agents.runtime import Runtime


def fingerprint_of(graph: Any) -> dict[str, Any]:
    """Triple count and order-independent hash of a graph (the retrieval index's cache key too)."""
    from knowledge.retrieval import graph_fingerprint

    return graph_fingerprint(graph)


def model_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """Where graph models are cached: `<cache root>/graphmodel` ($KGREASON_CACHE, else ~/.cache/kgreason)."""
    if cache_dir is not None:
        return Path(cache_dir)
    root = os.environ.get("KGREASON_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kgreason"
    return Path(root) / "graphmodel"


def cached_model(fingerprint: dict[str, Any], cache_dir: str | Path | None = None) -> Path:
    return model_cache_dir(cache_dir) / f"{fingerprint['triples']}-{fingerprint['hash']}"


def train_for_config(config: KGReasonConfig, out: str | Path, *, max_seconds: float = 600.0, seed: int = 0,
                     questions: int = 0, command: str = "", base: str | None = None,
                     on_progress: Callable[[dict], None] | None = None) -> GraphModelRun:
    """Open the configured graph and train a graph-only question model for it into `out`."""
    t0 = time.perf_counter()
    rt = Runtime(config)
    view = rt.view()
    fp = fingerprint_of(rt.graph)
    left = max(10.0, max_seconds - (time.perf_counter() - t0)) if max_seconds else 0.0
    return train_graph_model(view, out, max_seconds=left, seed=seed, questions=questions, base=base,
                             max_hops=config.max_hops, fingerprint=fp, command=command, on_progress=on_progress)
