"""Model card contents: base, data files with sha256, hyper-parameters, dev metrics per epoch, time, command."""
from __future__ import annotations

import hashlib
import platform
from pathlib import Path


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def data_record(path: str | Path, examples: int, **extra) -> dict:
    return {"path": str(Path(path).resolve()), "sha256": sha256(path), "examples": examples, **extra}


def make_card(task: str, base: str, base_path: Path, args, data: dict, result, seconds: float, command: str) -> dict:
    import torch
    import transformers

    return {"task": task, "base": base, "base_path": str(base_path), "adapter": args.adapter,
            "hyperparameters": args.to_json(), "data": data, "dev_metrics": result.history, "best": result.best,
            "steps": result.steps, "train_tokens": result.train_tokens,
            "train_tokens_per_second": round(result.tokens_per_second), "seconds": round(seconds, 1),
            "command": command, "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                                             "python": platform.python_version()}}
