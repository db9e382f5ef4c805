"""Errors for bad training/evaluation input and unavailable models.

`DataError` has `knowledge.errors.InputError`'s signature and attributes (message, path, line, column;
`.location`, `.reason`): the two layers may not import each other, so each defines its own root."""
from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad user data; the message names `file:line[:col]`."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.reason = message
        super().__init__(f"{self.location}: {message}" if self.location else message)

    @property
    def location(self) -> str:
        """`file:line:col` (as much as is known), or ''."""
        if self.path is None:
            return ""
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class ModelError(RuntimeError):
    """A model (base encoder or fine-tuned folder) cannot be found or loaded."""
