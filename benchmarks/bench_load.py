"""Load speed of MetaQA's kb.txt into each backend, beside rdflib's own Turtle parser on the same KB.

Usage: python benchmarks/bench_load.py [--kb PATH] [--skip-turtle] [--endpoint QUERY_URL]
(--endpoint also loads into that SPARQL store, e.g. a scratch `oxigraph serve`). Prints one JSON object."""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from knowledge.demo import demo_graph_path
from knowledge.graph import KnowledgeGraph

DEFAULT_KB = Path(__file__).resolve().parents[2] / "shared" / "data" / "metaqa" / "kb.txt"


def _timed_load(backend: str, kb: Path, location: str | None) -> tuple[dict, KnowledgeGraph]:
    kg = KnowledgeGraph.open(backend, location)
    if backend == "sparql":
        kg.query("CLEAR DEFAULT", allow_update=True)
    t0 = time.perf_counter()
    report = kg.load(kb)
    loaded = time.perf_counter() - t0
    kg.labels()
    total = time.perf_counter() - t0
    facts = sum(1 for line in kb.read_text(encoding="utf-8").splitlines() if line.strip())
    return {"triples": report.triples_read, "kb_lines": facts, "facts_per_s": round(facts / loaded, 1),
            "load_s": round(loaded, 3), "load_with_label_index_s": round(total, 3),
            "triples_per_s": round(report.triples_read / loaded, 1)}, kg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kb", type=Path, default=DEFAULT_KB)
    ap.add_argument("--skip-turtle", action="store_true")
    ap.add_argument("--endpoint", help="also load into this SPARQL endpoint (its default graph is CLEARED)")
    args = ap.parse_args()
    out: dict[str, object] = {"kb": str(args.kb)}
    mem, kg = _timed_load("memory", args.kb, None)
    out["memory"] = mem
    with tempfile.TemporaryDirectory() as tmp:
        ox, oxkg = _timed_load("oxigraph", args.kb, str(Path(tmp) / "store"))
        oxkg.close()
        out["oxigraph"] = ox
        if args.endpoint:
            out["sparql"] = _timed_load("sparql", args.kb, args.endpoint)[0]
        if not args.skip_turtle:
            ttl = Path(tmp) / "kb.ttl"
            kg.rdf.serialize(ttl, format="turtle")
            import rdflib

            t0 = time.perf_counter()
            g = rdflib.Graph().parse(ttl, format="turtle")
            secs = time.perf_counter() - t0
            out["rdflib_turtle_parse"] = {"triples": len(g), "load_s": round(secs, 3),
                                          "triples_per_s": round(len(g) / secs, 1)}
    t0 = time.perf_counter()
    demo = KnowledgeGraph.demo()
    loaded = time.perf_counter() - t0
    demo.labels()
    out["demo_memory"] = {"file": demo_graph_path().name, "bytes": demo_graph_path().stat().st_size,
                          "triples": len(demo), "load_s": round(loaded, 3),
                          "load_with_label_index_s": round(time.perf_counter() - t0, 3)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
