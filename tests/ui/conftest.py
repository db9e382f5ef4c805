"""Fixtures for the UI tests: a real `kgreason serve` on a free loopback port, and an artefact folder."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "ui"
READY_TIMEOUT_S = float(os.environ.get("KGREASON_SERVE_READY_S", "900"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    """Poll `url` until it answers 200; fail early (with the log tail) if the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-4000:]
            pytest.fail(f"kgreason serve exited with {process.returncode} before it was ready:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"kgreason serve not ready after {timeout:.0f} s; see {log}")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _serve(artifacts: Path, args: list[str]) -> Iterator[str]:
    """`kgreason serve ARGS` (bundled movie graph, shipped models) on a free port, stopped afterwards."""
    port = free_port()
    log = artifacts / f"serve-{port}.log"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               PYTHONUNBUFFERED="1")
    with log.open("w") as out:
        # no background graph model for uploads unless a test asks for one (it would train for minutes beside it)
        adapt = [] if any(a in ("--adapt", "--no-adapt") for a in args) else ["--no-adapt"]
        process = subprocess.Popen([sys.executable, "-c", "from ui.cli import main; main()", "serve", "--port", str(port),
                                    *args, *adapt], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_ready(url, process, log, READY_TIMEOUT_S)
        yield url
    finally:
        stop_server(process)


def stop_server(process: subprocess.Popen) -> None:
    """Terminate a `kgreason serve` child, killing it if it does not exit within 20 s."""
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture(scope="module")
def serve_url(artifacts: Path) -> Iterator[str]:
    """`kgreason serve` with no graph options; the retrieval index only with KGREASON_TEST_INDEX set."""
    yield from _serve(artifacts, [] if os.environ.get("KGREASON_TEST_INDEX") else ["--no-index"])


@pytest.fixture(scope="module")
def serve_url_indexed(artifacts: Path) -> Iterator[str]:
    """`kgreason serve` as a user starts it: the retrieval index is opened from the cache or built."""
    yield from _serve(artifacts, [])
