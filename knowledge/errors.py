"""Errors raised for bad user input. Every message names `file:line[:col]` when known."""
from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input from a user (file, query, option). The CLI prints it and exits 2."""

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


class MissingFileError(InputError):
    """The named file does not exist or cannot be read."""


class EmptyInputError(InputError):
    """The file holds no data."""


class EncodingError(InputError):
    """The file is not UTF-8 text (or is binary)."""


class ParseError(InputError):
    """The file's content does not follow its format."""


class QueryError(InputError):
    """A SPARQL query or update that does not parse or cannot run."""


class UpdateRefused(QueryError):
    """A SPARQL update was given where only read-only queries are allowed."""


class BackendError(InputError):
    """An unknown backend name or an unusable store location."""
