"""Background adaptation through gradio_client: `kgreason serve --kg` a small lab graph, a graph-only model
trains in the background (progress in /adapt_status), the chat then plans with it; --no-adapt turns it off."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.conftest import ROOT, free_port, stop_server, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.slow]
LAB = ROOT / "tests" / "data" / "lab_graph.txt"


def _serve(tmp: Path, *extra: str) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = tmp / f"serve-{port}.log"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               PYTHONUNBUFFERED="1", KGREASON_CACHE=str(tmp / "cache"))
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-c", "from ui.cli import main; main()", "serve", "--port",
                                    str(port), "--kg", str(LAB), "--no-index", *extra], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    wait_ready(url, process, log, 600)
    return process, url, log


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("adapt")


def test_chat_adapts_to_a_loaded_graph_in_the_background(cache: Path) -> None:
    from gradio_client import Client

    process, url, log = _serve(cache, "--adapt-seconds", "60")  # on by default
    try:
        client = Client(url, verbose=False)
        seen = []
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            status = client.predict(api_name="/adapt_status")
            seen.append(status)
            if status["state"] in ("ready", "failed"):
                break
            time.sleep(2)
        assert status["state"] == "ready", (status, log.read_text()[-2000:])
        assert any(s["state"] == "training" for s in seen)
        fractions = [s["fraction"] for s in seen]
        assert fractions == sorted(fractions) and status["fraction"] == 1.0
        model = Path(status["model"])
        assert model.parent == cache / "cache" / "graphmodel" and (model / "head.safetensors").is_file()
        r = client.predict("who works on project atlas", "", api_name="/ask")
        assert r["found"] and r["answers"][0]["label"] in {"ada_lovelace", "grace_hopper"}
        planner = next(t for t in r["trace"] if t["agent"] == "planner")
        assert "inverse of works on" in planner["output"]  # the graph model's path text
    finally:
        stop_server(process)
    # a second start finds the model in the cache (no training)
    process, url, _ = _serve(cache, "--adapt", "--adapt-seconds", "60")
    try:
        client = Client(url, verbose=False)
        deadline = time.monotonic() + 120
        while (status := client.predict(api_name="/adapt_status"))["state"] not in ("ready", "failed"):
            assert time.monotonic() < deadline
            time.sleep(1)
        assert status["state"] == "ready" and "cache" in status["message"]
    finally:
        stop_server(process)


def test_no_adapt_turns_it_off(cache: Path) -> None:
    from gradio_client import Client

    (cache / "off").mkdir(exist_ok=True)
    process, url, _ = _serve(cache / "off", "--no-adapt")
    try:
        status = Client(url, verbose=False).predict(api_name="/adapt_status")
        assert status["state"] == "off"
    finally:
        stop_server(process)
