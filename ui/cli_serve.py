"""`kgreason serve`: the Gradio chat on a loopback port (other hosts only behind --auth-file or --auth);
`kgreason hash-password` for the auth file."""
from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Optional

import typer

from ui.errors import fail

app = typer.Typer()  # `serve`; ui/cli.py adds it to the top-level app


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    """`USER:PASS` -> (user, pass); raises ValueError on anything else."""
    if auth is None:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise ValueError("--auth must look like USER:PASS (both non-empty)")
    return user, password


@app.command("serve")
def serve(
    kg: Optional[list[Path]] = typer.Option(None, "--kg", help="Graph file(s) to load (any RDF format or s|p|o text)."),
    store: Optional[Path] = typer.Option(None, "--store", help="An oxigraph store folder to open."),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", help="A SPARQL query endpoint URL to use."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; non-loopback needs --auth."),
    port: int = typer.Option(7860, "--port", min=0, max=65535),
    auth: Optional[str] = typer.Option(None, "--auth", help="USER:PASS of a single admin (visible in `ps`: "
                                       "prefer --auth-file)."),
    auth_file: Optional[Path] = typer.Option(None, "--auth-file", help="Accounts, one user:password:role a line "
                                             "(admin or reader; passwords from `kgreason hash-password`); "
                                             "must not be readable by group or others."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="The only folder whose files admins may "
                                            "load by server path (without it the path box is off)."),
    max_file_size: str = typer.Option("50mb", "--max-file-size", help="Largest upload accepted, e.g. 50mb."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="Folder for indexes (default: per graph)."),
    index: bool = typer.Option(True, "--index/--no-index",
                               help="Open (or build in the background) the retrieval index of the graph."),
    adapt: bool = typer.Option(True, "--adapt/--no-adapt", help="Train a graph-only question model for a graph "
                               "given or loaded (not the bundled one) in the background, cached per graph; "
                               "questions are planned zero-shot until it is ready."),
    adapt_seconds: float = typer.Option(600.0, "--adapt-seconds", min=30.0, help="Its time budget."),
) -> None:
    """Start the Gradio chat (ask, load graphs, retrain extractors). Never shared publicly."""
    try:
        credentials = parse_auth(auth)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if credentials is not None and auth_file is not None:
        raise fail("give --auth or --auth-file, not both")
    if credentials is not None:
        typer.secho("warning: --auth shows the password to anyone who can list processes (ps); "
                    "prefer --auth-file", err=True, fg=typer.colors.YELLOW)
    if auth_file is not None:
        from agents.auth import AccessPolicy

        AccessPolicy.from_file(auth_file)  # bad files fail here, naming file:line (InputError -> exit 2)
    if not is_loopback(host) and credentials is None and auth_file is None:
        raise fail(f"refusing to bind {host!r} without --auth-file or --auth (only loopback is open without them)")
    if data_dir is not None and not data_dir.is_dir():
        raise fail(f"{data_dir}: --data-dir is not a folder")
    if sum(x is not None and x != [] for x in (kg, store, endpoint)) > 1:
        raise fail("give at most one of --kg, --store, --endpoint")
    for path in kg or []:
        if not path.exists():
            raise fail(f"{path}: no such file")
    if store is not None and store.exists() and not store.is_dir():
        raise fail(f"{store}: not a folder")
    if store is not None and not (store / "CURRENT").is_file():  # only `kgreason load` creates a store
        raise fail(f"{store}: {'does not exist' if not store.exists() else 'holds no oxigraph store'} "
                   f"(create one with `kgreason load FILE --store {store}`)")

    from ui.app import ServeOptions, launch

    options = ServeOptions(kg=[str(p) for p in kg or []], store=str(store) if store else None, endpoint=endpoint,
                           host=host, port=port, auth=credentials, max_file_size=max_file_size,
                           cache=str(cache) if cache else None, index=index,
                           auth_file=str(auth_file) if auth_file else None,
                           data_dir=str(data_dir) if data_dir else None, adapt=adapt, adapt_seconds=adapt_seconds)
    try:
        launch(options)
    except Exception as exc:  # noqa: BLE001  (input errors carry file:line)
        from knowledge.errors import InputError

        if isinstance(exc, InputError):
            raise fail(str(exc)) from None
        raise


@app.command("hash-password")
def hash_password_verb(
    password_stdin: bool = typer.Option(False, "--stdin", help="Read the password from the first line of stdin."),
) -> None:
    """Print an scrypt hash of a password, for the password field of a --auth-file line."""
    import sys

    from agents.auth import hash_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    typer.echo(hash_password(password))
