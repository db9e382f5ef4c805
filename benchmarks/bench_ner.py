"""Side-by-side NER training/inference speed: the plain recipe (subprocess) and ours, same data and steps.

  python benchmarks/bench_ner.py --train T --dev D --reference ../shared/reference/plain_ner_recipe.py \
      [--base DIR] [--max-steps 300] [--limit-eval 2000] [--batch-size 32] [--context 64]

Prints one JSON object: training tokens/s and inference sentences/s of both, their ratios, our dev F1 (inference
of our trained model once per NerTagger preset in --profiles).

  python benchmarks/bench_ner.py --infer-only --dev D [--limit-eval 1000] [--model finetune/models/ner] \
      [--variants profile=accurate profile=fast pack=80,int8=attention]

CPU inference only: the plain recipe's own eval loop (the reference script run with --max-steps 1, so its F1
is meaningless; its batches of 128 are tokenised on the fly, first sub-token decoded) against the shipped model
through `NerTagger` with each variant, on the same first N sentences, in one run. Prints load averages too."""
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
        ev = {prof: evaluate_ner(tmp, a.dev, limit=a.limit_eval, profile=prof) for prof in a.profiles}
    return {"steps": run.result.steps, "train_s": round(run.result.seconds, 1),
            "train_tok_per_s": round(run.result.tokens_per_second), "context": a.context, "adapter": a.adapter,
            "inference": {prof: {"eval_sent": e["sentences"], "eval_sent_per_s": e["sentences_per_second"],
                                 "entity_f1": e["f1"]} for prof, e in ev.items()}}


def run_infer(a: argparse.Namespace) -> dict:
    """Sentences/s and F1 of NerTagger variants on the first --limit-eval sentences of --dev (already loaded)."""
    import os

    from finetune.data import read_ner
    from finetune.metrics import ner_scores
    from finetune.ner import NerTagger, _docs

    out = []
    for spec in a.variants:
        kw = dict(x.split("=") if "=" in x else (x, "1") for x in spec.split(",") if x)
        int8 = kw.get("int8")
        tagger = NerTagger(a.model, device="cpu", profile=kw.get("profile", "accurate"),
                           pack=int(kw["pack"]) if "pack" in kw else None,
                           int8=None if int8 is None else {"1": True, "0": False}.get(int8, int8),
                           context=int(kw["context"]) if "context" in kw else None)
        corpus = read_ner(a.dev, labels=tagger.labels)
        docs = _docs(corpus, a.limit_eval)
        words = [[s.tokens for s in d] for d in docs]
        gold = [s.tags for d in docs for s in d]
        tagger.tag_words(words[:1])  # warm-up outside the timed part
        t0 = time.perf_counter()
        pred = tagger.tag_words(words)
        secs = time.perf_counter() - t0
        f1 = ner_scores(gold, [[t for t, _ in s] for d in pred for s in d])["f1"]
        out.append({"variant": spec, "eval_sent": len(gold), "eval_sent_per_s": round(len(gold) / secs, 1),
                    "entity_f1": f1, "load_avg_1m": round(os.getloadavg()[0], 2)})
    return {"variants": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", default=None, help="required unless --infer-only")
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
    ap.add_argument("--profiles", nargs="+", default=["accurate", "fast"],
                    help="training runs: NerTagger presets whose inference speed is measured on the trained model")
    ap.add_argument("--infer-only", action="store_true", help="CPU inference only: plain eval loop vs NerTagger")
    ap.add_argument("--model", default=str(ROOT / "finetune" / "models" / "ner"), help="--infer-only: NER folder")
    ap.add_argument("--variants", nargs="+", default=["profile=accurate", "profile=fast"],
                    help="--infer-only: NerTagger settings, e.g. profile=fast, pack=80,int8=attention or context=32")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    a = ap.parse_args()
    if a.infer_only:
        infer_main(a)
        return
    if not a.train:
        ap.error("--train is required unless --infer-only")
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
        out["infer_speedup"] = {prof: round(e["eval_sent_per_s"] / ref["eval_sent_per_s"], 2)
                                for prof, e in ours["inference"].items()}
    print(json.dumps(out))


def infer_main(a: argparse.Namespace) -> None:
    import os

    import torch

    from finetune.base import resolve_base

    if a.threads:
        torch.set_num_threads(a.threads)
    a.max_steps, a.train = 1, a.train or a.dev
    t0 = time.perf_counter()
    load0 = round(os.getloadavg()[0], 2)
    ref = {} if a.skip_reference else run_reference(a, resolve_base(a.base))
    ref = {k: ref[k] for k in ("eval_sent", "eval_s", "eval_sent_per_s", "error") if k in ref}
    ref["load_avg_1m"] = round(os.getloadavg()[0], 2)
    ours = run_infer(a)
    out = {"device": "cpu", "threads": torch.get_num_threads(), "load_avg_1m_start": load0, "plain": ref} | ours
    if ref.get("eval_sent_per_s"):
        for v in out["variants"]:
            v["speedup_vs_plain"] = round(v["eval_sent_per_s"] / ref["eval_sent_per_s"], 2)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
