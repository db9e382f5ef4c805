"""The training loop shared by the NER and question models: short, seeded, bucketed, bf16 on CUDA."""
from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import torch

Feature = dict[str, list[int] | int]


@dataclass
class TrainingArguments:
    epochs: int = 3
    lr: float = 5e-4
    batch_size: int = 32
    seed: int = 0
    adapter: str = "lora"          # "lora" or "full"
    lora_r: int = 32
    lora_alpha: int | None = None  # default 2 * lora_r
    max_length: int = 256
    context: int = 64              # NER: sub-tokens of document context on each side (0: sentence only)
    pack: int = 0                  # NER: sentences of a document share a window up to this many sub-tokens (0: one)
    word_shape: bool = True        # learn the casing-class embedding (False: it stays zero, i.e. off)
    crf: bool = False              # NER: a linear-chain CRF over the word tags (Viterbi decoding)
    warmup: float = 0.1            # fraction of steps
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    patience: int = 2              # epochs without dev improvement before stopping (0: never)
    eval_every_epoch: bool = True
    max_steps: int = 0             # stop after this many optimiser steps (0: run all epochs)
    max_seconds: float = 0.0       # wall-clock budget: stop mid-epoch, evaluate, keep the best (0: none)
    bf16: bool | None = None       # None: bf16 autocast when CUDA supports it
    device: str | None = None      # None: cuda if available else cpu
    log_every: int = 25            # steps between loss reads for the progress bar
    progress: bool = True

    def resolved_device(self) -> torch.device:
        return torch.device(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    def to_json(self) -> dict:
        return asdict(self) | {"lora_alpha": self.lora_alpha or 2 * self.lora_r}


@dataclass
class TrainResult:
    best: dict                     # dev metrics of the kept (best) epoch
    history: list[dict] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    train_tokens: int = 0
    tokens_per_second: float = 0.0
    first_loss: float = math.nan
    last_loss: float = math.nan


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def bucket_batches(lengths: Sequence[int], batch_size: int, generator: torch.Generator | None = None,
                   max_tokens: int = 0) -> list[list[int]]:
    """Batches of similar length. With a generator: shuffled pool-wise sort, shuffled batch order; else sorted.

    Sorted (inference) batches also stop growing once `max_tokens` padded sub-tokens would be exceeded (0: no cap)."""
    if generator is None:
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        batches: list[list[int]] = []
        for i in order:
            if batches and len(batches[-1]) < batch_size and (
                    not max_tokens or (len(batches[-1]) + 1) * lengths[i] <= max_tokens):
                batches[-1].append(i)
            else:
                batches.append([i])
        return batches
    perm = torch.randperm(len(lengths), generator=generator).tolist()
    pool = batch_size * 50
    batches = []
    for p in range(0, len(perm), pool):
        chunk = sorted(perm[p:p + pool], key=lambda i: lengths[i])
        batches += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def collate(feats: Sequence[Feature], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Pad a list of features (input_ids, shape_ids, optional labels / path_label) into CPU tensors."""
    n, width = len(feats), max(len(f["input_ids"]) for f in feats)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    shapes = torch.zeros((n, width), dtype=torch.long)
    labels = torch.full((n, width), -100, dtype=torch.long) if "labels" in feats[0] else None
    for i, f in enumerate(feats):
        k = len(f["input_ids"])
        ids[i, :k] = torch.tensor(f["input_ids"])
        mask[i, :k] = 1
        shapes[i, :k] = torch.tensor(f["shape_ids"])
        if labels is not None:
            labels[i, :k] = torch.tensor(f["labels"])
    out = {"input_ids": ids, "attention_mask": mask, "shape_ids": shapes}
    if labels is not None:
        out["labels"] = labels
    if "path_label" in feats[0]:
        out["path_labels"] = torch.tensor([f["path_label"] for f in feats], dtype=torch.long)
    return out


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    if device.type == "cuda":
        return {k: v.pin_memory().to(device, non_blocking=True) for k, v in batch.items()}
    return batch


def default_max_tokens(device: torch.device) -> int:
    """Padded sub-tokens per inference batch: capped on CPU (less padding, cache-sized GEMMs), free on GPUs."""
    return 4096 if device.type == "cpu" else 0


def use_bf16(args: TrainingArguments, device: torch.device) -> bool:
    if args.bf16 is None:
        return device.type == "cuda" and torch.cuda.is_bf16_supported()
    return bool(args.bf16) and device.type == "cuda"


def fit(model: torch.nn.Module, features: Sequence[Feature], evaluate: Callable[[torch.nn.Module], dict],
        args: TrainingArguments, metric: str, on_epoch_end: Callable[[dict], None] | None = None,
        pad_id: int = 0, collate_fn: Callable[[Sequence[Feature], int], dict] | None = None) -> TrainResult:
    """Train `model` (which has `.loss(batch)`) on pre-tokenised features; keep the best dev epoch by `metric`.

    `collate_fn(features, pad_id)` makes a batch (default: `collate`)."""
    from tqdm.auto import tqdm

    device = args.resolved_device()
    seed_everything(args.seed)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, fused=device.type == "cuda")
    lengths = [len(f["input_ids"]) for f in features]
    steps_per_epoch = math.ceil(len(features) / args.batch_size)
    total = args.max_steps or steps_per_epoch * args.epochs
    epochs = math.ceil(total / steps_per_epoch)
    warm = max(1, int(args.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    bf16 = use_bf16(args, device)
    gen = torch.Generator().manual_seed(args.seed)
    result = TrainResult(best={})
    best_score, best_state, bad_epochs = -math.inf, None, 0
    step, ntok, t0 = 0, 0, time.perf_counter()
    train_seconds = 0.0
    def out_of_time() -> bool:
        return bool(args.max_seconds) and time.perf_counter() - t0 > args.max_seconds

    bar = tqdm(total=total, desc="train", unit="step", disable=not args.progress, dynamic_ncols=True)
    for epoch in range(1, epochs + 1):
        model.train()
        loss_sum = torch.zeros((), device=device)
        n_since = 0
        t_epoch = time.perf_counter()
        for idx in bucket_batches(lengths, args.batch_size, gen):
            batch = to_device((collate_fn or collate)([features[i] for i in idx], pad_id), device)
            ntok += sum(lengths[i] for i in idx)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = model.loss(batch)
            loss.backward()
            if args.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, args.grad_clip)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            loss_sum += loss.detach()
            n_since += 1
            step += 1
            if step == 1:
                result.first_loss = float(loss.detach())
            if step % args.log_every == 0 or step == total:
                result.last_loss = float(loss_sum) / n_since  # one host sync every log_every steps
                bar.set_postfix(loss=f"{result.last_loss:.4f}", epoch=epoch)
                loss_sum.zero_()
                n_since = 0
            bar.update(1)
            if step >= total or out_of_time():
                break
        if n_since:
            result.last_loss = float(loss_sum) / n_since
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_seconds += time.perf_counter() - t_epoch
        if not args.eval_every_epoch and step < total:
            continue
        model.eval()
        metrics = dict(evaluate(model), epoch=epoch, step=step, train_loss=round(result.last_loss, 5),
                       seconds=round(time.perf_counter() - t0, 1))
        result.history.append(metrics)
        bar.write(f"epoch {epoch}: " + ", ".join(f"{k}={v}" for k, v in metrics.items() if not isinstance(v, dict)))
        if on_epoch_end is not None:
            on_epoch_end(metrics)
        if metrics[metric] > best_score:
            best_score, bad_epochs, result.best = metrics[metric], 0, metrics
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()
                          if k in _trainable_names(model)}
        else:
            bad_epochs += 1
            if args.patience and bad_epochs >= args.patience:
                bar.write(f"early stop: no {metric} gain for {bad_epochs} epoch(s)")
                break
        if step >= total or out_of_time():
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    model.eval()
    result.steps, result.seconds, result.train_tokens = step, time.perf_counter() - t0, ntok
    result.tokens_per_second = ntok / max(train_seconds, 1e-9)
    return result


def _trainable_names(model: torch.nn.Module) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}
