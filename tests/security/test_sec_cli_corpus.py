"""Every verb that reads a file, fed a corpus of bad files: one `error:` line naming the file, exit 2, no traceback."""
from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import pytest

from ui.cli import main

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_QUESTIONS = ROOT / "finetune" / "models" / "questions"

BAD_FILES: dict[str, bytes] = {
    "corrupt.ttl.gz": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"this is not deflate data" * 20,
    "truncated.txt.gz": gzip.compress(b"Kismet|directed_by|William Dieterle\n" * 2000)[:60],
    "binary.bin": bytes(range(256)) * 16,
    "utf16.txt": "Kismet|directed_by|William Dieterle\n".encode("utf-16"),
    "empty.txt": b"",
    "nul.txt": b"Kismet|directed_by|William Dieterle\nA|b\x00|c\n",
    "huge.txt": b"x" * 3_000_000,
    "bad.json": b'{"@context": {"a": [1, 2',
}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["kgreason", *argv])
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err
    code = info.value.code if isinstance(info.value.code, int) else 1
    return code, err


def _assert_one_line_error(code: int, err: str, name: str) -> None:
    assert "Traceback" not in err, err[-2000:]
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]
    assert name in lines[0], lines[0]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    for name, data in BAD_FILES.items():
        (folder / name).write_bytes(data)
    (folder / "good.txt").write_text("Kismet|directed_by|William Dieterle\n", encoding="utf-8")
    return folder


GRAPH_VERBS = [
    ["load", "{bad}"],
    ["stats", "--kg", "{bad}"],
    ["query", "SELECT ?s WHERE {{ ?s ?p ?o }} LIMIT 1", "--kg", "{bad}"],
    ["entities", "Kismet", "--kg", "{bad}"],
    ["ask", "who directed Kismet", "--kg", "{bad}", "--zero-shot"],
    ["ask", "who directed Kismet", "--kg", "{good}", "--zero-shot", "--rules", "{bad}"],
    ["evaluate", "qa", "--questions", "{bad}", "--kg", "{good}", "--zero-shot"],
    ["finetune", "split-questions", "{bad}", "--out", "{out}"],
    ["finetune", "ner", "--train", "{bad}", "--dev", "{bad}", "--out", "{out}"],
    ["finetune", "questions", "--train", "{bad}", "--qtypes", "{bad}", "--dev", "{bad}", "--dev-qtypes", "{bad}",
     "--out", "{out}"],
]


@pytest.mark.parametrize("name", sorted(BAD_FILES))
@pytest.mark.parametrize("verb", GRAPH_VERBS, ids=lambda v: "-".join(w for w in v[:2] if not w.startswith("{")))
def test_bad_file_through_every_verb(verb: list[str], name: str, corpus: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    if name == "empty.txt" and "--rules" in verb:
        pytest.skip("an empty rules file is no rules, not an error")
    argv = [a.format(bad=corpus / name, good=corpus / "good.txt", out=tmp_path / "out") for a in verb]
    code, err = _run(argv, capsys, monkeypatch)
    _assert_one_line_error(code, err, name)


def _broken_models(root: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for kind in ("no-labels", "bad-labels", "bad-card", "empty"):
        folder = root / kind
        if kind == "empty":
            folder.mkdir()
        else:
            shutil.copytree(SHIPPED_QUESTIONS, folder)
        if kind == "no-labels":
            (folder / "labels.json").unlink()
        elif kind == "bad-labels":
            (folder / "labels.json").write_text('{"labels": [', encoding="utf-8")
        elif kind == "bad-card":
            (folder / "model_card.json").write_text("not json at all", encoding="utf-8")
        out[kind] = folder
    return out


@pytest.fixture(scope="module")
def broken_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not SHIPPED_QUESTIONS.is_dir():
        pytest.skip("no shipped question model")
    return _broken_models(tmp_path_factory.mktemp("models"))


@pytest.mark.parametrize("kind", ["no-labels", "bad-labels", "bad-card", "empty"])
def test_broken_question_model_folder(kind: str, broken_models: dict[str, Path], corpus: Path,
                                      capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = broken_models[kind]
    code, err = _run(["ask", "who directed Kismet", "--kg", str(corpus / "good.txt"), "--question-model",
                      str(folder)], capsys, monkeypatch)
    _assert_one_line_error(code, err, kind)


def test_auth_file_readable_by_others_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    users = tmp_path / "users"
    users.write_text("ann:pw:admin\n", encoding="utf-8")
    users.chmod(0o644)
    code, err = _run(["serve", "--auth-file", str(users)], capsys, monkeypatch)
    _assert_one_line_error(code, err, "users")


def test_hash_password_from_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from agents.auth import verify_password

    monkeypatch.setattr(sys, "stdin", io.StringIO("hunter2\n"))
    monkeypatch.setattr(sys, "argv", ["kgreason", "hash-password", "--stdin"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code in (0, None)
    stored = capsys.readouterr().out.strip()
    assert verify_password("hunter2", stored) and "hunter2" not in stored
