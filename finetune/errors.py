"""Errors for bad training/evaluation input and unavailable models."""
from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad user data; the message names `file:line[:col]`."""

    def __init__(self, path: str | Path, line: int, message: str, col: int | None = None) -> None:
        self.path, self.line, self.col = str(path), line, col
        where = f"{path}:{line}" + (f":{col}" if col is not None else "")
        super().__init__(f"{where}: {message}")


class ModelError(RuntimeError):
    """A model (base encoder or fine-tuned folder) cannot be found or loaded."""
