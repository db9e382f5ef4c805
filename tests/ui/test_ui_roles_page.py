"""What the page shows by role: a reader sees no admin-only uploads or buttons (the server refuses those calls
anyway), and uploaded training files are deleted when the training job that read them ends."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from agents.auth import hash_password
from agents.chat_service import ChatService, ServeOptions
from ui.app import READER_NOTE, build_app


def _controls(service: ChatService):  # type: ignore[no-untyped-def]
    """The page-load handler that sets which controls a caller sees, and its output components."""
    demo = build_app(service, examples=[])
    found = [f for f in demo.fns.values() if getattr(f, "name", "") == "controls"]
    assert len(found) == 1
    return found[0].fn, found[0].outputs


def _by_id(outputs, updates) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    named = {}
    for block, update in zip(outputs, updates):
        named[str(block.elem_id)] = update
    return named


@pytest.fixture
def accounts(tmp_path: Path) -> Path:
    users = tmp_path / "users"
    users.write_text(f"ann:{hash_password('ann-secret')}:admin\nbob:{hash_password('bob-secret')}:reader\n",
                     encoding="utf-8")
    users.chmod(0o600)
    return users


def test_a_reader_sees_no_admin_buttons_and_a_note_saying_why(accounts: Path) -> None:
    fn, outputs = _controls(ChatService(ServeOptions(auth_file=str(accounts))))
    reader = _by_id(outputs, fn(SimpleNamespace(username="bob")))
    admin = _by_id(outputs, fn(SimpleNamespace(username="ann")))
    for key in ("load-graph", "ingest", "start-training", "use-model", "cancel-training", "graph-files",
                "train-file", "dev-file"):
        assert reader[key]["visible"] is False, key
        assert admin[key]["visible"] is True, key
    for note in ("knowledge-reader-note", "finetune-reader-note"):
        assert reader[note]["visible"] is True and reader[note]["value"] == READER_NOTE
        assert admin[note]["visible"] is False


def test_without_accounts_on_loopback_everyone_is_an_admin() -> None:
    fn, outputs = _controls(ChatService(ServeOptions()))
    shown = _by_id(outputs, fn(SimpleNamespace(username=None)))
    assert shown["load-graph"]["visible"] is True and shown["finetune-reader-note"]["visible"] is False
    assert shown["graph-path"]["visible"] is False  # the server-path box: only with --data-dir
    fn, outputs = _controls(ChatService(ServeOptions(data_dir=str(Path.cwd()))))
    assert _by_id(outputs, fn(SimpleNamespace(username=None)))["graph-path"]["visible"] is True


def test_uploads_of_a_training_job_that_does_not_start_are_deleted(tmp_path: Path) -> None:
    upload = tmp_path / "upload" / "train.txt"
    upload.parent.mkdir()
    upload.write_text("John B-PER\n", encoding="utf-8")
    with pytest.raises(ValueError, match="ner"):
        ChatService(ServeOptions(cache=str(tmp_path / "cache"))).start_training(
            "pos", str(upload), str(upload), 1, uploads=[str(upload)])
    assert not upload.exists()


@pytest.mark.slow
def test_uploaded_training_files_are_deleted_when_the_job_ends(tmp_path: Path, tiny_bert: Path) -> None:
    from tests.ui.test_ui_finetune_tab import CONLL

    kept = tmp_path / "mine.txt"  # a file of the user's own (not an upload): never deleted
    kept.write_text(CONLL, encoding="utf-8")
    uploads = tmp_path / "gradio-upload"
    uploads.mkdir()
    train, dev = uploads / "train.txt", uploads / "dev.txt"
    for f in (train, dev):
        f.write_text(CONLL, encoding="utf-8")
    service = ChatService(ServeOptions(cache=str(tmp_path / "cache")))
    service.start_training("ner", str(train), str(dev), epochs=1, base=str(tiny_bert),
                           uploads=[str(train), str(dev)])
    status = service.join_training(120)
    assert status.state == "done", status.message
    assert not train.exists() and not dev.exists()
    # a failed job deletes them too
    bad = uploads / "bad.txt"
    bad.write_text("John NNP B-NP B-PER\nSmith NNP\n", encoding="utf-8")
    service.start_training("ner", str(bad), str(kept), epochs=1, base=str(tiny_bert), uploads=[str(bad)])
    assert service.join_training(60).state == "failed"
    assert not bad.exists() and kept.exists()
