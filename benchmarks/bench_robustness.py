"""QA robustness to how people type: the same MetaQA-format questions as written, lower-cased, and with a
one-letter typo in the topic entity's name, side by side through the same pipeline. Prints JSON.

    python benchmarks/bench_robustness.py --questions artifacts/metaqa-split/holdout.txt \
        --qtypes artifacts/metaqa-split/holdout_qtype.txt [--zero-shot]

The typo drops one inner letter of a random 6+ letter word of the bracketed entity (seeded); questions whose
entity has no such word stay as written. Brackets are then stripped, as `kgreason evaluate qa` does."""
from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import replace
from pathlib import Path

from agents.config import GraphSource, KGReasonConfig
from agents.coordinator import Coordinator
from agents.evaluate import QAItem, evaluate_qa, read_qa

_BRACKET = re.compile(r"\[([^\]]*)\]")
_LONG_WORD = re.compile(r"[^\W\d_]{6,}")


def with_typo(item: QAItem, rng: random.Random) -> tuple[QAItem, bool]:
    """The question with one inner letter of a long word of its [entity] dropped, brackets stripped."""
    m = _BRACKET.search(item.question)
    words = list(_LONG_WORD.finditer(m.group(1))) if m else []
    if not m or not words:
        return replace(item, question=_BRACKET.sub(r"\1", item.question)), False
    w = rng.choice(words)
    i = rng.randrange(w.start() + 1, w.end() - 1)
    entity = m.group(1)[:i] + m.group(1)[i + 1:]
    return replace(item, question=item.question[:m.start()] + entity + item.question[m.end():]), True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--qtypes", type=Path)
    ap.add_argument("--kg", type=Path, nargs="*", default=[])
    ap.add_argument("--zero-shot", action="store_true")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    bracketed = read_qa(a.questions, a.qtypes, keep_brackets=True, limit=a.limit)
    rng = random.Random(a.seed)
    typos = [with_typo(it, rng) for it in bracketed]
    variants = {
        "as_written": read_qa(a.questions, a.qtypes, limit=a.limit),
        "lowercase": read_qa(a.questions, a.qtypes, limit=a.limit, lowercase=True),
        "typo_in_entity": [it for it, _ in typos],
    }
    src = GraphSource("files", tuple(a.kg)) if a.kg else GraphSource("demo")
    cfg = KGReasonConfig(graph=src, question_model=None if a.zero_shot else "auto")
    report: dict[str, object] = {"questions": str(a.questions), "zero_shot": a.zero_shot,
                                 "typo_questions_changed": sum(changed for _, changed in typos)}
    with Coordinator(cfg) as coord:
        for name, items in variants.items():
            r = evaluate_qa(coord, items)
            report[name] = {"hits@1": r["hits@1"], "per_hop": {h: v["hits@1"] for h, v in r["per_hop"].items()},
                            "questions_per_second": r["questions_per_second"], "latency_ms": r["latency_ms"]}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
