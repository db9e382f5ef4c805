"""Evaluate the whole QA pipeline on MetaQA-format questions (`question<TAB>a1|a2`)."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.coordinator import Coordinator
from knowledge.errors import EmptyInputError, MissingFileError, ParseError
from knowledge.loaders import decode_utf8, read_bytes

_BRACKETS = re.compile(r"\[([^\]]*)\]")


@dataclass(frozen=True)
class QAItem:
    question: str
    answers: frozenset[str]
    qtype: str


def read_qa(path: str | Path, qtypes: str | Path | None = None, keep_brackets: bool = False,
            limit: int | None = None, lowercase: bool = False) -> list[QAItem]:
    """Read `question<TAB>a1|a2` lines (and an optional parallel qtype file); brackets stripped by default,
    questions lower-cased on request (as many users type them)."""
    p = Path(path)
    if not p.is_file():
        raise MissingFileError("questions file not found", path=p)
    types: list[str] | None = None
    if qtypes is not None:
        qp = Path(qtypes)
        if not qp.is_file():
            raise MissingFileError("qtypes file not found", path=qp)
        types = decode_utf8(read_bytes(qp), qp).splitlines()
    items: list[QAItem] = []
    # bytes checked first: gzip, NUL bytes and bad UTF-8 fail naming file:line
    for n, line in enumerate(decode_utf8(read_bytes(p), p).splitlines(), 1):
        if not line.strip():
            continue
        q, tab, ans = line.partition("\t")
        if not tab or not ans.strip():
            raise ParseError("expected question<TAB>answer1|answer2", path=p, line=n, column=len(q) + 1)
        if not keep_brackets:
            q = _BRACKETS.sub(r"\1", q)
        if lowercase:
            q = q.lower()
        qtype = types[n - 1].strip() if types is not None and n - 1 < len(types) else "all"
        items.append(QAItem(q, frozenset(a.strip() for a in ans.split("|") if a.strip()), qtype))
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise EmptyInputError("no questions in file", path=p)
    return items


def hop_count(qtype: str) -> int:
    """Hops of a MetaQA question type: the number of "_to_" in it (0 when unknown)."""
    return qtype.count("_to_")


def _f1(pred: set[str], gold: frozenset[str]) -> float:
    if not pred or not gold:
        return float(pred == gold)
    tp = len(pred & gold)
    if tp == 0:
        return 0.0
    prec, rec = tp / len(pred), tp / len(gold)
    return 2 * prec * rec / (prec + rec)


def evaluate_qa(coordinator: Coordinator, items: list[QAItem], batch_size: int = 256) -> dict[str, Any]:
    """Hits@1, exact match and F1 (overall, per qtype and per hop count), questions/s and per-question
    latency (its agents' time plus its share of the batched question-model time), through `run_batch`."""
    coordinator.warm_up()
    rows: list[tuple[str, float, float, float]] = []
    latencies: list[float] = []
    t0 = time.perf_counter()
    results = coordinator.run_batch([it.question for it in items], batch_size=batch_size)
    elapsed = time.perf_counter() - t0
    for it, r in zip(items, results):
        labels = [a.label for a in r.answers]
        hit = float(bool(labels) and labels[0] in it.answers)
        rows.append((it.qtype, hit, float(set(labels) == set(it.answers)), _f1(set(labels), it.answers)))
        latencies.append(r.ms)

    def agg(sel: list[tuple[str, float, float, float]]) -> dict[str, float]:
        arr = np.array([r[1:] for r in sel], dtype=float)
        return {"n": len(sel), "hits@1": round(100 * arr[:, 0].mean(), 2),
                "exact_match": round(100 * arr[:, 1].mean(), 2), "f1": round(100 * arr[:, 2].mean(), 2)}

    overall = agg(rows)
    per_qtype = {q: agg([r for r in rows if r[0] == q]) for q in sorted({r[0] for r in rows})}
    hops = sorted({hop_count(r[0]) for r in rows})
    per_hop = {f"{h}-hop" if h else "unknown": agg([r for r in rows if hop_count(r[0]) == h]) for h in hops}
    lat = np.array(latencies)
    return {**overall, "per_qtype": per_qtype, "per_hop": per_hop,
            "questions_per_second": round(len(items) / elapsed, 1),
            "latency_ms": {"p50": round(float(np.percentile(lat, 50)), 3),
                           "p95": round(float(np.percentile(lat, 95)), 3)}}
