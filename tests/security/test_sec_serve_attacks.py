"""The attacks of issue 13 played against a real `kgreason serve` (gradio_client): each ends in a refusal or a
correct answer, the graph stays as it was, and the server keeps answering within seconds.

One server for the module: a 5-triple graph (one label is `$\\frac{$ Story`), an auth file with an admin and a
reader, a --data-dir, no retrieval index."""
from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.conftest import stop_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
GRAPH = """Kismet|directed_by|William Dieterle
Kismet|release_year|1944
Portrait of Jennie|directed_by|William Dieterle
$\\frac{$ Story|directed_by|Jane Doe
"""
ADMIN, READER = ("ann", "ann-secret-pw"), ("bob", "bob-reader-pw")
CONLL = "John NNP B-NP B-PER\nSmith NNP I-NP I-PER\nlives VBZ B-VP O\nin IN B-PP O\nLondon NNP B-NP B-LOC\n\n" * 3


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from agents.auth import hash_password

    root = tmp_path_factory.mktemp("serve")
    (root / "data").mkdir()
    graph = root / "graph.txt"
    graph.write_text(GRAPH, encoding="utf-8")
    (root / "data" / "more.txt").write_text("Kismet|language|English\n", encoding="utf-8")
    (root / "secret.csv").write_text("alice,password,hunter2\n", encoding="utf-8")
    users = root / "users"
    users.write_text(f"{ADMIN[0]}:{hash_password(ADMIN[1])}:admin\n{READER[0]}:{READER[1]}:reader\n",
                     encoding="utf-8")
    users.chmod(0o600)
    port = _free_port()
    log = root / "serve.log"
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               PYTHONUNBUFFERED="1", KGREASON_CACHE=str(root / "cache"))
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "from ui.cli import main; main()", "serve", "--kg", str(graph), "--port", str(port),
             "--auth-file", str(users), "--data-dir", str(root / "data"), "--cache", str(root / "cache"),
             "--no-index", "--no-adapt"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 600
        while "kgreason: ready" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"kgreason serve did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        with urllib.request.urlopen(url, timeout=10):
            pass
        yield {"url": url, "root": root, "log": log}
    finally:
        stop_server(process)


def _client(server: dict, who: tuple[str, str]):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(server["url"], auth=who, verbose=False)


@pytest.fixture(scope="module")
def admin(server: dict):  # type: ignore[no-untyped-def]
    return _client(server, ADMIN)


@pytest.fixture(scope="module")
def reader(server: dict):  # type: ignore[no-untyped-def]
    return _client(server, READER)


def _summary(client) -> str:  # type: ignore[no-untyped-def]
    return client.predict(api_name="/graph_summary")[0]


