"""Retrieval benchmark: embedding sentences/s and vector search queries/s with recall@10 against exact search.

Prints one JSON object. CPU always; the GPU too when torch sees CUDA (torch matmul path, or faiss-gpu).

  python benchmarks/bench_retrieval.py                       # embedding + 100k random vectors, all backends
  python benchmarks/bench_retrieval.py --facts               # the 133k MetaQA movie facts (embeds them: minutes)
  python benchmarks/bench_retrieval.py --random 1000000 --backends torch   # 1M x 384 exact search (GPU)
  python benchmarks/bench_retrieval.py --embed 0 --random 0 --facts --vectors-cache artifacts/facts.npz --sweep
      # embeds the facts once (or takes them from a built index with --from-index DIR), then reuses the file;
      # --sweep also tries HNSW efSearch and IVF nprobe values; "auto" is what the library picks
  python benchmarks/bench_retrieval.py --embed 0 --random 0 --build-movie        # the movie graph's index, timed
      # by phase (wall and user+sys CPU seconds, load average), with the default (static) embedder
  python benchmarks/bench_retrieval.py --embed 0 --random 0 --quality --vectors-cache artifacts/minilm-sample.npz
      # the static index against MiniLM on a seeded sample (6,000 facts, 3,000 names): recall@10 of MiniLM's
      # top 10, MetaQA dev questions (artifacts/metaqa-split/train.txt) whose gold fact is in the top 1/5/10,
      # misspelt names found in the top 3; and the gold-fact hits over all 133k facts (static index only)
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.embeddings import Embedder  # noqa: E402
from knowledge.vector_index import create_index, faiss_gpu_count, load_index, torch_cuda  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "metaqa"


def fact_texts(kb: Path, limit: int | None = None) -> list[str]:
    out = []
    with kb.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("|")
            if len(parts) == 3:
                out.append(f"{parts[0]} {parts[1].replace('_', ' ')} {parts[2]}")
                if limit and len(out) >= limit:
                    break
    return out


def questions(folder: Path, n: int) -> list[str]:
    path = folder / "1-hop" / "qa_dev.txt"
    with path.open(encoding="utf-8") as fh:
        return [line.split("\t")[0].replace("[", "").replace("]", "") for _, line in zip(range(n), fh)]


def bench_embed(model: str | None, device: str, texts: list[str], batch: int) -> dict:
    emb = Embedder(model, device=device, batch_size=batch)
    emb.encode(texts[:batch])  # load + warm up
    t0 = time.perf_counter()
    emb.encode(texts, progress=False)
    dt = time.perf_counter() - t0
    return {"device": device, "texts": len(texts), "batch": batch, "seconds": round(dt, 2),
            "sentences_per_s": round(len(texts) / dt, 1)}


def exact_top(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    idx = create_index("torch", base.shape[1])
    idx.add(np.arange(len(base)), base)
    return idx.search(queries, k)[1]


def bench_search(backend: str, base: np.ndarray, queries: np.ndarray, truth: np.ndarray, k: int = 10,
                 **opts: object) -> dict:
    t0 = time.perf_counter()
    index = create_index(backend, base.shape[1], size_hint=len(base), **opts)
    for start in range(0, len(base), 200_000):
        index.add(np.arange(start, min(start + 200_000, len(base))), base[start:start + 200_000])
    build = time.perf_counter() - t0
    index.search(queries[:10], k)  # warm up
    t0 = time.perf_counter()
    _, got = index.search(queries, k)
    dt = time.perf_counter() - t0
    recall = float(np.mean([len(set(g) & set(t)) / k for g, t in zip(got, truth)]))
    return {"backend": backend, "resolved": index.name, "device": getattr(index, "device", None) or "cpu",
            "vectors": len(base), "queries": len(queries), "build_s": round(build, 2),
            "queries_per_s": round(len(queries) / dt, 1), "recall_at_10": round(recall, 4)}


def vectors_from_index(folder: Path, texts: list[str]) -> tuple[np.ndarray, list[int]]:
    """Fact vectors taken from a built KnowledgeIndex folder (faiss flat/hnsw); rows of texts it lacks stay 0."""
    import faiss

    by_text: dict[str, int] = {}
    with (folder / "entries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            e = json.loads(line)
            if e["kind"] == "fact":
                by_text.setdefault(e["text"], int(e["id"]))
    index = load_index(folder / "vectors-fact")
    outer = index._index  # IndexIDMap2 around the flat/HNSW index
    inner = faiss.downcast_index(outer.index)
    stored = inner.reconstruct_n(0, inner.ntotal)
    row_of = {int(i): r for r, i in enumerate(faiss.vector_to_array(outer.id_map))}
    out = np.zeros((len(texts), stored.shape[1]), np.float32)
    missing = []
    for r, t in enumerate(texts):
        i = by_text.get(t)
        if i is None:
            missing.append(r)
        else:
            out[r] = stored[row_of[i]]
    return out, missing


def fact_vectors(args: argparse.Namespace, emb: Embedder, texts: list[str]) -> tuple[np.ndarray, np.ndarray, dict]:
    """(fact vectors, question vectors, info): from --vectors-cache when it matches, else embedded (and saved)."""
    import hashlib

    qs = questions(args.data, args.queries)
    key = hashlib.sha256("\n".join(texts + ["--"] + qs).encode()).hexdigest()[:16]
    cache = args.vectors_cache
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            if str(data["key"]) == key:
                return data["facts"], data["queries"], {"source": str(cache)}
    t0 = time.perf_counter()
    info: dict = {}
    if args.from_index is not None:
        base, missing = vectors_from_index(args.from_index, texts)
        if missing:
            base[missing] = emb.encode([texts[r] for r in missing], progress=True)
        info = {"source": f"index {args.from_index}", "embedded_missing": len(missing)}
    else:
        base = emb.encode(texts, progress=True)
        info = {"source": "embedded", "embed_device": emb.device or "cpu"}
    info["embed_s"] = round(time.perf_counter() - t0, 1)
    queries = emb.encode(qs)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, facts=base, queries=queries, key=np.array(key))
    return base, queries, info


def sweep(base: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> list[dict]:
    """HNSW efSearch and IVF nprobe settings (one build each)."""
    rows = []
    hnsw = create_index("hnsw", base.shape[1])
    t0 = time.perf_counter()
    hnsw.add(np.arange(len(base)), base)
    build = round(time.perf_counter() - t0, 2)
    for ef in (16, 32, 48, 64, 96, 128):
        hnsw.ef_search = ef
        rows.append({**_timed_search(hnsw, queries, truth), "backend": "hnsw", "M": hnsw.hnsw_m, "efSearch": ef,
                     "build_s": build})
    ivf = create_index("ivf", base.shape[1], size_hint=len(base))
    t0 = time.perf_counter()
    ivf.add(np.arange(len(base)), base)
    build = round(time.perf_counter() - t0, 2)
    for nprobe in (4, 8, 16, 32, 64):
        ivf._index.nprobe = nprobe
        rows.append({**_timed_search(ivf, queries, truth), "backend": "ivf", "nlist": ivf.nlist, "nprobe": nprobe,
                     "build_s": build})
    return rows


def _timed_search(index: object, queries: np.ndarray, truth: np.ndarray, k: int = 10) -> dict:
    index.search(queries[:10], k)  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    _, got = index.search(queries, k)  # type: ignore[attr-defined]
    dt = time.perf_counter() - t0
    recall = float(np.mean([len(set(g) & set(t)) / k for g, t in zip(got, truth)]))
    return {"queries_per_s": round(len(queries) / dt, 1), "recall_at_10": round(recall, 4)}


def _cpu() -> float:
    import resource

    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def build_movie(embedder: str | None) -> dict:
    """`kgreason index build` of the bundled movie graph into a fresh folder, phase by phase."""
    import os
    import tempfile

    from knowledge.graph import KnowledgeGraph
    from knowledge.retrieval import KnowledgeIndex, graph_fingerprint

    phases: dict[str, dict] = {}
    t_all, c_all = time.perf_counter(), _cpu()

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        t0, c0 = time.perf_counter(), _cpu()
        out = fn()
        phases[name] = {"wall_s": round(time.perf_counter() - t0, 1), "cpu_s": round(_cpu() - c0, 1)}
        return out

    with tempfile.TemporaryDirectory() as tmp:
        graph = timed("load_graph", KnowledgeGraph.demo)
        fp = timed("fingerprint", lambda: graph_fingerprint(graph))
        index = timed("plan", lambda: KnowledgeIndex.plan(graph, Path(tmp) / "idx", ("entity", "fact"), embedder))
        texts = index.pending_texts()
        timed("embed", lambda: index.embed_pending(progress=False))
        timed("save", lambda: index.save(fingerprint=fp))
    return {"embedder": index.embedder.name, "model_id": index.embedder.model_id, "texts": texts,
            "counts": index.counts(), "wall_s": round(time.perf_counter() - t_all, 1),
            "cpu_s": round(_cpu() - c_all, 1), "phases": phases, "load_average": [round(x, 2) for x in os.getloadavg()]}


def _typo(rng: "random.Random", s: str) -> str:
    chars = list(s)
    i, op = rng.randrange(1, max(2, len(chars) - 1)), rng.random()
    if op < 0.4 and len(chars) > 3:
        del chars[i]
    elif op < 0.7:
        chars.insert(i, rng.choice("aeiourstln"))
    else:
        chars[i] = rng.choice("aeiourstln")
    return "".join(chars)


def quality(args: argparse.Namespace) -> dict:
    """Static index vs MiniLM index on a seeded sample, and gold-fact hits of the static index on all facts."""
    import random
    import re

    from knowledge.graph import KnowledgeGraph
    from knowledge.retrieval import IndexEntry, KnowledgeIndex

    rng = random.Random(0)
    plan = KnowledgeIndex.plan(KnowledgeGraph.demo(), "/nonexistent", ("entity", "fact"))
    facts = list(dict.fromkeys(e.text for e in plan._pending["fact"]))
    names = list(dict.fromkeys(e.text for e in plan._pending["entity"]))
    by_first: dict[str, list[str]] = {}
    for f in facts:
        by_first.setdefault(f.split(" ")[0], []).append(f)
    lines = args.questions_file.read_text(encoding="utf-8").splitlines()
    rng.shuffle(lines)
    qs, gold = [], []
    for line in lines:
        q, answers = line.split("\t")
        topic = re.search(r"\[(.+?)\]", q).group(1)  # type: ignore[union-attr]
        g = {f for f in by_first.get(topic.split(" ")[0], []) if f.startswith(topic + " ")
             and any(f.endswith(" " + a) for a in answers.split("|"))}
        if 0 < len(g) <= 3:
            qs.append(q.replace("[", "").replace("]", ""))
            gold.append(g)
        if len(qs) >= args.quality_questions:
            break
    must = sorted(set().union(*gold))
    sample = must + rng.sample(sorted(set(facts) - set(must)), args.quality_facts - len(must))
    esample = rng.sample(names, args.quality_names)
    truth = rng.sample(esample, args.quality_questions)
    typos = [_typo(rng, n) for n in truth]

    def gold_hits(hits: list) -> dict:
        return {f"gold_hit@{k}": round(float(np.mean([any(h.text in g for h in hs[:k]) for hs, g in zip(hits, gold)])),
                                       3) for k in (1, 5, 10)}

    def build(embedder: object, fact_texts: list[str], name_texts: list[str]) -> KnowledgeIndex:
        index = KnowledgeIndex("/nonexistent", embedder)  # type: ignore[arg-type]
        index._add_entries([IndexEntry(i, "entity", t, t) for i, t in enumerate(name_texts)], "entity")
        index._add_entries([IndexEntry(len(name_texts) + i, "fact", t, t) for i, t in enumerate(fact_texts)], "fact")
        return index

    static = build(None, sample, esample)
    mini_vectors = _minilm_vectors(args, qs + typos + esample + sample)
    reference = build(mini_vectors, sample, esample)
    reference.terms_weight = 0.0  # today's MiniLM index: vectors for facts, vectors + spellings for names
    ref_f, ref_e = reference.search_many(qs, 10, "fact"), reference.search_many(typos, 10, "entity")
    t0 = time.perf_counter()
    got_f, got_e = static.search_many(qs, 10, "fact"), static.search_many(typos, 10, "entity")
    search_s = time.perf_counter() - t0

    def recall(a: list, b: list) -> float:
        return round(float(np.mean([len({h.text for h in x} & {h.text for h in y}) / max(1, len(y))
                                    for x, y in zip(a, b)])), 3)

    def top3(hits: list) -> float:
        return round(float(np.mean([t in [h.label for h in hs[:3]] for hs, t in zip(hits, truth)])), 3)

    full = build(None, facts, [])
    out = {"sample": {"facts": len(sample), "names": len(esample), "questions": len(qs)},
           "minilm": {**gold_hits(ref_f), "misspelt_top3": top3(ref_e)},
           "static": {**gold_hits(got_f), "misspelt_top3": top3(got_e),
                      "fact_recall@10_of_minilm": recall(got_f, ref_f),
                      "entity_recall@10_of_minilm": recall(got_e, ref_e),
                      "queries_per_s": round(2 * len(qs) / search_s, 1)},
           "static_all_facts": {"facts": len(facts), **gold_hits(full.search_many(qs, 10, "fact"))}}
    full.terms_weight = 0.0
    out["static_all_facts_vectors_only"] = gold_hits(full.search_many(qs, 10, "fact"))
    return out


class _Table:
    """MiniLM vectors of known texts (from --vectors-cache), posing as an Embedder."""

    name, model_id, dim = "minilm-table", "minilm", 384

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table

    def encode(self, texts: list[str], batch_size: int | None = None, progress: bool | None = None) -> np.ndarray:
        return np.vstack([self.table[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


def _minilm_vectors(args: argparse.Namespace, texts: list[str]) -> _Table:
    import hashlib

    texts = list(dict.fromkeys(texts))
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    cache = args.vectors_cache
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            if str(data["key"]) == key:
                return _Table(dict(zip(texts, data["vectors"])))
    vecs = Embedder().encode(texts, progress=True)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, vectors=vecs, key=np.array(key))
    return _Table(dict(zip(texts, vecs)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="MetaQA folder (kb.txt, 1-hop/qa_dev.txt)")
    ap.add_argument("--model", default=None, help="sentence-transformers folder (default: bundled MiniLM)")
    ap.add_argument("--embed", type=int, default=2000, help="texts to embed for sentences/s (0: skip)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--random", type=int, default=100_000, help="random unit vectors to search (0: skip)")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--facts", action="store_true", help="embed all movie facts and search them with questions")
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--backends", default="auto,flat,hnsw,ivf,torch")
    ap.add_argument("--vectors-cache", type=Path, default=None,
                    help="an .npz of fact + question vectors: reused when it matches, else written")
    ap.add_argument("--from-index", type=Path, default=None,
                    help="take fact vectors from a built KnowledgeIndex folder instead of embedding them")
    ap.add_argument("--sweep", action="store_true", help="also try HNSW efSearch / IVF nprobe values")
    ap.add_argument("--build-movie", action="store_true", help="time the movie graph's index build by phase")
    ap.add_argument("--embedder", default=None, help="for --build-movie: static (default), minilm or a folder")
    ap.add_argument("--quality", action="store_true", help="static vs MiniLM index on a seeded sample")
    ap.add_argument("--questions-file", type=Path,
                    default=Path(__file__).resolve().parents[1] / "artifacts" / "metaqa-split" / "train.txt")
    ap.add_argument("--quality-facts", type=int, default=6000)
    ap.add_argument("--quality-names", type=int, default=3000)
    ap.add_argument("--quality-questions", type=int, default=300)
    args = ap.parse_args()

    import torch

    result: dict = {"machine": platform.machine(), "torch": torch.__version__, "cuda": torch_cuda(),
                    "faiss_gpus": faiss_gpu_count(), "cpu_threads": torch.get_num_threads()}
    devices = ["cpu"] + (["cuda"] if torch_cuda() else [])
    backends = [b for b in args.backends.split(",") if b]
    try:
        import faiss  # noqa: F401
    except ImportError:
        backends = [b for b in backends if b == "torch"]
        result["note"] = "faiss not installed: torch backend only"
    if args.embed:
        texts = fact_texts(args.data / "kb.txt", args.embed)
        result["embedding"] = [bench_embed(args.model, d, texts, args.batch) for d in devices]
    if args.random:
        rng = np.random.default_rng(0)
        base = rng.standard_normal((args.random, args.dim), dtype=np.float32)
        base /= np.linalg.norm(base, axis=1, keepdims=True)
        queries = base[rng.choice(len(base), args.queries, replace=False)] + \
            0.3 * rng.standard_normal((args.queries, args.dim), dtype=np.float32) / np.sqrt(args.dim)
        queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
        truth = exact_top(base, queries, 10)
        result["random"] = [bench_search(b, base, queries, truth) for b in backends]
    if args.facts:
        emb = Embedder(args.model, device=devices[-1], batch_size=args.batch)
        texts = fact_texts(args.data / "kb.txt")
        base, queries, info = fact_vectors(args, emb, texts)
        truth = exact_top(base, queries, 10)
        rows = [bench_search(b, base, queries, truth) for b in backends]
        probe = create_index("torch", base.shape[1])
        probe.add(np.arange(len(base)), base)
        _, top = probe.search(emb.encode(["who directed Kismet"]), 5)
        result["fact_probe"] = {"query": "who directed Kismet", "top5": [texts[i] for i in top[0]]}
        result["facts"] = {"texts": len(texts), **info, "search": rows}
        if args.sweep:
            result["facts"]["sweep"] = sweep(base, queries, truth)
    if args.build_movie:
        result["build_movie"] = build_movie(args.embedder)
    if args.quality:
        result["quality"] = quality(args)
    import os

    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
