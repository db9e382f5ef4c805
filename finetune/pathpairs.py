"""The path-pair question model: a question (its entity mention masked) and relation-path texts ("plays in
club / is in country") are read by the frozen base encoder, projected by a trained head into one space, and the
cosine ranks the paths.

Paths are candidates enumerated around the linked topic at run time, so the model also scores relations it never
saw in training; it is trained (`PairTrainer`) on questions synthesised from a graph (`finetune.synth`) and saved
as a folder like the other models (head as safetensors, tokenizer, labels.json, model_card.json)."""
from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from finetune.errors import ModelError
from finetune.train import TrainingArguments, seed_everything

TASK = "path-pairs"
MASK = "[MASK]"
#: cosine -> logit scale (temperature 0.05), fixed in training and scoring
SCALE = 20.0


def mask_mention(question: str, start: int, end: int) -> str:
    """The question with its entity mention replaced by the mask word (what the model reads)."""
    return " ".join((question[:start] + f" {MASK} " + question[end:]).split())


def is_pair_model(folder: str | Path) -> bool:
    """Whether a model folder holds a path-pair model (its card's task)."""
    card = Path(folder) / "model_card.json"
    if not card.is_file():
        return False
    try:
        return json.loads(card.read_text(encoding="utf-8")).get("task") == TASK
    except (OSError, ValueError):
        return False


@dataclass
class PairExample:
    """A (masked) question, its candidate path texts and which of them answer it."""

    question: str
    candidates: list[str]
    positives: frozenset[int]


def _features(model: torch.nn.Module, tok, texts: Sequence[str], max_length: int, device: torch.device,
              batch_size: int = 64) -> torch.Tensor:
    """Frozen-encoder features of texts: the mean of all token vectors, of the first half and of the second
    half (word order: "the club of the country" is not "the country of the club")."""
    out = []
    with torch.no_grad():
        for k in range(0, len(texts), batch_size):
            enc = tok(list(texts[k:k + batch_size]), padding=True, truncation=True, max_length=max_length,
                      return_tensors="pt")
            ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
            h = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
            m = mask.float()
            n = m.sum(1, keepdim=True).clamp_min(1.0)
            pos = torch.arange(m.shape[1], device=device)[None].float()
            first = m * (pos < n / 2).float()
            parts = [(h * w.unsqueeze(-1)).sum(1) / w.sum(1, keepdim=True).clamp_min(1.0)
                     for w in (m, first, m - first)]
            out.append(torch.cat(parts, -1).cpu())
    return torch.cat(out) if out else torch.zeros((0, 3 * model.config.hidden_size))


