"""`kgreason finetune distill` end to end on the tiny BERT: a teacher's soft labels train a student folder."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.finetune.test_ft_models import CONLL, args

UNLABELLED = "peter smith lives in paris. acme corp works for john blackburn.\n\nthe eu rejects london lamb.\n"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("distill")
    (d / "train.txt").write_text(CONLL.replace(".\tO", ". O"), encoding="utf-8")
    (d / "text.txt").write_text(UNLABELLED, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def teacher(tiny_bert, data):
    from finetune.ner import NerTrainer

    NerTrainer(args(epochs=6), str(tiny_bert)).run(data / "train.txt", data / "train.txt", data / "teacher")
    return data / "teacher"


def _cli(*argv: str):
    import ui.cli_finetune  # noqa: F401  (registers the verbs)
    from ui.cli import app

    return CliRunner().invoke(app, ["finetune", "distill", *argv])


def _agreement(a, b, docs) -> float:
    from finetune.ner import NerTagger

    ta, tb = NerTagger(a).tag_words(docs), NerTagger(b).tag_words(docs)
    pairs = [(x[0], y[0]) for da, db in zip(ta, tb) for sa, sb in zip(da, db) for x, y in zip(sa, sb)]
    return sum(x == y for x, y in pairs) / len(pairs)


@pytest.mark.slow
def test_ft_distill_cli_writes_a_ner_folder_that_follows_the_teacher(tiny_bert, data, teacher, tmp_path):
    from finetune.data import read_conll

    out = tmp_path / "student"
    res = _cli("--teacher", str(teacher), "--student", str(tiny_bert), "--train", str(data / "train.txt"),
               "--dev", str(data / "train.txt"), "--out", str(out), "--unlabelled", str(data / "text.txt"),
               "--alpha", "0", "--epochs", "8", "--lr", "5e-3", "--batch-size", "4", "--context", "8",
               "--max-length", "64", "--device", "cpu", "--patience", "0")
    assert res.exit_code == 0, res.output
    card = json.loads((out / "model_card.json").read_text())
    assert card["task"] == "ner" and card["base"] == str(tiny_bert)
    dist = card["distillation"]
    assert dist["teacher"] == str(teacher.resolve()) and dist["alpha"] == 0.0 and dist["temperature"] == 2.0
    assert len(card["data"]["train"]["sha256"]) == 64 and len(card["data"]["unlabelled"]["sha256"]) == 64
    assert card["data"]["unlabelled"]["documents"] == 2 and card["command"].startswith("kgreason")
    assert len(card["dev_metrics"]) == 8
    docs = [[s.tokens for s in read_conll(data / "train.txt").sentences[:3]]]
    # trained on the teacher's soft labels only (alpha 0), the student tags as its teacher does;
    # the untrained student (a seeded fresh head) does not
    fresh = tmp_path / "fresh"
    res = _cli("--teacher", str(teacher), "--student", str(tiny_bert), "--train", str(data / "train.txt"),
               "--dev", str(data / "train.txt"), "--out", str(fresh), "--max-steps", "1", "--lr", "1e-9",
               "--device", "cpu", "--context", "8", "--max-length", "64")
    assert res.exit_code == 0, res.output
    assert _agreement(teacher, out, docs) >= 0.9
    assert _agreement(teacher, fresh, docs) < 0.7
    # a saved NER folder as the student (it keeps its base and adapter and trains on), two teachers (an ensemble)
    again = tmp_path / "again"
    res = _cli("--teacher", str(teacher), "--teacher", str(out), "--student", str(out), "--train", str(data / "train.txt"),
               "--dev", str(data / "train.txt"), "--out", str(again), "--epochs", "1", "--device", "cpu",
               "--context", "8", "--max-length", "64", "--batch-size", "4")
    assert res.exit_code == 0, res.output
    card2 = json.loads((again / "model_card.json").read_text())
    assert card2["base"] == str(tiny_bert) and card2["distillation"]["student_init"] == str(out.resolve())
    assert [t["path"] for t in card2["distillation"]["teachers"]] == [str(teacher.resolve()), str(out.resolve())]


def test_ft_distill_refuses_bad_input(tmp_path, data):
    res = _cli("--teacher", str(tmp_path), "--train", str(data / "train.txt"), "--dev", str(data / "train.txt"),
               "--out", str(tmp_path / "o"))
    assert res.exit_code == 2 and "not a NER model folder" in res.output and "Traceback" not in res.output
    res = _cli("--teacher", str(tmp_path), "--train", str(data / "train.txt"), "--dev", str(data / "train.txt"),
               "--out", str(tmp_path / "o"), "--alpha", "1.5")
    assert res.exit_code == 2 and "--alpha" in res.output


@pytest.mark.slow
def test_ft_distill_refuses_bad_text_and_foreign_tags(tiny_bert, data, teacher, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nbad \xff byte\n")
    common = ["--teacher", str(teacher), "--student", str(tiny_bert), "--dev", str(data / "train.txt"),
              "--out", str(tmp_path / "o"), "--device", "cpu", "--max-steps", "1"]
    res = _cli(*common, "--train", str(data / "train.txt"), "--unlabelled", str(bad))
    assert res.exit_code == 2 and f"{bad}:2" in res.output and "UTF-8" in res.output
    foreign = tmp_path / "foreign.txt"
    foreign.write_text("paris B-CITY\nis O\n\n", encoding="utf-8")
    res = _cli(*common, "--train", str(foreign))
    assert res.exit_code == 2 and f"{foreign}:1" in res.output and "B-CITY" in res.output
