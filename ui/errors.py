"""How the CLI reports a user's bad input: one clear line on stderr and exit status 2."""
from __future__ import annotations

import typer


def fail(message: str, code: int = 2) -> "typer.Exit":
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)
