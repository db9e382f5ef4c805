"""Readers for NER data (CoNLL columns, JSONL) and MetaQA-style questions, with file:line validation."""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from finetune.errors import DataError

_TAG = re.compile(r"^(?:O|[BI]-\S+)$")
WORD = re.compile(r"\w+(?:[-'’.&]\w+)*|[^\w\s]")


@dataclass
class NerSentence:
    tokens: list[str]
    tags: list[str]
    doc: int = 0
    line: int = 0


@dataclass
class NerCorpus:
    path: str
    sentences: list[NerSentence]
    scheme: str  # scheme found in the file: "iob1" or "iob2"; tags are always IOB2 after reading
    repaired: int = 0

    @property
    def labels(self) -> list[str]:
        return sorted({t for s in self.sentences for t in s.tags}, key=lambda t: (t != "O", t[2:], t[:1]))

    def documents(self) -> list[list[NerSentence]]:
        docs: dict[int, list[NerSentence]] = {}
        for s in self.sentences:
            docs.setdefault(s.doc, []).append(s)
        return list(docs.values())


@dataclass
class Question:
    text: str          # brackets removed
    start: int         # char span of the topic entity in `text`
    end: int
    path: str | None   # relation-path label (qtype), when a qtype file was given
    answers: list[str] = field(default_factory=list)
    line: int = 0
    raw: str = ""      # the original line's question part (with brackets)

    @property
    def entity(self) -> str:
        return self.text[self.start:self.end]


def split_words(text: str, cuts: Iterable[int] = ()) -> list[tuple[str, int, int]]:
    """Words with char offsets; optional `cuts` force word boundaries (e.g. at an entity span)."""
    cut = sorted(set(cuts))
    out: list[tuple[str, int, int]] = []
    for m in WORD.finditer(text):
        s, e = m.span()
        inner = [c for c in cut if s < c < e]
        for a, b in zip([s, *inner], [*inner, e]):
            if text[a:b].strip():
                out.append((text[a:b], a, b))
    return out


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read file ({exc.strerror})", path, 0) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataError(f"not UTF-8 (byte 0x{raw[exc.start]:02x})", path, line, col) from None


def _check_tag(path: Path, line: int, tag: str, labels: Sequence[str] | None, col: int | None = None) -> None:
    if not _TAG.match(tag):
        hint = " (IOBES/BILOU are not supported; use IOB2)" if tag[:2] in ("E-", "S-", "L-", "U-") else ""
        raise DataError(f"malformed tag {tag!r}: expected O, B-TYPE or I-TYPE{hint}", path, line, col)
    if labels is not None and tag not in labels:
        raise DataError(f"unknown tag {tag!r} (known: {', '.join(labels)})", path, line, col)


def _starts_wrongly(prev: str, tag: str) -> bool:
    return tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:])


def _normalise(path: Path, sents: list[NerSentence], lines: list[list[int]], scheme: str, repair: bool) -> tuple[str, int]:
    """Detect IOB1/IOB2, convert to IOB2 in place; report (or repair) bad I- starts in IOB2 data."""
    bad_i = any(_starts_wrongly(p, t) for s in sents for p, t in zip(["O", *s.tags], s.tags))
    iob2_b = any(t.startswith("B-") and (p == "O" or p[2:] != t[2:]) for s in sents for p, t in zip(["O", *s.tags], s.tags))
    found = scheme if scheme != "auto" else ("iob1" if bad_i and not iob2_b else "iob2")
    fixed = 0
    for s, ls in zip(sents, lines):
        prev = "O"
        for i, tag in enumerate(s.tags):
            if _starts_wrongly(prev, tag):
                if found == "iob2" and not repair:
                    raise DataError(f"tag {tag!r} follows {prev!r}: an IOB2 entity must start "
                                    "with B- (pass repair=True / --repair to fix)", path, ls[i])
                s.tags[i] = "B-" + tag[2:]
                fixed += found == "iob2"
            prev = tag
    return found, fixed


