"""The chat's retrieval index, made in a background thread: opened from the cache on warm starts, built (with
progress) on the first start, and handed to the pipeline when ready. The app answers without it meanwhile."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.job_state import JobState, Superseded

#: `reading()` -> a context manager that holds the graph's read lock
ReadLock = Callable[[], AbstractContextManager[Any]]


@dataclass(frozen=True)
class IndexStatus:
    """Where the background index job stands."""

    state: str = "idle"  # idle | loading | building | updating | ready | failed
    done: int = 0
    total: int = 0
    message: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def fraction(self) -> float:
        if self.state == "ready":
            return 1.0
        return self.done / self.total if self.total else 0.0

    def markdown(self) -> str:
        """One line for the chat page."""
        if self.state == "building":
            return (f"**Retrieval index:** building (first start) — {self.done:,} / {self.total:,} texts embedded "
                    f"({100 * self.fraction:.0f}%, {self.seconds:.0f} s). Questions are answered without it "
                    "meanwhile.")
        if self.state == "loading":
            return "**Retrieval index:** loading from the cache…"
        if self.state == "updating":
            return "**Retrieval index:** adding what the load brought…"
        if self.state == "ready":
            what = ", ".join(f"{n:,} {k}" for k, n in self.counts.items())
            return f"**Retrieval index:** ready ({what}; {self.message or f'{self.seconds:.1f} s'})."
        if self.state == "failed":
            return f"**Retrieval index:** not available ({self.message}). Questions are answered without it."
        return "**Retrieval index:** off."


class IndexJob:
    """Loads or builds the retrieval index of a graph in a daemon thread; `on_ready(index)` gets the result.

    Starting again (after the graph changed) supersedes a running build, which stops at its next chunk."""

    def __init__(self, on_ready: Callable[[Any], None], cache_dir: str | Path | None = None,
                 kinds: Sequence[str] = ("entity", "fact"), embedder: Any | None = None) -> None:
        self.on_ready = on_ready
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.kinds = tuple(kinds)
        self._embedder = embedder
        self._state: JobState[IndexStatus] = JobState(IndexStatus())
        self._thread: threading.Thread | None = None

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from knowledge.embeddings import index_embedder

            self._embedder = index_embedder()
        return self._embedder

    def status(self) -> IndexStatus:
        return self._state.get()

    def _set(self, generation: int, **changes: Any) -> None:
        self._state.update(generation, **changes)

    def start(self, graph: Any, reading: ReadLock) -> "IndexJob":
        """Open or build the index of `graph` (read under `reading()`) in the background."""
        generation = self._state.begin(lambda _: IndexStatus("loading"))
        self._thread = threading.Thread(target=self._work, args=(generation, graph, reading),
                                        name="kgreason-index", daemon=True)
        self._thread.start()
        return self

    def extend(self, index: Any, graph: Any, triples: Sequence[Any], reading: ReadLock, writing: ReadLock,
               cache_dir: Path | None = None) -> "IndexJob":
        """Add to the ready `index` what `triples` (just loaded into `graph`) bring, in the background: only
        their facts and names are embedded (`KnowledgeIndex.add_triples`), under `writing()` so no search sees
        a half-updated index; then it is saved as the grown graph's cached index."""
        generation = self._state.begin(lambda old: IndexStatus("updating", counts=old.counts))
        self._thread = threading.Thread(target=self._extend, name="kgreason-index",
                                        args=(generation, index, graph, list(triples), reading, writing, cache_dir),
                                        daemon=True)
        self._thread.start()
        return self

    def _extend(self, generation: int, index: Any, graph: Any, triples: list[Any], reading: ReadLock,
                writing: ReadLock, cache_dir: Path | None) -> None:
        from agents.indexing import save_grown_index

        t0 = time.perf_counter()
        try:
            with writing():
                added = index.add_triples(graph, triples)
            n = sum(added.values())
            with reading():
                save_grown_index(index, graph, cache_dir)
            self._set(generation, state="ready", counts=index.counts(), done=n, total=n,
                      seconds=time.perf_counter() - t0,
                      message=f"{n:,} texts embedded for the last load in {time.perf_counter() - t0:.1f} s")
        except Superseded:
            return
        except (OSError, RuntimeError, ValueError, MemoryError) as exc:
            try:
                self._set(generation, state="failed", message=f"{type(exc).__name__}: {exc}",
                          seconds=time.perf_counter() - t0)
            except Superseded:
                return

    def join(self, timeout: float | None = None) -> IndexStatus:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status()

    def _work(self, generation: int, graph: Any, reading: ReadLock) -> None:
        from knowledge.errors import InputError
        from knowledge.retrieval import KnowledgeIndex, cache_folder, graph_fingerprint

        t0 = time.perf_counter()
        try:
            with reading():
                fp = graph_fingerprint(graph)
            index = KnowledgeIndex.open_cached(fp, self.kinds, self.embedder, self.cache_dir)
            if index is None:
                with reading():
                    index = KnowledgeIndex.plan(graph, cache_folder(fp, self.cache_dir), self.kinds, self.embedder)
                self._set(generation, state="building", total=index.pending_texts(), seconds=0.0)

                def progress(done: int, total: int) -> None:
                    self._set(generation, done=done, total=total, seconds=time.perf_counter() - t0)

                index.embed_pending(on_progress=progress)
                self._set(generation)  # stop here if superseded, before writing the cache
                index.save(fingerprint=fp)
                self._set(generation, message=f"{self.status().total:,} texts embedded in "
                                              f"{time.perf_counter() - t0:.1f} s")
            else:
                self._set(generation, message=f"opened from the cache in {time.perf_counter() - t0:.1f} s")
            if not self._state.is_current(generation):
                return
            self.on_ready(index)
            self._set(generation, state="ready", counts=index.counts(), seconds=time.perf_counter() - t0)
        except Superseded:
            return
        except (InputError, OSError, RuntimeError, ValueError, MemoryError) as exc:
            try:
                self._set(generation, state="failed", message=f"{type(exc).__name__}: {exc}",
                          seconds=time.perf_counter() - t0)
            except Superseded:
                return
