"""Property-based checks of the loaders: any bytes end in triples or an InputError naming the file, never
another exception; gzip is bounded; sentence spans are well formed."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.documents import split_sentences
from knowledge.errors import InputError, ParseError
from knowledge.loaders import gunzip, parse_delimited, parse_file

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
LINE = st.lists(st.sampled_from(["Kismet", "directed by", "|", "\t", ",", " ", "\"", "\n", "é", "#", "x"]),
                max_size=30).map("".join)


@SETTINGS
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".txt", ".ttl", ".nt", ".json", ".xml", ".gz", ".csv"]))
def test_any_bytes_parse_or_fail_naming_the_file(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"input{suffix}"
    path.write_bytes(data)
    try:
        parsed = parse_file(path)
    except InputError as exc:
        assert str(exc).startswith(str(path)), str(exc)
    else:
        assert parsed.triples


@SETTINGS
@given(text=st.lists(LINE, max_size=12).map("\n".join))
def test_delimited_text_gives_three_part_triples_or_input_error(text: str) -> None:
    try:
        triples, _ = parse_delimited(text, Path("t.txt"))
    except InputError as exc:
        assert str(exc).startswith("t.txt")
    else:
        assert all(len(t) == 3 for t in triples)


@SETTINGS
@given(data=st.binary(max_size=4096))
def test_gzip_round_trip_and_bound(data: bytes) -> None:
    packed = gzip.compress(data)
    assert gunzip(packed, Path("x.gz")) == data
    if len(data) > 10:
        with pytest.raises(ParseError, match="expands to more than"):
            gunzip(packed, Path("x.gz"), max_bytes=10)
    if len(packed) > 20:
        with pytest.raises(ParseError, match="x.gz: (truncated|corrupt) gzip"):
            gunzip(packed[: len(packed) // 2], Path("x.gz"))


@SETTINGS
@given(text=st.text(alphabet=st.sampled_from(list("ab .!?\n\"')A1")), max_size=400))
def test_sentence_spans_are_ordered_trimmed_and_inside(text: str) -> None:
    spans = split_sentences(text)
    last = 0
    for start, end in spans:
        assert last <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip()
        last = end
    assert "".join(text.split()) == "".join("".join(text[s:e] for s, e in spans).split())
