"""The Finetune tab's service: retrains a (tiny) NER model in the background with per-epoch dev metrics."""
from __future__ import annotations

from pathlib import Path

import pytest

from agents.chat_service import ChatService, ServeOptions

CONLL = """-DOCSTART- -X- -X- O

John NNP B-NP B-PER
Smith NNP I-NP I-PER
lives VBZ B-VP O
in IN B-PP O
London NNP B-NP B-LOC
. . O O

Acme NNP B-NP B-ORG
works VBZ B-VP O
in IN B-PP O
Paris NNP B-NP B-LOC
. . O O
"""


@pytest.mark.slow
def test_ner_retraining_runs_in_background_and_reports_each_epoch(tmp_path: Path, tiny_bert: Path) -> None:
    train = tmp_path / "train.txt"
    train.write_text(CONLL, encoding="utf-8")
    service = ChatService(ServeOptions(cache=str(tmp_path / "cache")))
    started = service.start_training("ner", str(train), str(train), epochs=2, base=str(tiny_bert))
    assert started.state == "running" and started.task == "ner"
    status = service.join_training(120)
    assert status.state == "done", status.message
    assert [epoch for epoch, _ in status.history] == [1, 2]
    assert "f1" in status.history[-1][1]
    model_dir = Path(status.model_dir or "")
    assert model_dir.parent == tmp_path / "cache" / "models"
    assert list(model_dir.glob("*.safetensors"))


def test_bad_training_file_fails_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("John NNP B-NP B-PER\nSmith NNP\n", encoding="utf-8")
    service = ChatService(ServeOptions(cache=str(tmp_path / "cache")))
    service.start_training("ner", str(bad), str(bad), epochs=1)
    status = service.join_training(60)
    assert status.state == "failed"
    assert "bad.txt:2" in status.message


def test_unknown_task_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ner"):
        ChatService(ServeOptions()).start_training("pos", "a", "b", 1)