class PairHead(torch.nn.Module):
    """Projections of question and path features into one space, scored by cosine; they start as the
    pretrained encoder's own mean-pooled similarity (identity on the whole-text mean)."""

    def __init__(self, dim: int, parts: int = 3) -> None:
        super().__init__()
        self.q = torch.nn.Linear(dim * parts, dim, bias=False)
        self.p = torch.nn.Linear(dim * parts, dim, bias=False)
        with torch.no_grad():
            for lin in (self.q, self.p):
                lin.weight.zero_()
                lin.weight[:, :dim] = torch.eye(dim)

    def questions(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(self.q(x), dim=-1)

    def paths(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(self.p(x), dim=-1)


@dataclass
class PairTrainingRun:
    out: Path
    card: dict
    history: list[dict] = field(default_factory=list)


class PairTrainer:
    """Trains the pair head on synthesised examples: the frozen base encoder reads every question and path
    text once (as many questions as the time budget allows), then the head trains over those features for
    several epochs, keeping the epoch with the best dev path accuracy."""

    def __init__(self, args: TrainingArguments | None = None, base: str | Path | None = None) -> None:
        self.args = args or TrainingArguments(lr=2e-3, batch_size=256, max_length=48, epochs=40)
        self.base = base

    def run(self, train: Sequence[PairExample], dev: Sequence[PairExample], out: str | Path, *,
            labels: dict, data: dict, command: str, extra_seconds: float = 0.0,
            on_progress: Callable[[dict], None] | None = None) -> PairTrainingRun:
        """Train, evaluate on `dev` (top-1 path accuracy), save to `out`. `labels` go to labels.json (e.g. the
        graph's relations and fingerprint), `data` to the card (synthesis record); `extra_seconds` (synthesis
        time already spent) counts against `args.max_seconds` and in the card's total."""
        from transformers import AutoModel, AutoTokenizer

        from finetune.base import base_id, resolve_base

        if not train:
            raise ModelError("no training examples: the graph has no relation paths to learn from")
        a = self.args
        t0 = time.perf_counter()
        budget = max(1.0, a.max_seconds - extra_seconds) if a.max_seconds else 0.0
        seed_everything(a.seed)
        folder = resolve_base(self.base)
        tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        enc = AutoModel.from_pretrained(folder, local_files_only=True, dtype=torch.float32)
        device = a.resolved_device()
        enc.to(device).eval()
        threads = torch.get_num_threads()
        if _oversubscribed():
            torch.set_num_threads(1)  # on a CPU other jobs keep busy, one thread ran 4x faster than two
        try:
            # paths first (every example needs its candidates), then questions while the budget lasts
            texts = list(dict.fromkeys(c for ex in [*train, *dev] for c in ex.candidates))
            pfeat = self._read(enc, tok, texts, device, t0, budget, 1.0, on_progress, "reading paths")
            dq = _features(enc, tok, [ex.question for ex in dev], a.max_length, device)
            qfeat = self._read(enc, tok, [ex.question for ex in train], device, t0, budget, 0.7, on_progress,
                               "reading questions")
            read_seconds = time.perf_counter() - t0
            used = list(train[: len(qfeat)])
            index = {t: i for i, t in enumerate(texts)}
            head = PairHead(enc.config.hidden_size)
            history = self._fit(head, qfeat, pfeat, used, index, dq, dev, t0, budget, on_progress)
        finally:
            torch.set_num_threads(threads)
        best = max(history, key=lambda h: h.get("dev_path_accuracy", 0.0)) if history else {}
        card = {"task": TASK, "base": base_id(self.base), "base_path": str(folder), "adapter": "frozen",
                "hyperparameters": a.to_json() | {"scale": SCALE, "features": "mean, first half, second half"},
                "data": data | {"questions_read": len(used), "path_texts": len(texts)},
                "dev_metrics": history, "best": best, "steps": sum(h["steps"] for h in history[-1:]),
                "seconds": round(time.perf_counter() - t0 + extra_seconds, 1),
                "read_seconds": round(read_seconds, 1), "command": command}
        _save(head, tok, out, labels, card)
        return PairTrainingRun(Path(out), card, history)

    def _read(self, enc, tok, texts: Sequence[str], device: torch.device, t0: float, budget: float, share: float,
              on_progress: Callable[[dict], None] | None, stage: str) -> torch.Tensor:
        """Features of `texts` in chunks, stopping when `share` of the budget is spent (at least one chunk)."""
        parts = []
        chunk = 256
        for k in range(0, len(texts), chunk):
            if parts and budget and time.perf_counter() - t0 > share * budget:
                break
            parts.append(_features(enc, tok, texts[k:k + chunk], self.args.max_length, device))
            if on_progress is not None:
                on_progress({"stage": stage, "done": min(k + chunk, len(texts)), "total": len(texts),
                             "seconds": round(time.perf_counter() - t0, 1)})
        return torch.cat(parts) if parts else torch.zeros((0, 3 * enc.config.hidden_size))

    def _fit(self, head: PairHead, qfeat: torch.Tensor, pfeat: torch.Tensor, train: Sequence[PairExample],
             index: dict[str, int], dq: torch.Tensor, dev: Sequence[PairExample], t0: float, budget: float,
             on_progress: Callable[[dict], None] | None) -> list[dict]:
        a = self.args
        allowed, good = _masks(train, index, len(pfeat))
        opt = torch.optim.AdamW(head.parameters(), lr=a.lr, weight_decay=a.weight_decay)
        gen = torch.Generator().manual_seed(a.seed)
        history: list[dict] = []
        best_acc, best_state, step = -1.0, None, 0
        for epoch in range(1, a.epochs + 1):
            started = time.perf_counter()
            head.train()
            total = torch.zeros(())
            batches = torch.randperm(len(train), generator=gen).split(a.batch_size)
            for b, idx in enumerate(batches, 1):
                cols = allowed[idx].any(0).nonzero().squeeze(1)  # only the batch's candidate paths
                logits = SCALE * head.questions(qfeat[idx]) @ head.paths(pfeat[cols]).T
                loss = (torch.logsumexp(logits.masked_fill(~allowed[idx][:, cols], -1e4), 1)
                        - torch.logsumexp(logits.masked_fill(~good[idx][:, cols], -1e4), 1)).mean()
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
                total += loss.detach() * len(idx)
                step += 1
                if on_progress is not None and b % a.log_every == 0:  # within the epoch too (it may raise to stop)
                    on_progress({"stage": "training", "done": (epoch - 1) * len(batches) + b,
                                 "total": a.epochs * len(batches)})
            loss = total / max(1, len(train))
            head.eval()
            scores = _accuracy(head, dq, pfeat, dev, index) if dev else {}
            acc = scores.get("all", 0.0)
            history.append({"epoch": epoch, "steps": step, "train_loss": round(float(loss), 5),
                            "dev_path_accuracy": acc, "dev_by_hops": scores,
                            "seconds": round(time.perf_counter() - t0, 1)})
            if acc > best_acc:
                best_acc, best_state = acc, {k: v.clone() for k, v in head.state_dict().items()}
            if on_progress is not None:
                on_progress({"stage": "training", "epoch": epoch, "epochs": a.epochs, **history[-1]})
            # stop when another epoch as long as this one would not end within the budget (the last one saved)
            now = time.perf_counter()
            if budget and now - t0 + (now - started) > 0.98 * budget:
                break
        if best_state is not None:
            head.load_state_dict(best_state)
        return history


def _masks(examples: Sequence[PairExample], index: dict[str, int], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Boolean [examples, path texts] masks of each example's candidates and of its positives."""
    allowed = torch.zeros((len(examples), n), dtype=torch.bool)
    good = torch.zeros((len(examples), n), dtype=torch.bool)
    for r, ex in enumerate(examples):
        ids = [index[c] for c in ex.candidates]
        allowed[r, ids] = True
        good[r, [ids[i] for i in ex.positives]] = True
    return allowed, good


def _oversubscribed() -> bool:
    """Other processes already keep every core busy (1-minute load average)."""
    import os

    try:
        return os.getloadavg()[0] >= (os.cpu_count() or 1)
    except OSError:
        return False


@torch.no_grad()
def _accuracy(head: PairHead, dq: torch.Tensor, pfeat: torch.Tensor, dev: Sequence[PairExample],
              index: dict[str, int]) -> dict[str, float]:
    """Top-1 path accuracy on `dev`, overall and by the gold path's hop count."""
    q, p = head.questions(dq), head.paths(pfeat)
    right: dict[str, list[int]] = {}
    for i, ex in enumerate(dev):
        ids = torch.tensor([index[c] for c in ex.candidates])
        hit = int(int((p[ids] @ q[i]).argmax()) in ex.positives)
        hops = ex.candidates[min(ex.positives)].count(" / ") + 1 if ex.positives else 0
        for key in ("all", f"{hops}-hop"):
            right.setdefault(key, []).append(hit)
    return {k: round(100 * sum(v) / len(v), 2) for k, v in sorted(right.items())}


def _save(head: PairHead, tok, out: str | Path, labels: dict, card: dict) -> None:
    from safetensors.torch import save_file

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().float().cpu().contiguous() for k, v in head.state_dict().items()},
              folder / "head.safetensors")
    tok.save_pretrained(folder)
    (folder / "labels.json").write_text(json.dumps(labels, indent=1), encoding="utf-8")
    (folder / "model_card.json").write_text(json.dumps(card, indent=1), encoding="utf-8")


class PathScorer:
    """Loads a saved path-pair model lazily and scores candidate path texts for masked questions (softmax over
    the candidates); path vectors are cached, so a graph's paths are encoded once."""

    #: question vectors kept (a batch's questions are encoded ahead by `prepare`)
    max_questions = 8192

    def __init__(self, model_dir: str | Path, device: str | None = None) -> None:
        self.model_dir = Path(model_dir)
        self.device = torch.device(device or "cpu")
        self._loaded: tuple | None = None
        self._paths: dict[str, torch.Tensor] = {}
        self._questions: dict[str, torch.Tensor] = {}  # a question's topics share its vector when masked alike

    def _load(self) -> tuple:
        if self._loaded is None:
            from safetensors.torch import load_file
            from transformers import AutoModel, AutoTokenizer

            from finetune.base import resolve_base

            if not is_pair_model(self.model_dir):
                raise ModelError(f"{self.model_dir}: not a path-pair model (train one with "
                                 "`kgreason finetune questions --from-graph`)")
            card = json.loads((self.model_dir / "model_card.json").read_text(encoding="utf-8"))
            labels = json.loads((self.model_dir / "labels.json").read_text(encoding="utf-8"))
            tok = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
            enc = AutoModel.from_pretrained(resolve_base(card["base"]), local_files_only=True, dtype=torch.float32)
            head = PairHead(enc.config.hidden_size)
            try:
                head.load_state_dict(load_file(self.model_dir / "head.safetensors"))
            except (RuntimeError, OSError) as exc:
                raise ModelError(f"{self.model_dir}/head.safetensors does not fit the base encoder: {exc}") from None
            self._loaded = (enc.to(self.device).eval(), tok, labels, card, head.eval())
        return self._loaded

    @property
    def labels(self) -> dict:
        """labels.json: the relations the model was trained on and the training graph's fingerprint."""
        return self._load()[2]

    @torch.no_grad()
    def prepare(self, questions: Sequence[str], batch_size: int = 128) -> None:
        """Encode many (masked) questions in batches ahead of `run` (a batch of questions costs about as
        much as a few single ones)."""
        new = [q for q in dict.fromkeys(questions) if q not in self._questions]
        if not new:
            return
        enc, tok, _, card, head = self._load()
        if len(self._questions) + len(new) > self.max_questions:
            self._questions.clear()
        vecs = head.questions(_features(enc, tok, new[: self.max_questions], card["hyperparameters"]["max_length"],
                                        self.device, batch_size))
        self._questions.update(zip(new, vecs))

    @torch.no_grad()
    def run(self, question: str, paths: Sequence[str]) -> list[float]:
        """Probability of each candidate path text for one masked question (softmax over the candidates)."""
        if not paths:
            return []
        enc, tok, _, card, head = self._load()
        max_length = card["hyperparameters"]["max_length"]
        new = [p for p in dict.fromkeys(paths) if p not in self._paths]
        if new:
            vecs = head.paths(_features(enc, tok, new, max_length, self.device))
            self._paths.update(zip(new, vecs))
        q = self._questions.get(question)
        if q is None:
            q = head.questions(_features(enc, tok, [question], max_length, self.device))[0]
            if len(self._questions) >= self.max_questions:
                self._questions.clear()
            self._questions[question] = q
        logits = SCALE * torch.stack([self._paths[p] for p in paths]) @ q
        return [round(float(x), 6) for x in logits.softmax(0)]
