"""The status a background job reports, replaced whole under a lock, and its generations: starting the job again
(the graph changed) begins a new generation, and updates from the work of an older one are refused."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

S = TypeVar("S")


class Superseded(Exception):
    """A newer start of the job superseded this work: it stops."""


class JobState(Generic[S]):
    """A frozen-dataclass status `S` and the current generation, read and changed under one lock."""

    def __init__(self, initial: S) -> None:
        self._lock = threading.Lock()
        self._status = initial
        self._generation = 0

    def get(self) -> S:
        with self._lock:
            return self._status

    def begin(self, first: Callable[[S], S]) -> int:
        """A new generation whose status is `first(previous status)`; returns its number."""
        with self._lock:
            self._generation += 1
            self._status = first(self._status)
            return self._generation

    def is_current(self, generation: int) -> bool:
        with self._lock:
            return generation == self._generation

    def update(self, generation: int, **changes: Any) -> None:
        """Replace fields of the status; raises Superseded when `generation` is no longer the current one."""
        with self._lock:
            if generation != self._generation:
                raise Superseded()
            self._status = type(self._status)(**{**self._status.__dict__, **changes})
