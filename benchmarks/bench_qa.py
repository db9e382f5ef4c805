"""QA pipeline speed: warm start (graph load, reasoning view, model load), one-question latency p50/p95 and
batched questions/s through `Coordinator.run_batch` (what `kgreason evaluate qa` runs). Prints JSON.

    python benchmarks/bench_qa.py --questions artifacts/metaqa-split/holdout.txt
    python benchmarks/bench_qa.py --questions ../shared/data/metaqa/2-hop/qa_dev.txt --kg ../shared/data/metaqa/kb.txt

The machine may be shared: the JSON records the load average before and after."""
from __future__ import annotations

import argparse
import json
import os
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
    ap.add_argument("--single", type=int, default=200, help="questions answered one at a time")
    ap.add_argument("--batch", type=int, default=2000, help="questions answered through run_batch")
    ap.add_argument("--threads", type=int, default=0, help="torch threads for the models (0: torch default)")
    a = ap.parse_args()
    load_before = os.getloadavg()
    src = GraphSource("files", tuple(a.kg)) if a.kg else GraphSource("demo")
    cfg = KGReasonConfig(graph=src, question_model=None if a.zero_shot else a.question_model,
                         model_threads=a.threads or None)
    items = read_qa(a.questions, keep_brackets=a.keep_brackets, limit=max(a.single, a.batch))
    with Coordinator(cfg) as coord:
        t0 = time.perf_counter()
        coord.runtime.graph
        t1 = time.perf_counter()
        coord.runtime.view()
        t2 = time.perf_counter()
        coord.warm_up()  # the models (the graph and view are ready)
        t3 = time.perf_counter()
        lat = []
        for it in items[: a.single]:
            t = time.perf_counter()
            coord.run(it.question)
            lat.append((time.perf_counter() - t) * 1000)
        qs = [it.question for it in items[: a.batch]]
        t = time.perf_counter()
        coord.run_batch(qs)
        qps = len(qs) / (time.perf_counter() - t)
    print(json.dumps({"questions": str(a.questions), "graph_load_s": round(t1 - t0, 2),
                      "view_build_s": round(t2 - t1, 2), "model_load_s": round(t3 - t2, 2),
                      "single_n": len(lat), "latency_ms": {"p50": round(float(np.percentile(lat, 50)), 2),
                                                           "p95": round(float(np.percentile(lat, 95)), 2)},
                      "batch_n": len(qs), "questions_per_second": round(qps, 1), "model_threads": cfg.model_threads,
                      "loadavg_before": [round(x, 2) for x in load_before],
                      "loadavg_after": [round(x, 2) for x in os.getloadavg()]}))


if __name__ == "__main__":
    main()
