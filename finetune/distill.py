"""NER distillation: a teacher NER model's soft labels (per word, over its tags) train a student model.

The teacher is any folder saved by `kgreason finetune ner` (or by this module), or several such folders with
the same tags (an ensemble: their distributions are averaged); the student starts from a base
encoder (default: the packaged MiniLM) or from a saved NER folder. Teacher and student may use different
tokenizers: soft labels live on words (each word's first sub-token), so each side tokenises on its own.
Loss per labelled word: `alpha * CE(student, gold tag) + (1 - alpha) * T^2 * KL(teacher_T || student_T)`;
words of the optional unlabelled text only get the KL term. The result is a normal NER model folder whose
card also records the teacher, the temperature, alpha and the unlabelled text's sha256.
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from finetune.data import NerCorpus, _decode, read_ner
from finetune.errors import DataError, ModelError
from finetune.metrics import ner_scores
from finetune.modeling import TaggerModel, build_model, load_model, save_model
from finetune.ner import NerTrainingRun, _docs, _sentences, _tag_docs, encode_docs
from finetune.train import (
    TrainingArguments,
    bucket_batches,
    collate,
    fit,
    seed_everything,
    to_device,
    use_bf16,
)

Words = list[list[list[str]]]  # documents -> sentences -> words


@dataclass
class DistillArguments:
    temperature: float = 2.0
    alpha: float = 0.5          # weight of the gold-label loss (1 - alpha: the teacher's soft labels)
    teacher_batch_size: int = 64


class DistillStudent(nn.Module):
    """The student TaggerModel plus the distillation loss; `fit` trains it like any model with `.loss`."""

    def __init__(self, student: TaggerModel, temperature: float, alpha: float) -> None:
        super().__init__()
        self.student = student
        self.temperature, self.alpha = temperature, alpha

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.student(batch)

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits, _ = self.student(batch)
        words = batch["soft_mask"]
        t = self.temperature
        logp = (logits.float()[words] / t).log_softmax(-1)
        soft = batch["soft"][words]
        kl = (soft * (soft.clamp_min(1e-8).log() - logp)).sum(-1).mean() * t * t
        gold = batch["labels"] != -100
        if not bool(gold.any()) or self.alpha == 0:
            return (1 - self.alpha) * kl
        hard = self.student.loss({k: v for k, v in batch.items() if k not in ("soft", "soft_mask")})
        return self.alpha * hard + (1 - self.alpha) * kl


@torch.inference_mode()
def teacher_probs(model: TaggerModel, tok, docs: Words, max_length: int, context: int, temperature: float,
                  batch_size: int, device: torch.device) -> list[list[np.ndarray]]:
    """Per document and sentence: a (words, tags) array of the teacher's distributions at `temperature`
    (each word's first sub-token)."""
    feats = encode_docs(tok, docs, max_length, context)
    out: list[list[list[list[float] | None]]] = [[[None] * len(s) for s in d] for d in docs]
    lengths = [len(f["input_ids"]) for f in feats]
    for idx in bucket_batches(lengths, batch_size):
        batch = to_device(collate([{k: feats[i][k] for k in ("input_ids", "shape_ids")} for i in idx],
                                  tok.pad_token_id or 0), device)
        logits, _ = model(batch)
        probs = (logits.float() / temperature).softmax(-1).cpu()
        for r, i in enumerate(idx):
            di, segs = feats[i]["key"]
            first, x = feats[i]["first"], 0
            for si, w0, n in segs:
                for j in range(n):
                    p = first[x + j]
                    out[di][si][w0 + j] = probs[r, p].tolist() if p is not None else None
                x += n
    n_tags = model.tagger.out_features
    uniform = [1.0 / n_tags] * n_tags  # words the teacher's window cut off: no preference
    return [[np.asarray([p if p is not None else uniform for p in s], dtype=np.float32).reshape(len(s), n_tags)
             for s in d] for d in out]


def student_features(tok, docs: Words, soft: list, tags: list | None, max_length: int, context: int,
                     pack: int) -> list[dict]:
    """Student windows with gold `labels` (or none, for unlabelled text) and the teacher's soft labels."""
    hard = tags if tags is not None else [[[-100] * len(s) for s in d] for d in docs]
    feats = encode_docs(tok, docs, max_length, context, hard, pack=pack)
    for f in feats:
        di, segs = f["key"]
        pos, x = [], 0
        for si, w0, n in segs:
            for j in range(n):
                p = f["first"][x + j]
                if p is not None:
                    pos.append((p, soft[di][si][w0 + j]))
            x += n
        f["soft"] = pos
    return feats


def collate_soft(feats: Sequence[dict], pad_id: int, n_tags: int) -> dict[str, torch.Tensor]:
    """`collate` plus `soft` [B, L, T] (teacher distributions) and `soft_mask` [B, L] (where they apply)."""
    batch = collate([{k: v for k, v in f.items() if k != "soft"} for f in feats], pad_id)
    b, width = batch["input_ids"].shape
    soft = torch.zeros((b, width, n_tags))
    mask = torch.zeros((b, width), dtype=torch.bool)
    for r, f in enumerate(feats):
        if f["soft"]:
            pos = torch.tensor([p for p, _ in f["soft"]])
            soft[r, pos] = torch.from_numpy(np.stack([d for _, d in f["soft"]]))
            mask[r, pos] = True
    return batch | {"soft": soft, "soft_mask": mask}


def read_unlabelled(path: str | Path) -> Words:
    """A UTF-8 text file; blank lines separate documents, which split into sentences of words."""
    path = Path(path)
    text = _decode(path)
    docs = [[[w for w, _, _ in s] for s in _sentences(part)] for part in text.split("\n\n") if part.strip()]
    if not docs:
        raise DataError("no text to label", path)
    return docs


class NerDistiller:
    """Distil a teacher NER folder into a student (base encoder or saved NER folder); saves a NER model folder."""

    def __init__(self, teacher: str | Path | Sequence[str | Path], student: str | None = None,
                 args: TrainingArguments | None = None, distill: DistillArguments | None = None) -> None:
        self.teachers = [Path(teacher)] if isinstance(teacher, (str, Path)) else [Path(t) for t in teacher]
        if not self.teachers:
            raise ValueError("distillation needs at least one teacher")
        self.student = student
        self.args = args or TrainingArguments()
        self.distill = distill or DistillArguments()

    def _student(self, n_tags: int, labels: list[str]) -> tuple[TaggerModel, object, str | None]:
        """A trainable student and its tokenizer; a saved NER folder keeps its base, adapter and weights."""
        a = self.args
        folder = Path(self.student) if self.student else None
        if folder is None or not (folder / "model_card.json").is_file():
            model, tok = build_model(self.student, n_tags, 0, a.adapter, a.lora_r, a.lora_alpha,
                                     word_shape=a.word_shape, crf=a.crf)
            return model, tok, self.student
        from safetensors.torch import load_file

        card = json.loads((folder / "model_card.json").read_text(encoding="utf-8"))
        saved = json.loads((folder / "labels.json").read_text(encoding="utf-8")).get("tags")
        if saved != labels:
            raise ModelError(f"{folder}: student tags {saved} differ from the teacher's {labels}")
        hp = card["hyperparameters"]
        a.adapter, a.lora_r, a.lora_alpha, a.crf = card["adapter"], hp["lora_r"], hp["lora_alpha"], hp.get("crf", False)
        model, tok = build_model(card["base"], n_tags, 0, a.adapter, a.lora_r, a.lora_alpha,
                                 word_shape=a.word_shape, crf=a.crf)
        if a.adapter == "lora":
            from peft import set_peft_model_state_dict

            set_peft_model_state_dict(model.body.encoder, load_file(folder / "adapter.safetensors"))
        else:
            model.body.encoder.load_state_dict(load_file(folder / "encoder.safetensors"))
        model.load_head_state(load_file(folder / "heads.safetensors"))
        return model, tok, card["base"]

    def run(self, train: str | Path | NerCorpus, dev: str | Path | NerCorpus, out: str | Path, *,
            unlabelled: str | Path | None = None, limit: int | None = None, dev_limit: int | None = None,
            repair: bool = False, on_epoch_end: Callable[[dict], None] | None = None,
            command: str | None = None) -> NerTrainingRun:
        from finetune.base import base_id, resolve_base
        from finetune.cards import data_record, make_card, sha256

        a, d = self.args, self.distill
        if not 0.0 <= d.alpha <= 1.0 or d.temperature <= 0:
            raise ValueError(f"alpha must be in [0, 1] and temperature > 0, got {d.alpha} and {d.temperature}")
        device = a.resolved_device()
        labels: list[str] = _tags(self.teachers[0])
        for t in self.teachers[1:]:
            if _tags(t) != labels:
                raise ModelError(f"{t}: teacher tags {_tags(t)} differ from {self.teachers[0]}'s {labels}")
        tr = train if isinstance(train, NerCorpus) else read_ner(train, repair=repair, labels=labels)
        dv = dev if isinstance(dev, NerCorpus) else read_ner(dev, repair=repair, labels=labels)
        tr_docs, dv_docs = _docs(tr, limit), _docs(dv, dev_limit)
        l2i = {t: i for i, t in enumerate(labels)}
        t0 = time.perf_counter()
        sources: list[tuple[Words, list | None]] = [
            ([[s.tokens for s in doc] for doc in tr_docs], [[[l2i[t] for t in s.tags] for s in doc] for doc in tr_docs])]
        if unlabelled is not None:
            sources.append((read_unlabelled(unlabelled), None))
        soft, cards = self._soft_labels([words for words, _ in sources], device)
        teacher_seconds = time.perf_counter() - t0
        seed_everything(a.seed)
        student, tok, base = self._student(len(labels), labels)
        feats = [f for (words, tags), s in zip(sources, soft)
                 for f in student_features(tok, words, s, tags, a.max_length, a.context, a.pack)]
        model = DistillStudent(student, d.temperature, d.alpha)
        dev_words = [[s.tokens for s in doc] for doc in dv_docs]
        gold = [s.tags for doc in dv_docs for s in doc]

        def evaluate(m: DistillStudent) -> dict:
            t1 = time.perf_counter()
            pred = _tag_docs(m.student, tok, labels, dev_words, a.max_length, a.context, 128, device,
                             use_bf16(a, device), a.pack)
            sc = ner_scores(gold, [[t for t, _ in s] for doc in pred for s in doc])
            return sc | {"sentences_per_second": round(len(gold) / (time.perf_counter() - t1), 1)}

        pad = tok.pad_token_id or 0
        result = fit(model, feats, evaluate, a, "f1", on_epoch_end, pad,
                     collate_fn=lambda fs, p: collate_soft(fs, p, len(labels)))
        data = {"train": data_record(tr.path, sum(len(doc) for doc in tr_docs)),
                "dev": data_record(dv.path, len(gold))}
        if unlabelled is not None:
            data["unlabelled"] = {"path": str(Path(unlabelled).resolve()), "sha256": sha256(unlabelled),
                                  "documents": len(sources[1][0])}
        card = make_card("ner", base_id(base), resolve_base(base), a, data, result, time.perf_counter() - t0,
                         command or " ".join(sys.argv))
        card["distillation"] = {"teacher": str(self.teachers[0].resolve()),
                                "teachers": [{"path": str(t.resolve()), "base": c.get("base"),
                                              "best": {k: v for k, v in c.get("best", {}).items() if k != "per_type"}}
                                             for t, c in zip(self.teachers, cards)],
                                "teacher_best": {k: v for k, v in cards[0].get("best", {}).items() if k != "per_type"},
                                "temperature": d.temperature, "alpha": d.alpha,
                                "teacher_seconds": round(teacher_seconds, 1),
                                "student_init": str(Path(self.student).resolve()) if self.student and
                                Path(self.student, "model_card.json").is_file() else base_id(base)}
        save_model(model.student.cpu(), tok, out, {"tags": labels}, card)
        return NerTrainingRun(Path(out), result, card)

    def _soft_labels(self, sources: list[Words], device: torch.device) -> tuple[list, list[dict]]:
        """Per source, the teachers' mean word distributions; and each teacher's card. One teacher in memory."""
        d = self.distill
        total: list = []
        cards = []
        for teacher_dir in self.teachers:
            teacher, tok, _, card = load_model(teacher_dir, device)
            hp = card["hyperparameters"]
            probs = [teacher_probs(teacher, tok, words, hp["max_length"], hp["context"], d.temperature,
                                   d.teacher_batch_size, device) for words in sources]
            total = probs if not total else [[[a + b for a, b in zip(da, db)] for da, db in zip(sa, sb)]
                                             for sa, sb in zip(total, probs)]
            cards.append(card)
            del teacher
        n = len(self.teachers)
        return [[[p / n for p in doc] for doc in src] for src in total], cards


def _tags(folder: Path) -> list[str]:
    if not (folder / "labels.json").is_file():
        raise ModelError(f"{folder}: not a NER model folder (no labels.json); train one with `kgreason finetune ner`")
    return json.loads((folder / "labels.json").read_text(encoding="utf-8"))["tags"]
