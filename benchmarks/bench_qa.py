"""QA pipeline speed: single-question latency p50/p95 and batch questions/s. Prints JSON.

    python benchmarks/bench_qa.py --questions ../shared/data/metaqa/2-hop/qa_dev.txt --kg ../shared/data/metaqa/kb.txt
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from agents.config import GraphSource, KGReasonConfig
from agents.coordinator import Coordinator
from agents.evaluate import read_qa


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--kg", type=Path, nargs="*", default=[])
    ap.add_argument("--question-model", default="auto")
    ap.add_argument("--zero-shot", action="store_true")
    ap.add_argument("--keep-brackets", action="store_true")
    ap.add_argument("--single", type=int, default=100)
    ap.add_argument("--batch", type=int, default=1000)
    a = ap.parse_args()
    src = GraphSource("files", tuple(a.kg)) if a.kg else GraphSource("demo")
    cfg = KGReasonConfig(graph=src, question_model=None if a.zero_shot else a.question_model)
    items = read_qa(a.questions, keep_brackets=a.keep_brackets, limit=max(a.single, a.batch))
    with Coordinator(cfg) as coord:
        t = time.perf_counter()
        coord.warm_up()
        warm_s = time.perf_counter() - t
        lat = []
        for it in items[: a.single]:
            t = time.perf_counter()
            coord.run(it.question)
            lat.append((time.perf_counter() - t) * 1000)
        qs = [it.question for it in items[: a.batch]]
        t = time.perf_counter()
        coord.run_batch(qs)
        qps = len(qs) / (time.perf_counter() - t)
    print(json.dumps({"questions": str(a.questions), "warm_up_s": round(warm_s, 2), "single_n": len(lat),
                      "latency_ms": {"p50": round(float(np.percentile(lat, 50)), 2),
                                     "p95": round(float(np.percentile(lat, 95)), 2)},
                      "batch_n": len(qs), "questions_per_second": round(qps, 1)}))


if __name__ == "__main__":
    main()