def read_conll(path: str | Path, *, scheme: str = "auto", repair: bool = False,
               labels: Sequence[str] | None = None) -> NerCorpus:
    """CoNLL columns: token first, tag last, any columns between; -DOCSTART- splits documents, blank lines sentences."""
    path = Path(path)
    text = _decode(path)
    sents: list[NerSentence] = []
    lines: list[list[int]] = []
    toks: list[str] = []
    tags: list[str] = []
    tag_lines: list[int] = []
    ncols: int | None = None
    doc = 0
    seen_tokens = False

    def flush(lineno: int) -> None:
        if toks:
            sents.append(NerSentence(list(toks), list(tags), doc, lineno))
            lines.append(list(tag_lines))
            toks.clear(), tags.clear(), tag_lines.clear()

    for lineno, line in enumerate(text.splitlines(), 1):
        cols = line.split()
        if not cols:
            flush(tag_lines[0] if tag_lines else lineno)
            continue
        if cols[0] == "-DOCSTART-":
            flush(tag_lines[0] if tag_lines else lineno)
            if seen_tokens or sents:
                doc += 1
            continue
        if len(cols) < 2:
            raise DataError(f"expected a token and a tag, found {len(cols)} column(s)", path, lineno)
        if ncols is None:
            ncols = len(cols)
        elif len(cols) != ncols:
            raise DataError(f"expected {ncols} columns like the first token line, found {len(cols)}", path, lineno)
        col = len(line) - len(line.lstrip()) + line.strip().rfind(cols[-1]) + 1
        _check_tag(path, lineno, cols[-1], None, col)
        seen_tokens = True
        toks.append(cols[0]), tags.append(cols[-1]), tag_lines.append(lineno)
    if toks:
        sents.append(NerSentence(list(toks), list(tags), doc, tag_lines[0]))
        lines.append(list(tag_lines))
    return _corpus(path, sents, lines, scheme, repair, labels, "empty file: no token lines")


def read_jsonl(path: str | Path, *, scheme: str = "auto", repair: bool = False,
               labels: Sequence[str] | None = None) -> NerCorpus:
    """One JSON object a line: {"tokens": [...], "tags": [...], "doc": optional document id}."""
    path = Path(path)
    text = _decode(path)
    sents: list[NerSentence] = []
    lines: list[list[int]] = []
    doc_ids: dict[object, int] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON: {exc.msg}", path, lineno, exc.colno) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("tokens"), list) or not isinstance(obj.get("tags"), list):
            raise DataError('expected an object with "tokens" and "tags" lists', path, lineno)
        toks, tags = obj["tokens"], obj["tags"]
        if not all(isinstance(x, str) and x.strip() for x in toks + tags):
            raise DataError("tokens and tags must be non-empty strings", path, lineno)
        if len(toks) != len(tags):
            raise DataError(f"{len(toks)} tokens but {len(tags)} tags", path, lineno)
        if not toks:
            continue
        for t in tags:
            _check_tag(path, lineno, t, None)
        doc = doc_ids.setdefault(obj.get("doc", len(doc_ids)) if "doc" in obj else ("line", lineno), len(doc_ids))
        sents.append(NerSentence(list(toks), list(tags), doc, lineno))
        lines.append([lineno] * len(toks))
    return _corpus(path, sents, lines, scheme, repair, labels, "empty file: no sentences")


def _corpus(path: Path, sents: list[NerSentence], lines: list[list[int]], scheme: str, repair: bool,
            labels: Sequence[str] | None, empty: str) -> NerCorpus:
    """The readers' common end: refuse an empty file, convert/check the tagging scheme, check the label set."""
    if not sents:
        raise DataError(empty, path, 1)
    found, fixed = _normalise(path, sents, lines, scheme, repair)
    if labels is not None:
        for s, ls in zip(sents, lines):
            for t, ln in zip(s.tags, ls):
                _check_tag(path, ln, t, labels)
    return NerCorpus(str(path), sents, found, fixed)


