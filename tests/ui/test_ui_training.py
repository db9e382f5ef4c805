"""The Finetune tab's background job: progress, failure reporting, never blocking the caller."""
from __future__ import annotations

import threading

from agents.locks import ReadWriteLock
from agents.training_jobs import TrainingJob


def test_job_reports_progress_and_result_from_its_thread() -> None:
    gate = threading.Event()
    seen: list[str] = []

    def target(progress) -> str:
        seen.append(threading.current_thread().name)
        progress(1, 2, {"f1": 0.5, "note": "x"})
        gate.wait(5)
        progress(2, 2, {"f1": 0.75})
        return "/models/new"

    job = TrainingJob("ner", target, epochs=2).start()
    # start() returned while the job still waits: it does not block the caller
    assert job.running()
    gate.set()
    status = job.join(5)
    assert status.state == "done" and status.model_dir == "/models/new"
    assert status.fraction == 1.0
    assert [e for e, _ in status.history] == [1, 2]
    assert status.history[0][1] == {"f1": 0.5}
    assert seen == ["train-ner"]


def test_job_failure_is_reported_not_raised() -> None:
    def target(progress) -> str:
        raise ValueError("train.txt:3: expected 4 columns")

    status = TrainingJob("questions", target, epochs=1).start().join(5)
    assert status.state == "failed"
    assert "train.txt:3" in status.message


def test_writer_waits_for_readers() -> None:
    lock = ReadWriteLock()
    order: list[str] = []
    with lock.reading():
        writer = threading.Thread(target=lambda: (lock.writing().__enter__(), order.append("w")))
        writer.start()
        writer.join(0.2)
        assert order == []  # blocked while a reader holds the lock
        order.append("r")
    writer.join(2)
    assert order == ["r", "w"]