def _still_answers(client, limit_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    result = client.predict("who directed Kismet", "", api_name="/ask")
    seconds = time.monotonic() - t0
    assert [a["label"] for a in result["answers"]] == ["William Dieterle"]
    assert seconds <= limit_s, f"answered in {seconds:.1f} s"


def test_wrong_password_cannot_sign_in(server: dict) -> None:
    with pytest.raises(Exception):  # noqa: B017  (gradio_client raises on a refused login)
        _client(server, (ADMIN[0], "wrong"))


def test_reader_asks_but_cannot_change_anything(server: dict, reader) -> None:  # type: ignore[no-untyped-def]
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    before = _summary(reader)
    data = server["root"] / "upload.txt"
    data.write_text("Kismet|directed_by|Someone Else\n", encoding="utf-8")
    for call in (lambda: reader.predict([], "more.txt", api_name="/load_graph"),
                 lambda: reader.predict([handle_file(str(data))], "", api_name="/load_graph"),
                 lambda: reader.predict([handle_file(str(data))], api_name="/ingest_documents"),
                 lambda: reader.predict("ner", handle_file(str(data)), handle_file(str(data)), 1, None, None,
                                        api_name="/start_training"),
                 lambda: reader.predict(api_name="/cancel_training"),
                 lambda: reader.predict(None, api_name="/use_trained_model")):
        with pytest.raises(AppError, match="only admins"):
            call()
    assert _summary(reader) == before
    _still_answers(reader)


@pytest.mark.parametrize("path", ["/etc/passwd", "../secret.csv", "SECRET"])
def test_server_paths_outside_the_data_dir_are_refused(server: dict, admin, path: str) -> None:  # type: ignore[no-untyped-def]
    path = str(server["root"] / "secret.csv") if path == "SECRET" else path
    before = _summary(admin)
    status = admin.predict([], path, api_name="/load_graph")[0]
    assert "Load failed, graph unchanged" in status
    assert "outside the server's data folder" in status or "'..'" in status
    assert _summary(admin) == before
    result = admin.predict("what is the password of alice", "", api_name="/ask")
    assert "hunter2" not in str(result)
    _still_answers(admin)


def test_admin_loads_from_the_data_dir(admin) -> None:  # type: ignore[no-untyped-def]
    status = admin.predict([], "more.txt", api_name="/load_graph")[0]
    assert status.startswith("**Loaded**"), status
    result = admin.predict("what language is Kismet in", "", api_name="/ask")
    assert "English" in {a["label"] for a in result["answers"]}


def test_gzip_bomb_is_refused(server: dict, admin) -> None:  # type: ignore[no-untyped-def]
    from gradio_client import handle_file

    member = gzip.compress(b"x" * (16 << 20), compresslevel=9)
    bomb = server["root"] / "bomb.txt.gz"
    bomb.write_bytes(member * 96)  # 96 gzip members: 1.5 GiB once expanded, ~1.5 MB on disk
    assert bomb.stat().st_size < 5 << 20
    before = _summary(admin)
    status = admin.predict([handle_file(str(bomb))], "", api_name="/load_graph")[0]
    assert "Load failed, graph unchanged" in status and "expands to more than" in status
    assert _summary(admin) == before
    _still_answers(admin)


def test_huge_question_is_refused(reader) -> None:  # type: ignore[no-untyped-def]
    from gradio_client.exceptions import AppError

    question = "who directed Kismet " * 10_000  # 200 kB
    with pytest.raises(AppError, match="at most 1,000 characters"):
        reader.predict(question, "", api_name="/ask")
    history = reader.predict(question, [], api_name="/chat")[0]
    assert "at most 1,000 characters" in str(history[-1]["content"])
    _still_answers(reader)


def test_conversation_ids_are_issued_and_private(admin, reader) -> None:  # type: ignore[no-untyped-def]
    from gradio_client.exceptions import AppError

    first = reader.predict("who directed Kismet", "", api_name="/ask")
    follow = reader.predict("when was it released", first["conversation"], api_name="/ask")
    assert follow["conversation"] == first["conversation"]
    with pytest.raises(AppError, match="unknown or expired conversation"):
        admin.predict("when was it released", first["conversation"], api_name="/ask")  # not admin's conversation
    with pytest.raises(AppError, match="unknown or expired conversation"):
        reader.predict("when was it released", "my-own-id", api_name="/ask")


def test_math_label_in_a_proof_renders(reader) -> None:  # type: ignore[no-untyped-def]
    result = reader.predict("who directed $\\frac{$ Story", "", api_name="/ask")
    assert [a["label"] for a in result["answers"]] == ["Jane Doe"]
    assert result["answers"][0]["proofs"][0][0][0] == "$\\frac{$ Story"
    _, answer, _, picture, *_ = reader.predict("who directed $\\frac{$ Story", [], api_name="/chat")
    assert "Jane Doe" in answer and "\\$\\\\frac\\{\\$ Story" in answer  # shown literally, not as math
    assert picture  # the answer picture was drawn
    _still_answers(reader)


def test_dots_document_ingests_while_another_user_asks(server: dict, admin, reader) -> None:  # type: ignore[no-untyped-def]
    from gradio_client import handle_file

    dots = server["root"] / "dots.txt"
    dots.write_text("." * 200_000 + "\n", encoding="utf-8")
    # real sentences keep the NER busy for a while: questions asked meanwhile must not wait for it
    prose = server["root"] / "prose.txt"
    prose.write_text("Ann Lee met Bob Stone in Paris. " * 150 + "\n", encoding="utf-8")
    done: dict[str, object] = {}

    def ingest() -> None:
        try:
            done["status"] = admin.predict([handle_file(str(dots)), handle_file(str(prose))],
                                           api_name="/ingest_documents")[0]
        except Exception as exc:  # noqa: BLE001
            done["status"] = exc

    worker = threading.Thread(target=ingest)
    worker.start()
    time.sleep(0.5)
    answered_during = 0
    while worker.is_alive() and answered_during < 3:
        _still_answers(reader, limit_s=5.0)
        answered_during += worker.is_alive()
    worker.join(300)
    assert not worker.is_alive(), "the ingest took more than 5 minutes"
    assert str(done.get("status", "")).startswith("**Ingested**"), done
    assert answered_during >= 1, "the ingest ended before a question was asked during it"
    _still_answers(reader)


def test_two_training_starts_at_once_start_one_job(server: dict, admin) -> None:  # type: ignore[no-untyped-def]
    from gradio_client import handle_file

    train = server["root"] / "train.conll"
    train.write_text(CONLL, encoding="utf-8")
    second = _client(server, ADMIN)
    replies: list[str] = []

    def start(client) -> None:  # type: ignore[no-untyped-def]
        replies.append(client.predict("ner", handle_file(str(train)), handle_file(str(train)), 20, None, None,
                                      api_name="/start_training"))

    threads = [threading.Thread(target=start, args=(c,)) for c in (admin, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(replies) == 2
    assert sum("already running" in r for r in replies) == 1, replies
    assert admin.predict(api_name="/cancel_training").startswith("**Cancelling")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = admin.predict(api_name="/training_status")[1]
        if "cancelled" in state or "failed" in state:
            break
        time.sleep(0.5)
    assert "cancelled" in state, state
    _still_answers(admin)