def read_ner(path: str | Path, **kw) -> NerCorpus:
    """CoNLL or JSONL by extension (.jsonl/.json -> JSONL)."""
    if Path(path).suffix.lower() in (".jsonl", ".json"):
        return read_jsonl(path, **kw)
    return read_conll(path, **kw)


def parse_bracketed(path: str | Path, lineno: int, q: str) -> tuple[str, int, int]:
    """`what did [X] do` -> ("what did X do", start, end)."""
    opens, closes = q.count("["), q.count("]")
    if opens == 0 or closes == 0:
        raise DataError("no [bracketed] topic entity in the question", path, lineno, 1)
    if opens > 1 or closes > 1:
        raise DataError("more than one [bracketed] entity in the question", path, lineno, q.find("[", q.find("[") + 1) + 1
                        if opens > 1 else q.find("]", q.find("]") + 1) + 1)
    s, e = q.index("["), q.index("]")
    if e < s:
        raise DataError("']' before '['", path, lineno, e + 1)
    if not q[s + 1:e].strip():
        raise DataError("empty [] entity", path, lineno, s + 1)
    text = q[:s] + q[s + 1:e] + q[e + 1:]
    return text, s, e - 1


def read_questions(path: str | Path, qtypes: str | Path | None = None) -> list[Question]:
    """`question [entity] rest<TAB>a1|a2` lines, plus an optional parallel file of path labels (one a line)."""
    path = Path(path)
    rows = [(n, ln) for n, ln in enumerate(_decode(path).splitlines(), 1) if ln.strip()]
    if not rows:
        raise DataError("empty file: no questions", path, 1)
    out = []
    for lineno, line in rows:
        q, _, ans = line.partition("\t")
        text, s, e = parse_bracketed(path, lineno, q.strip())
        out.append(Question(text, s, e, None, [a for a in ans.strip().split("|") if a], lineno, q.strip()))
    if qtypes is not None:
        qpath = Path(qtypes)
        labels = [ln.strip() for ln in _decode(qpath).splitlines()]
        while labels and not labels[-1]:
            labels.pop()
        if len(labels) != len(out):
            raise DataError(f"{len(labels)} path labels but {path} has {len(out)} questions", qpath,
                            min(len(labels), len(out)) + 1)
        for n, (qu, lab) in enumerate(zip(out, labels), 1):
            if not lab or any(c.isspace() for c in lab):
                raise DataError(f"bad path label {lab!r}", qpath, n)
            qu.path = lab
    return out


def write_questions(questions: Sequence[Question], path: str | Path) -> tuple[Path, Path | None]:
    """Write `question [entity] rest<TAB>answers` (+ `<stem>_qtype.txt` when labels are known)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{q.text[:q.start]}[{q.entity}]{q.text[q.end:]}\t{'|'.join(q.answers)}" for q in questions]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if all(q.path for q in questions):
        qpath = path.with_name(path.stem + "_qtype" + path.suffix)
        qpath.write_text("\n".join(q.path or "" for q in questions) + "\n", encoding="utf-8")
        return path, qpath
    return path, None


def split_questions(questions: Sequence[Question], holdout: float, seed: int = 0) -> tuple[list[Question], list[Question]]:
    """Seeded split into (train, holdout), stratified by path label so every path keeps its share."""
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout fraction must be in (0, 1), got {holdout}")
    rng = random.Random(seed)
    groups: dict[str | None, list[Question]] = {}
    for q in questions:
        groups.setdefault(q.path, []).append(q)
    train, held = [], []
    for key in sorted(groups, key=str):
        g = list(groups[key])
        rng.shuffle(g)
        k = round(len(g) * holdout)
        held += g[:k]
        train += g[k:]
    rng.shuffle(train), rng.shuffle(held)
    return train, held
