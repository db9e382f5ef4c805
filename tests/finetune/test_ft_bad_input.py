"""Every kind of bad training/evaluation input names file:line (and column when known); nothing half-read."""
from __future__ import annotations

import pytest

from finetune.data import read_conll, read_jsonl, read_ner, read_questions
from finetune.errors import DataError


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_bytes(text) if isinstance(text, bytes) else p.write_text(text, encoding="utf-8")
    return p


def raises_at(fn, path, line, needle, col=None):
    with pytest.raises(DataError) as e:
        fn(path)
    where = f"{path}:{line}" + (f":{col}:" if col is not None else ":")
    assert str(e.value).startswith(where), str(e.value)
    assert needle in str(e.value) and e.value.line == line and e.value.path == str(path)
    if col is not None:
        assert e.value.column == col
    return e.value


@pytest.mark.parametrize("text,line,needle", [
    ("EU NNP B-ORG\nrejects NNP VBZ O\n", 2, "expected 3 columns"),     # too many columns
    ("EU NNP B-ORG\n\nrejects O\n", 3, "expected 3 columns"),           # too few, after a blank line
    ("EU\n", 1, "found 1 column"),                                      # token without tag
])
def test_ft_bad_conll_columns(tmp_path, text, line, needle):
    raises_at(read_conll, write(tmp_path, "cols.txt", text), line, needle)


@pytest.mark.parametrize("tag,needle", [("E-ORG", "IOBES"), ("B_ORG", "malformed"), ("b-org", "malformed"),
                                        ("B-", "malformed"), ("X", "malformed")])
def test_ft_malformed_tag_has_line_and_column(tmp_path, tag, needle):
    p = write(tmp_path, "tags.txt", f"EU B-ORG\nrejects  {tag}\n")
    raises_at(read_conll, p, 2, needle, col=10)


def test_ft_unknown_tag_in_jsonl_against_model_labels(tmp_path):
    p = write(tmp_path, "u.jsonl", '{"tokens": ["EU"], "tags": ["B-ORG"]}\n{"tokens": ["Paris"], "tags": ["B-CITY"]}\n')
    raises_at(lambda f: read_jsonl(f, labels=["O", "B-ORG", "I-ORG"]), p, 2, "unknown tag 'B-CITY'")


def test_ft_i_after_nothing_in_iob2(tmp_path):
    """A sentence opening with I- in an IOB2 file (one that uses B- to start entities) is an error ..."""
    text = "EU B-ORG\nrejects O\n\nlamb I-MISC\nban O\n"
    p = write(tmp_path, "iob2.txt", text)
    raises_at(read_conll, p, 4, "follows 'O': an IOB2 entity must start with B-")
    c = read_conll(p, repair=True)  # ... and is repaired on request
    assert c.scheme == "iob2" and c.repaired == 1 and c.sentences[1].tags == ["B-MISC", "O"]


def test_ft_i_after_other_type_in_iob2_jsonl(tmp_path):
    p = write(tmp_path, "t.jsonl", '{"tokens": ["EU", "x"], "tags": ["B-ORG", "O"]}\n'
                                   '{"tokens": ["EU", "lamb"], "tags": ["B-ORG", "I-MISC"]}\n')
    raises_at(read_jsonl, p, 2, "follows 'B-ORG'")
    assert read_jsonl(p, repair=True).sentences[1].tags == ["B-ORG", "B-MISC"]


def test_ft_iob1_file_is_converted_not_rejected(tmp_path):
    p = write(tmp_path, "iob1.txt", "lamb I-MISC\nEU I-ORG\n")
    assert read_conll(p).sentences[0].tags == ["B-MISC", "B-ORG"]
    raises_at(lambda f: read_conll(f, scheme="iob2"), p, 1, "must start with B-")


@pytest.mark.parametrize("name,text", [("e.txt", ""), ("e2.txt", "\n  \n"), ("e3.txt", "-DOCSTART- -X- O\n\n"),
                                       ("e.jsonl", ""), ("e2.jsonl", '\n{"tokens": [], "tags": []}\n')])
def test_ft_empty_files(tmp_path, name, text):
    raises_at(read_ner, write(tmp_path, name, text), 1, "empty file")


