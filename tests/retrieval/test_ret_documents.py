"""Document splitting: sentences, passages with offsets back into the file, and refusals of bad files."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.documents import DocumentSplitter, split_sentences
from knowledge.errors import EmptyInputError, EncodingError, InputError

DOC = """# Kismet

Kismet is a 1944 film. It was directed by William Dieterle and starred
Marlene Dietrich! Dr. Smith said it was fine. Was it?

Second paragraph with\tno full stop
"""


def test_ret_sentences_and_abbreviations() -> None:
    text = "Kismet is a film. Dr. Smith liked it. J. Smith did not! Why?"
    spans = split_sentences(text, offset=10)
    got = [text[s - 10:e - 10] for s, e in spans]
    assert got == ["Kismet is a film.", "Dr. Smith liked it.", "J. Smith did not!", "Why?"]


def test_ret_passages_offsets_point_into_file(tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text(DOC, encoding="utf-8")
    split = DocumentSplitter(max_chars=80).run(path)
    content = path.read_text(encoding="utf-8")
    assert split.lines == DOC.count("\n") and split.chars == len(content)
    assert split.passages[0].text == "# Kismet" and split.passages[0].line == 1
    for p in split.passages:
        assert len(p.text) == p.end - p.start
        assert p.text == content[p.start:p.end].replace("\n", " ").replace("\t", " ")
        assert len(p.text) <= 80
        for s, e in p.sentences:
            assert p.start <= s < e <= p.end
    joined = " ".join(p.text for p in split.passages)
    assert "William Dieterle and starred Marlene Dietrich!" in joined
    assert split.passages[-1].text == "Second paragraph with no full stop"
    assert split.passages[-1].line == 6
    assert [p.line for p in split.passages[1:4]] == [3, 3, 4]


def test_ret_long_sentence_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("word " * 500, encoding="utf-8")
    passages = DocumentSplitter(max_chars=100).run(path).passages
    assert len(passages) >= 25 and all(len(p.text) <= 100 for p in passages)


def test_ret_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(EmptyInputError, match="empty.txt"):
        DocumentSplitter().run(path)


def test_ret_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"hello\nwor\x00ld\n")
    with pytest.raises(EncodingError, match=r"blob.bin:2:4: binary"):
        DocumentSplitter().run(path)


def test_ret_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("first line\ncaf\u00e9 au lait\n".encode("latin-1"))
    with pytest.raises(EncodingError, match=r"latin1.txt:2:4: not UTF-8"):
        DocumentSplitter().run(path)


def test_ret_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.txt"):
        DocumentSplitter().run(tmp_path / "nope.txt")


@pytest.mark.slow
def test_ret_large_file_streams(tmp_path: Path) -> None:
    """A 50 MB file is read passage by passage: the first passages arrive before the file is read."""
    path = tmp_path / "big.txt"
    para = ("Temuera Morrison starred in Once Were Warriors. " * 8 + "\n\n").encode()
    with path.open("wb") as fh:
        for _ in range(50 * 1024 * 1024 // len(para) + 1):
            fh.write(para)
    it = DocumentSplitter().iter_passages(path)
    first = next(it)
    assert first.start == 0 and "Temuera Morrison" in first.text
    count = 1 + sum(1 for _ in it)
    assert count > 100_000
