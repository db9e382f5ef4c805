"""Scores: seqeval strict IOB2 entity-level NER metrics, IOB2 repair of predictions, question-model accuracy."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from finetune.data import Question


def fix_iob2(tags: Sequence[str]) -> list[str]:
    """Turn stray I-X (after O or another type) into B-X so predictions are valid IOB2."""
    out, prev = [], "O"
    for t in tags:
        if t.startswith("I-") and (prev == "O" or prev[2:] != t[2:]):
            t = "B-" + t[2:]
        out.append(t)
        prev = t
    return out


def ner_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """precision/recall/f1 overall and per entity type (seqeval, strict IOB2 entity level)."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    gold, pred = [list(g) for g in gold], [fix_iob2(p) for p in pred]
    rep = classification_report(gold, pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    per_type = {k: {"precision": round(float(v["precision"]), 4), "recall": round(float(v["recall"]), 4),
                    "f1": round(float(v["f1-score"]), 4), "support": int(v["support"])}
                for k, v in rep.items() if not k.endswith(" avg")}
    micro = rep.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
    return {"precision": round(float(micro["precision"]), 4), "recall": round(float(micro["recall"]), 4),
            "f1": round(float(micro["f1-score"]), 4), "per_type": per_type, "sentences": len(gold)}


def question_scores(gold: Sequence["Question"], pred: Sequence) -> dict:
    """entity_exact (char span equal), path_accuracy (top-1 path equal), both."""
    ent = [p.mention is not None and (p.start, p.end) == (g.start, g.end) for g, p in zip(gold, pred)]
    path = [bool(p.paths) and p.paths[0][0] == g.path for g, p in zip(gold, pred)]
    n = max(1, len(gold))
    return {"n": len(gold), "entity_exact": round(sum(ent) / n, 4), "path_accuracy": round(sum(path) / n, 4),
            "both": round(sum(e and p for e, p in zip(ent, path)) / n, 4)}
