"""How the CLI reports a user's bad input: one clear line on stderr and exit status 2."""
from __future__ import annotations

import typer

from finetune.errors import DataError, ModelError
from knowledge.errors import InputError

#: What a user's input or choice of model can raise: the CLI prints the message and exits 2, no traceback.
USER_ERRORS: tuple[type[Exception], ...] = (InputError, DataError, ModelError)


def fail(message: str, code: int = 2) -> "typer.Exit":
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)
