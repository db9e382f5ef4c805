"""Retrieval benchmark: embedding sentences/s and vector search queries/s with recall@10 against exact search.

Prints one JSON object. CPU always; the GPU too when torch sees CUDA (torch matmul path, or faiss-gpu).

  python benchmarks/bench_retrieval.py                       # embedding + 100k random vectors, all backends
  python benchmarks/bench_retrieval.py --facts               # the 133k MetaQA movie facts (embeds them: minutes)
  python benchmarks/bench_retrieval.py --random 1000000 --backends torch   # 1M x 384 exact search (GPU)
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
from knowledge.vector_index import create_index, faiss_gpu_count, torch_cuda  # noqa: E402

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
    ap.add_argument("--backends", default="flat,hnsw,ivf,torch")
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
        t0 = time.perf_counter()
        base = emb.encode(texts, progress=True)
        embed_s = time.perf_counter() - t0
        queries = emb.encode(questions(args.data, args.queries))
        truth = exact_top(base, queries, 10)
        rows = [bench_search(b, base, queries, truth) for b in backends]
        probe = create_index("torch", base.shape[1])
        probe.add(np.arange(len(base)), base)
        _, top = probe.search(emb.encode(["who directed Kismet"]), 5)
        result["fact_probe"] = {"query": "who directed Kismet", "top5": [texts[i] for i in top[0]]}
        result["facts"] = {"texts": len(texts), "embed_device": devices[-1], "embed_s": round(embed_s, 1),
                           "search": rows}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
