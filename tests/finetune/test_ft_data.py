"""Readers: IOB1/IOB2 handling and file:line errors for each kind of bad input."""
from __future__ import annotations

import pytest

from finetune.data import read_conll, read_jsonl, read_questions, split_questions
from finetune.errors import DataError


def write(tmp_path, name, text, mode="w"):
    p = tmp_path / name
    p.write_bytes(text) if isinstance(text, bytes) else p.write_text(text, encoding="utf-8")
    return p


def test_ft_conll_documents_and_columns(tmp_path):
    p = write(tmp_path, "a.txt", "-DOCSTART- -X- O\n\nEU NNP B-ORG\nrejects VBZ O\n\nPeter NNP B-PER\n"
              "Blackburn NNP I-PER\n-DOCSTART- -X- O\n\nParis NNP B-LOC\n")
    c = read_conll(p)
    assert [s.tokens for s in c.sentences] == [["EU", "rejects"], ["Peter", "Blackburn"], ["Paris"]]
    assert [s.doc for s in c.sentences] == [0, 0, 1]
    assert c.scheme == "iob2" and c.labels[0] == "O"


def test_ft_iob1_converted_to_iob2(tmp_path):
    p = write(tmp_path, "iob1.txt", "Peter I-PER\nBlackburn I-PER\nParis I-LOC\nBerlin B-LOC\nx O\nlamb I-MISC\n")
    c = read_conll(p)
    assert c.scheme == "iob1"
    assert c.sentences[0].tags == ["B-PER", "I-PER", "B-LOC", "B-LOC", "O", "B-MISC"]


@pytest.mark.parametrize("text,line,needle", [
    ("EU B-ORG\nrejects\n", 2, "column"),
    ("EU NNP B-ORG\nrejects O\n", 2, "expected 3 columns"),
    ("EU S-ORG\n", 1, "malformed tag"),
    ("EU B-ORG\n\nthe O\nlamb I-MISC\n", 4, "must start with B-"),
    ("\n\n", 1, "empty file"),
])
def test_ft_conll_errors_name_file_and_line(tmp_path, text, line, needle):
    p = write(tmp_path, "bad.txt", text)
    with pytest.raises(DataError) as e:
        read_conll(p)
    assert f"{p}:{line}" in str(e.value) and needle in str(e.value)
    assert e.value.line == line


def test_ft_repair_fixes_stray_i(tmp_path):
    p = write(tmp_path, "r.txt", "EU B-ORG\n\nthe O\nlamb I-MISC\n")
    c = read_conll(p, repair=True)
    assert c.sentences[1].tags == ["O", "B-MISC"] and c.repaired == 1


def test_ft_unknown_tag_against_label_set(tmp_path):
    p = write(tmp_path, "u.txt", "EU B-ORG\nParis B-CITY\n")
    with pytest.raises(DataError, match=r"u\.txt:2: unknown tag 'B-CITY'"):
        read_conll(p, labels=["O", "B-ORG", "I-ORG"])


def test_ft_non_utf8_line_and_column(tmp_path):
    p = write(tmp_path, "l1.txt", b"EU B-ORG\nM\xfcnchen B-LOC\n")
    with pytest.raises(DataError, match=r"l1\.txt:2:2: not UTF-8"):
        read_conll(p)


def test_ft_jsonl(tmp_path):
    p = write(tmp_path, "a.jsonl", '{"tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"]}\n')
    assert read_jsonl(p).sentences[0].tags == ["B-ORG", "O"]
    bad = write(tmp_path, "b.jsonl", '{"tokens": ["EU"], "tags": ["B-ORG"]}\n{"tokens": ["a"], "tags": []}\n')
    with pytest.raises(DataError, match=r"b\.jsonl:2: 1 tokens but 0 tags"):
        read_jsonl(bad)
    broken = write(tmp_path, "c.jsonl", '{"tokens": [\n')
    with pytest.raises(DataError, match=r"c\.jsonl:1:\d+: invalid JSON"):
        read_jsonl(broken)


def test_ft_questions(tmp_path):
    p = write(tmp_path, "q.txt", "what movies did [Tom Hanks] act in\tBig|Splash\nwho directed [Heat]\tMichael Mann\n")
    t = write(tmp_path, "q_qtype.txt", "actor_to_movie\nmovie_to_director\n")
    qs = read_questions(p, t)
    assert qs[0].text == "what movies did Tom Hanks act in" and qs[0].entity == "Tom Hanks"
    assert qs[0].answers == ["Big", "Splash"] and qs[1].path == "movie_to_director"
    short = write(tmp_path, "s.txt", "actor_to_movie\n")
    with pytest.raises(DataError, match=r"s\.txt:2: 1 path labels"):
        read_questions(p, short)


@pytest.mark.parametrize("line,needle", [("who directed Heat\tx", "no "),
                                         ("is [a] like [b]\tx", "more than one")])
def test_ft_question_bracket_errors(tmp_path, line, needle):
    p = write(tmp_path, "q.txt", "who directed [Heat]\tMichael Mann\n" + line + "\n")
    with pytest.raises(DataError, match=rf"q\.txt:2:\d+: {needle}"):
        read_questions(p)


def test_ft_split_is_seeded_and_disjoint(tmp_path):
    p = write(tmp_path, "q.txt", "".join(f"who directed [Film {i}]\tX\n" for i in range(50)))
    qs = read_questions(p)
    a, b = split_questions(qs, 0.2, seed=3)
    a2, b2 = split_questions(qs, 0.2, seed=3)
    assert len(b) == 10 and [q.text for q in b] == [q.text for q in b2]
    assert not {q.text for q in a} & {q.text for q in b}