@pytest.mark.parametrize("name", ["l1.txt", "l1.jsonl"])
def test_ft_non_utf8_anywhere(tmp_path, name):
    good = "EU B-ORG\n" if name.endswith(".txt") else '{"tokens": ["EU"], "tags": ["B-ORG"]}\n'
    p = write(tmp_path, name, good.encode() * 2 + b"ab\xe9\n")
    err = raises_at(read_ner, p, 3, "not UTF-8 (byte 0xe9)", col=3)
    assert err.column == 3


@pytest.mark.parametrize("line,needle,col", [
    ('{"tokens": ["EU"], "tags": ["B-ORG"]', "invalid JSON", 37),
    ('["EU", "B-ORG"]', 'expected an object with "tokens" and "tags"', None),
    ('{"tokens": ["EU"]}', 'expected an object with "tokens" and "tags"', None),
    ('{"tokens": ["EU", ""], "tags": ["B-ORG", "O"]}', "non-empty strings", None),
    ('{"tokens": ["EU", 3], "tags": ["B-ORG", "O"]}', "non-empty strings", None),
    ('{"tokens": ["EU", "x"], "tags": ["B-ORG"]}', "2 tokens but 1 tags", None),
    ('{"tokens": ["EU"], "tags": ["S-ORG"]}', "malformed tag 'S-ORG'", None),
])
def test_ft_jsonl_errors(tmp_path, line, needle, col):
    p = write(tmp_path, "bad.jsonl", '{"tokens": ["ok"], "tags": ["O"]}\n\n' + line + "\n")
    raises_at(read_jsonl, p, 3, needle, col=col)


@pytest.mark.parametrize("q,needle,col", [
    ("who directed Heat", "no [bracketed] topic entity", 1),
    ("who directed [Heat", "no [bracketed] topic entity", 1),
    ("is [a] like [b]", "more than one", 13),
    ("is [a]] like", "more than one", 7),
    ("who directed ]Heat[", "']' before '['", 14),
    ("who directed [ ]", "empty [] entity", 14),
])
def test_ft_metaqa_bracket_errors(tmp_path, q, needle, col):
    p = write(tmp_path, "qa.txt", "who directed [Heat]\tMichael Mann\n\n" + q + "\tx\n")
    raises_at(read_questions, p, 3, needle, col=col)


def test_ft_metaqa_qtype_errors(tmp_path):
    p = write(tmp_path, "qa.txt", "who directed [Heat]\tMichael Mann\nwhat did [Tom] act in\tBig\n")
    raises_at(lambda f: read_questions(p, f), write(tmp_path, "a_qtype.txt", "movie_to_director\n"), 2, "1 path labels")
    raises_at(lambda f: read_questions(p, f), write(tmp_path, "b_qtype.txt", "movie_to_director\nbad label\n"), 2,
              "bad path label")
    raises_at(read_questions, write(tmp_path, "empty.txt", "\n"), 1, "empty file")
    raises_at(read_questions, write(tmp_path, "l1q.txt", b"who directed [H\xe9at]\tx\n"), 1, "not UTF-8", col=16)


@pytest.mark.parametrize("verb", ["ner", "questions"])
def test_ft_evaluate_cli_bad_data_exits_2(tmp_path, verb):
    from typer.testing import CliRunner

    from ui.cli import app

    bad = write(tmp_path, "bad.txt", "EU B-ORG\nrejects\n" if verb == "ner" else "who directed Heat\tx\n")
    from pathlib import Path

    model = Path(__file__).resolve().parents[2] / "finetune" / "models" / verb
    res = CliRunner().invoke(app, ["evaluate", verb, "--model", str(model), "--data", str(bad)])
    assert res.exit_code == 2
    assert f"bad.txt:{2 if verb == 'ner' else 1}" in res.output + str(getattr(res, "stderr", ""))


@pytest.mark.parametrize("args", [["--profile", "quick"], ["--int8", "half"], ["--pack", "-1"]])
def test_ft_evaluate_ner_cli_bad_settings_exit_2(tmp_path, args):
    from typer.testing import CliRunner

    from ui.cli import app

    data = write(tmp_path, "ok.txt", "EU B-ORG\nrejects O\n")
    res = CliRunner().invoke(app, ["evaluate", "ner", "--data", str(data), *args])
    assert res.exit_code == 2
    assert args[0] in res.output + str(getattr(res, "stderr", ""))
