"""Split plain-text and Markdown files into sentences and passages with character offsets, streaming.

Offsets are character positions in the decoded file (a UTF-8 BOM is not counted), so
`content[p.start:p.end]` is the passage as it stands in the file (newlines shown as spaces in `p.text`).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.errors import EmptyInputError, EncodingError, MissingFileError

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text", ".rst", "")
_ABBREVIATIONS = frozenset("mr mrs ms dr prof sr jr st mt vs etc inc ltd co corp no fig e.g i.e u.s u.k jan feb "
                           "mar apr jun jul aug sep sept oct nov dec gen col lt sgt rev".split())
# a sentence ends at . ! ? (plus closing quotes/brackets) followed by space and an upper-case letter, digit or quote
# (linear time: a match starts only at the first mark of a run, and possessive runs never backtrack)
_SENT_END = re.compile(r"(?<![.!?])[.!?]++[\"'\u2019\u201d)\]]*+\s++(?=[\"'\u2018\u201c(\[]?[A-Z0-9\u00C0-\u024F])")
_SPACES = str.maketrans({"\n": " ", "\r": " ", "\t": " "})
_HEADING = re.compile(r"^\s{0,3}(#{1,6}\s|={3,}\s*$|-{3,}\s*$|```|~~~)")


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences from one paragraph; `start`/`end` are character offsets in the file."""

    text: str
    start: int
    end: int
    line: int  # 1-based line where the passage starts
    sentences: tuple[tuple[int, int], ...] = ()  # (start, end) file offsets of each sentence


@dataclass
class DocumentSplit:
    """What `DocumentSplitter.run` read from one file."""

    path: str
    passages: list[Passage] = field(default_factory=list)
    chars: int = 0
    lines: int = 0


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of `text`, shifted by `offset`; whitespace is not included."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENT_END.finditer(text):
        cut = m.start() + len(m.group(0).rstrip())
        word = text[max(start, text.rfind(" ", start, m.start()) + 1):m.start()].lower().rstrip(".")
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue  # "Dr. Smith", "J. Smith"
        _append_span(text, start, cut, offset, spans)
        start = m.end()
    _append_span(text, start, len(text), offset, spans)
    return spans


def _append_span(text: str, start: int, end: int, offset: int, spans: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece.rstrip())
    if trail > lead:
        spans.append((offset + start + lead, offset + start + trail))


class DocumentSplitter:
    """Reads a UTF-8 text/Markdown file line by line and yields passages of at most ~`max_chars` characters."""

    def __init__(self, max_chars: int = 600, max_buffer_chars: int = 20_000) -> None:
        self.max_chars = max_chars
        self.max_buffer_chars = max_buffer_chars

    def run(self, path: str | Path) -> DocumentSplit:
        """Split a whole file (passages kept in memory; use `iter_passages` to stream)."""
        split = DocumentSplit(str(path))
        for passage in self.iter_passages(path, stats=split):
            split.passages.append(passage)
        return split

    def iter_passages(self, path: str | Path, stats: DocumentSplit | None = None) -> Iterator[Passage]:
        """Yield passages in file order; raises InputError subclasses naming `file:line[:col]`."""
        path = Path(path)
        if not path.is_file():
            raise MissingFileError("no such file", path)
        buf: list[tuple[str, int, int]] = []  # (line text, char offset, line number) of the open paragraph
        offset, line_no, seen_text = 0, 0, False
        try:
            fh = path.open("rb")
        except OSError as exc:
            raise MissingFileError(f"cannot read ({exc.strerror})", path) from exc
        with fh:
            for raw in fh:
                line_no += 1
                if b"\x00" in raw:
                    raise EncodingError("binary file (NUL byte); expected UTF-8 text", path, line_no,
                                        raw.index(b"\x00") + 1)
                if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    col = len(raw[:exc.start].decode("utf-8", errors="replace")) + 1
                    raise EncodingError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", path, line_no,
                                        col) from exc
                if text.strip():
                    seen_text = True
                if not text.strip() or _HEADING.match(text):
                    yield from self._flush(buf, final=True)
                    buf = []
                    if text.strip():  # a heading is a passage of its own
                        buf.append((text, offset, line_no))
                        yield from self._flush(buf, final=True)
                        buf = []
                else:
                    buf.append((text, offset, line_no))
                    if sum(len(t) for t, _, _ in buf) > self.max_buffer_chars:
                        buf = yield from self._flush(buf, final=False)
                offset += len(text)
            yield from self._flush(buf, final=True)
        if stats is not None:
            stats.chars, stats.lines = offset, line_no
        if not seen_text:
            raise EmptyInputError("empty file (no text)", path)

    def _flush(self, buf: list[tuple[str, int, int]], final: bool) -> Iterator[Passage]:
        """Pack the paragraph's sentences into passages; when not final, keep the last sentence open.

        Returns (via StopIteration value) the lines still open."""
        if not buf:
            return []
        base = buf[0][1]
        text = "".join(t for t, _, _ in buf)
        sentences = split_sentences(text, base)
        keep_from = len(text)
        if not final and len(sentences) > 1:
            keep_from = sentences[-1][0] - base
            sentences = sentences[:-1]
        for group in self._pack(sentences, text, base):
            s, e = group[0][0], group[-1][1]
            yield Passage(_clean(text[s - base:e - base]), s, e, _line_of(buf, s), tuple(group))
        if final or keep_from >= len(text):
            return []
        rest = text[keep_from:]
        start = base + keep_from
        return [(rest, start, _line_of(buf, start))]

    def _pack(self, sentences: list[tuple[int, int]], text: str, base: int) -> Iterator[list[tuple[int, int]]]:
        group: list[tuple[int, int]] = []
        for s, e in _split_long(sentences, text, base, self.max_chars):
            if group and e - group[0][0] > self.max_chars:
                yield group
                group = []
            group.append((s, e))
        if group:
            yield group


def _split_long(sentences: list[tuple[int, int]], text: str, base: int, max_chars: int) -> Iterator[tuple[int, int]]:
    """Cut sentences longer than max_chars at whitespace."""
    for s, e in sentences:
        while e - s > max_chars:
            cut = text.rfind(" ", s - base, s - base + max_chars)
            cut = cut + base if cut > s - base else s + max_chars
            yield s, cut
            s = cut
            while s < e and text[s - base].isspace():
                s += 1
        if e > s:
            yield s, e


def _line_of(buf: list[tuple[str, int, int]], offset: int) -> int:
    line = buf[0][2]
    for _, start, no in buf:
        if start <= offset:
            line = no
        else:
            break
    return line


def _clean(text: str) -> str:
    """Line breaks and tabs as spaces; the length is kept so offsets inside the text map back to the file."""
    return text.translate(_SPACES)

