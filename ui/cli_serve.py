"""`kgreason serve`: the Gradio chat on a loopback port (other hosts only behind --auth)."""
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
    auth: Optional[str] = typer.Option(None, "--auth", help="USER:PASS required to open the app."),
    max_file_size: str = typer.Option("50mb", "--max-file-size", help="Largest upload accepted, e.g. 50mb."),
    cache: Optional[Path] = typer.Option(None, "--cache", help="Folder for indexes (default: per graph)."),
    index: bool = typer.Option(True, "--index/--no-index",
                               help="Open (or build in the background) the retrieval index of the graph."),
) -> None:
    """Start the Gradio chat (ask, load graphs, retrain extractors). Never shared publicly."""
    try:
        credentials = parse_auth(auth)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if not is_loopback(host) and credentials is None:
        raise fail(f"refusing to bind {host!r} without --auth USER:PASS (only loopback is open without it)")
    if sum(x is not None and x != [] for x in (kg, store, endpoint)) > 1:
        raise fail("give at most one of --kg, --store, --endpoint")
    for path in kg or []:
        if not path.exists():
            raise fail(f"{path}: no such file")
    if store is not None and store.exists() and not store.is_dir():
        raise fail(f"{store}: not a folder")

    from ui.app import ServeOptions, launch

    options = ServeOptions(kg=[str(p) for p in kg or []], store=str(store) if store else None, endpoint=endpoint,
                           host=host, port=port, auth=credentials, max_file_size=max_file_size,
                           cache=str(cache) if cache else None, index=index)
    try:
        launch(options)
    except Exception as exc:  # noqa: BLE001  (input errors carry file:line)
        from knowledge.errors import InputError

        if isinstance(exc, InputError):
            raise fail(str(exc)) from None
        raise
