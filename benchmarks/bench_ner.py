"""Side-by-side NER training/inference speed: the plain recipe (subprocess) and ours, same data and steps.

  python benchmarks/bench_ner.py --train T --dev D --reference ../shared/reference/plain_ner_recipe.py \
      [--base DIR] [--max-steps 300] [--limit-eval 2000] [--batch-size 32] [--context 64]

Prints one JSON object: training tokens/s and inference sentences/s of both, their ratios, our dev F1."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_reference(a: argparse.Namespace, base: Path) -> dict:
    ref = Path(a.reference).resolve()
    cmd = [sys.executable, ref.name, "--model", str(base), "--train", str(Path(a.train).resolve()),
           "--test", str(Path(a.dev).resolve()), "--max-steps", str(a.max_steps), "--limit-eval", str(a.limit_eval),
           "--bs", str(a.batch_size), "--lr", "1e-4"]
    import torch

    if torch.cuda.is_available():
        cmd.append("--bf16")
    proc = subprocess.run(cmd, cwd=ref.parent, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    return json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1])


def run_ours(a: argparse.Namespace) -> dict:
    from finetune.evaluate import evaluate_ner
    from finetune.ner import NerTrainer
    from finetune.train import TrainingArguments

    args = TrainingArguments(max_steps=a.max_steps, batch_size=a.batch_size, lr=a.lr, context=a.context,
                             adapter=a.adapter, eval_every_epoch=False, progress=False, patience=0)
    with tempfile.TemporaryDirectory() as tmp:
        run = NerTrainer(args, a.base).run(a.train, a.dev, tmp, dev_limit=a.limit_eval)
        ev = evaluate_ner(tmp, a.dev, limit=a.limit_eval)
    return {"steps": run.result.steps, "train_s": round(run.result.seconds, 1),
            "train_tok_per_s": round(run.result.tokens_per_second), "eval_sent": ev["sentences"],
            "eval_sent_per_s": ev["sentences_per_second"], "entity_f1": ev["f1"], "context": a.context,
            "adapter": a.adapter}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--reference", default=str(ROOT.parent / "shared" / "reference" / "plain_ner_recipe.py"))
    ap.add_argument("--base", default=None)
    ap.add_argument("--max-steps", type=int, default=300)
    ap.add_argument("--limit-eval", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--context", type=int, default=64)
    ap.add_argument("--adapter", default="lora")
    ap.add_argument("--skip-reference", action="store_true")
    a = ap.parse_args()
    import torch

    from finetune.base import resolve_base

    base = resolve_base(a.base)
    t0 = time.perf_counter()
    ref = {} if a.skip_reference else run_reference(a, base)
    ours = run_ours(a)
    out = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
           "max_steps": a.max_steps, "batch_size": a.batch_size, "reference": ref, "ours": ours,
           "seconds": round(time.perf_counter() - t0, 1)}
    if ref.get("train_tok_per_s"):
        out["train_speedup"] = round(ours["train_tok_per_s"] / ref["train_tok_per_s"], 2)
        out["infer_speedup"] = round(ours["eval_sent_per_s"] / ref["eval_sent_per_s"], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
