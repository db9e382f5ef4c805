"""Training in a child process: one job at a time, cancellable, and a killed child only fails the job."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from agents.chat_service import ChatService, Refused, ServeOptions

pytestmark = pytest.mark.slow

CONLL = "-DOCSTART- -X- -X- O\n\n" + "John NNP B-NP B-PER\nSmith NNP I-NP I-PER\nlives VBZ B-VP O\nin IN B-PP O\n" \
        "London NNP B-NP B-LOC\n. . O O\n\n" * 3


def _service(tmp_path: Path) -> tuple[ChatService, Path]:
    train = tmp_path / "train.txt"
    train.write_text(CONLL, encoding="utf-8")
    return ChatService(ServeOptions(cache=str(tmp_path / "cache"))), train


def _wait_running_child(service: ChatService, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = service._job.pid if service._job is not None else None  # noqa: SLF001
        if pid is not None and service.training_status().state == "running":
            return pid
        time.sleep(0.1)
    pytest.fail("the training child did not start")


def test_second_start_is_refused_and_cancel_stops_the_child(tmp_path: Path, tiny_bert: Path) -> None:
    service, train = _service(tmp_path)
    service.start_training("ner", str(train), str(train), epochs=200, base=str(tiny_bert))
    with pytest.raises(Refused, match="already running"):
        service.start_training("ner", str(train), str(train), epochs=1, base=str(tiny_bert))
    pid = _wait_running_child(service)
    assert pid != os.getpid()  # not in the server's process
    assert service.cancel_training()
    status = service.join_training(30)
    assert status.state == "cancelled" and status.model_dir is None
    assert not service.cancel_training()  # nothing left to cancel
    # a new job may start once the old one is over
    service.start_training("ner", str(train), str(train), epochs=1, base=str(tiny_bert))
    assert service.join_training(120).state == "done"


def test_a_killed_training_child_fails_the_job_not_the_server(tmp_path: Path, tiny_bert: Path) -> None:
    service, train = _service(tmp_path)
    service.start_training("ner", str(train), str(train), epochs=200, base=str(tiny_bert))
    os.kill(_wait_running_child(service), signal.SIGKILL)
    status = service.join_training(30)
    assert status.state == "failed" and "exit code -9" in status.message
