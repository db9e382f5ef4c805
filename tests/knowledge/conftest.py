"""Fixtures for the knowledge-layer tests: small data files, a real Oxigraph SPARQL server, one graph per backend."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

MOVIES = """Kismet|directed_by|William Dieterle
Kismet|starred_actors|Marlene Dietrich
Kismet|release_year|1944
Shanghai Express|starred_actors|Marlene Dietrich
Shanghai Express|directed_by|Josef von Sternberg
Beau Travail|starred_actors|Grégoire Colin
Beau Travail|directed_by|Claire Denis
Once Were Warriors|starred_actors|Temuera Morrison
Heat|directed_by|Michael Mann
Heat|release_year|1995
"""


@pytest.fixture()
def movies_file(tmp_path: Path) -> Path:
    path = tmp_path / "movies.txt"
    path.write_text(MOVIES, encoding="utf-8")
    return path


def _oxigraph_binary() -> str | None:
    here = Path(sys.executable).parent / "oxigraph"
    return str(here) if here.exists() else shutil.which("oxigraph")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `oxigraph serve` on a free loopback port; yields its base URL."""
    binary = _oxigraph_binary()
    if binary is None:
        pytest.skip("the oxigraph server binary is not installed")
    folder = tmp_path_factory.mktemp("oxigraph_server")
    port = _free_port()
    proc = subprocess.Popen([binary, "serve", "--location", str(folder), "--bind", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"oxigraph exited: {proc.stderr.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{base}/query?query=ASK%7B%7D", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("oxigraph server did not become ready") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


BACKENDS = ["memory", "oxigraph", pytest.param("sparql", marks=pytest.mark.integration)]


@pytest.fixture(params=BACKENDS)
def backend_graph(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """An empty KnowledgeGraph on each backend (sparql: a real Oxigraph server, cleared first)."""
    from knowledge.graph import KnowledgeGraph

    name = request.param
    if name == "memory":
        kg = KnowledgeGraph.open("memory")
    elif name == "oxigraph":
        kg = KnowledgeGraph.open("oxigraph", tmp_path / "store")
    else:
        base = request.getfixturevalue("oxigraph_server")
        kg = KnowledgeGraph.open("sparql", f"{base}/query", update_endpoint=f"{base}/update")
        kg.query("CLEAR ALL", allow_update=True)
    yield kg
    kg.close()
