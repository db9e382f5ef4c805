"""Document NER: pre-tokenised windows with document context, the trainer, and the `NerTagger` stage."""
from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from finetune.data import NerCorpus, read_ner, split_words
from finetune.metrics import ner_scores
from finetune.modeling import build_model, load_for_inference, save_model, word_shape
from finetune.train import (TrainingArguments, TrainResult, bucket_batches, collate, default_max_tokens, fit,
                            seed_everything, to_device, use_bf16)

SHIPPED_NER = Path(__file__).resolve().parent / "models" / "ner"
_SENT_END = {".", "!", "?"}
SMALL_INPUT_TOKENS = 512  # inputs up to this many sub-tokens run on one CPU thread
# Inference presets of NerTagger (measured by benchmarks/bench_ner.py --infer-only; see the README's figures).
NER_PROFILES: dict[str, dict] = {"accurate": {"pack": None, "context": None, "int8": False},  # None: as trained
                                 "fast": {"pack": 128, "context": 16, "int8": "attention"}}


@dataclass
class EntitySpan:
    text: str
    label: str
    start: int
    end: int
    score: float


@dataclass
class NerTrainingRun:
    out: Path
    result: TrainResult
    card: dict


def encode_docs(tok, docs: Sequence[Sequence[Sequence[str]]], max_length: int, context: int,
                tags: Sequence[Sequence[Sequence[int]]] | None = None, pack: int = 0) -> list[dict]:
    """Windows `[CLS] left-ctx sentence(s) right-ctx [SEP]` over documents, tokenised once in one call.

    With `pack=0` (training) each feature holds one sentence (or one chunk of an over-long sentence); with
    `pack=N` consecutive sentences of a document share a window while their sub-tokens fit in N, so each
    token is encoded about once instead of once per neighbour. Context sub-tokens come from neighbouring
    sentences of the same document and are never labelled. Each feature holds `first` (window position of
    each predicted word's first sub-token, None when it has none) and `key` = (doc, ((sent, word0, n), ...))."""
    flat = [s for d in docs for s in d if len(s)]
    enc = tok([list(s) for s in flat], is_split_into_words=True, add_special_tokens=False) if flat else None
    feats, k = [], 0
    limit = max_length - 2
    for di, doc in enumerate(docs):
        ids: list[int] = []
        shp: list[int] = []
        segs = []  # (sent index, word0, piece start, piece end, first-piece positions by word)
        for si, words in enumerate(doc):
            if not len(words):
                continue
            pieces, wids = enc["input_ids"][k], enc.word_ids(k)
            k += 1
            shapes = [word_shape(w) for w in words]
            base = len(ids)
            ids += pieces
            shp += [shapes[w] for w in wids]
            starts: list[int | None] = [None] * len(words)
            for j, w in enumerate(wids):
                if starts[w] is None:
                    starts[w] = base + j
            ends, nxt = [0] * len(words), base + len(pieces)
            for w in range(len(words) - 1, -1, -1):
                ends[w] = nxt
                nxt = starts[w] if starts[w] is not None else nxt
            w0, p0 = 0, base
            for w in range(len(words)):  # cut over-long sentences at word boundaries
                s_w = starts[w] if starts[w] is not None else ends[w]
                if ends[w] - p0 > limit and w > w0:
                    segs.append((si, w0, p0, s_w, starts[w0:w]))
                    w0, p0 = w, s_w
            segs.append((si, w0, p0, min(base + len(pieces), p0 + limit), starts[w0:]))
        for group in _pack_segments(segs, min(pack, limit)):  # a window never exceeds max_length
            a, b = group[0][2], group[-1][3]
            room = max(0, limit - (b - a))
            left = min(context, room // 2, a)
            right = min(context, room - left, len(ids) - b)
            left = min(context, room - right, a)
            lo, hi = a - left, b + right
            first: list[int | None] = []
            for _, _, _, sb, firsts in group:
                first += [None if p is None or p >= sb else p - lo + 1 for p in firsts]
            f = {"input_ids": [tok.cls_token_id] + ids[lo:hi] + [tok.sep_token_id],
                 "shape_ids": [0] + shp[lo:hi] + [0], "first": first,
                 "key": (di, tuple((si, w0, len(firsts)) for si, w0, _, _, firsts in group))}
            if tags is not None:
                lab = [-100] * len(f["input_ids"])
                x = 0
                for si, w0, _, _, firsts in group:
                    for j in range(len(firsts)):
                        if first[x] is not None:
                            lab[first[x]] = tags[di][si][w0 + j]
                        x += 1
                f["labels"] = lab
            feats.append(f)
    return feats


def _pack_segments(segs: list, budget: int) -> list[list]:
    """Group consecutive segments while their sub-tokens fit in `budget` (0: one segment per group)."""
    groups: list[list] = []
    for seg in segs:
        if groups and budget and seg[3] - groups[-1][0][2] <= budget:
            groups[-1].append(seg)
        else:
            groups.append([seg])
    return groups


@torch.inference_mode()
def predict_features(model, feats: Sequence[dict], batch_size: int, device: torch.device, bf16: bool = False,
                     pad_id: int = 0, max_tokens: int | None = None
                     ) -> list[tuple[list[int], list[float], torch.Tensor | None]]:
    """Per feature: (tag id per word, prob per word, path probabilities or None).

    Batches are length-sorted; results stay on the device until the end (no per-batch host sync)."""
    lengths = [len(f["input_ids"]) for f in feats]
    if device.type == "cpu" and torch.get_num_threads() > 1 and sum(lengths) <= SMALL_INPUT_TOKENS:
        # A handful of tokens gains nothing from a second thread, and on a busy machine the idle OpenMP
        # worker spin-waits: one question took 1 s with 2 threads vs 50 ms with 1 at load 4.5.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return predict_features(model, feats, batch_size, device, bf16, pad_id, max_tokens)
        finally:
            torch.set_num_threads(threads)
    pending = []
    cap = default_max_tokens(device) if max_tokens is None else max_tokens
    for idx in bucket_batches(lengths, batch_size, max_tokens=cap):
        batch = to_device(collate([{k: feats[i][k] for k in ("input_ids", "shape_ids")} for i in idx], pad_id), device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            tag_logits, path_logits = model(batch)
        words = None
        if getattr(model, "crf", None) is not None:  # the CRF decodes over the words' first sub-tokens
            words = torch.zeros(tag_logits.shape[:2], dtype=torch.bool)
            for r, i in enumerate(idx):
                words[r, [p for p in feats[i]["first"] if p is not None]] = True
            words = words.to(tag_logits.device)
        probs, tags = model.decode(tag_logits, words)
        paths = path_logits.float().softmax(-1) if path_logits is not None else None
        pending.append((idx, probs, tags, paths))
    out: list = [None] * len(feats)
    for idx, probs, tags, paths in pending:
        probs_l, tags_l = probs.tolist(), tags.tolist()
        paths_c = paths.cpu() if paths is not None else None
        for r, i in enumerate(idx):
            tr, pr = tags_l[r], probs_l[r]
            pos = feats[i]["first"]
            out[i] = ([tr[p] if p is not None else -1 for p in pos], [pr[p] if p is not None else 0.0 for p in pos],
                      paths_c[r] if paths_c is not None else None)
    return out


def _tag_docs(model, tok, labels: Sequence[str], docs, max_length: int, context: int, batch_size: int,
              device: torch.device, bf16: bool, pack: int = 0, max_tokens: int | None = None
              ) -> list[list[list[tuple[str, float]]]]:
    feats = encode_docs(tok, docs, max_length, context, pack=pack)
    res = [[[("O", 0.0)] * len(s) for s in d] for d in docs]
    preds = predict_features(model, feats, batch_size, device, bf16, tok.pad_token_id or 0, max_tokens)
    for f, (t, s, _) in zip(feats, preds):
        di, segs = f["key"]
        x = 0
        for si, w0, n in segs:
            row = res[di][si]
            for j in range(n):
                ti = t[x + j]
                row[w0 + j] = (labels[ti] if ti >= 0 else "O", s[x + j])
            x += n
    return res


class NerTrainer:
    """Fine-tune the document NER model on CoNLL/JSONL data and save a small model folder."""

    def __init__(self, args: TrainingArguments | None = None, base: str | None = None) -> None:
        self.args = args or TrainingArguments()
        self.base = base

    def run(self, train: str | Path | NerCorpus, dev: str | Path | NerCorpus, out: str | Path, *,
            limit: int | None = None, dev_limit: int | None = None, repair: bool = False,
            on_epoch_end: Callable[[dict], None] | None = None, command: str | None = None) -> NerTrainingRun:
        from finetune.base import base_id, resolve_base
        from finetune.cards import data_record, make_card

        a = self.args
        tr = train if isinstance(train, NerCorpus) else read_ner(train, repair=repair)
        labels = tr.labels
        dv = dev if isinstance(dev, NerCorpus) else read_ner(dev, repair=repair, labels=labels)
        tr_docs, dv_docs = _docs(tr, limit), _docs(dv, dev_limit)
        l2i = {t: i for i, t in enumerate(labels)}
        seed_everything(a.seed)  # heads and LoRA init are seeded too
        model, tok = build_model(self.base, len(labels), 0, a.adapter, a.lora_r, a.lora_alpha,
                                 word_shape=a.word_shape, crf=a.crf)
        t0 = time.perf_counter()
        feats = encode_docs(tok, [[s.tokens for s in d] for d in tr_docs], a.max_length, a.context,
                            [[[l2i[t] for t in s.tags] for s in d] for d in tr_docs], pack=a.pack)
        dev_words = [[s.tokens for s in d] for d in dv_docs]
        gold = [s.tags for d in dv_docs for s in d]
        device = a.resolved_device()

        def evaluate(m) -> dict:
            t1 = time.perf_counter()
            pred = _tag_docs(m, tok, labels, dev_words, a.max_length, a.context, 128, device, use_bf16(a, device),
                             a.pack)
            sc = ner_scores(gold, [[t for t, _ in s] for d in pred for s in d])
            return sc | {"sentences_per_second": round(len(gold) / (time.perf_counter() - t1), 1)}

        result = fit(model, feats, evaluate, a, "f1", on_epoch_end, tok.pad_token_id or 0)
        card = make_card("ner", base_id(self.base), resolve_base(self.base), a,
                         {"train": data_record(tr.path, len(feats)), "dev": data_record(dv.path, len(gold))},
                         result, time.perf_counter() - t0, command or " ".join(sys.argv))
        save_model(model.cpu(), tok, out, {"tags": labels}, card)
        return NerTrainingRun(Path(out), result, card)


def _docs(corpus: NerCorpus, limit: int | None) -> list[list]:
    docs = corpus.documents()
    if not limit:
        return docs
    out, n = [], 0
    for d in docs:
        if n >= limit:
            break
        out.append(d[:limit - n])
        n += len(out[-1])
    return out


def _sentences(text: str) -> list[list[tuple[str, int, int]]]:
    sents: list[list[tuple[str, int, int]]] = []
    for m in re.finditer(r"(?:(?!\n\s*\n)[\s\S])+", text):
        cur: list[tuple[str, int, int]] = []
        for w, s, e in split_words(m.group(), ()):
            cur.append((w, s + m.start(), e + m.start()))
            if w in _SENT_END:
                sents.append(cur)
                cur = []
        if cur:
            sents.append(cur)
    return sents


class NerTagger:
    """Raw text in, entity spans with char offsets out; each text is one document (context crosses sentences)."""

    def __init__(self, model_dir: str | Path | None = None, device: str | None = None, batch_size: int = 64,
                 profile: str = "accurate", pack: int | None = None, context: int | None = None,
                 int8: bool | str | None = None, max_tokens: int | None = None) -> None:
        """`profile`: "accurate" (windows as the model was trained: its card's pack and context, float) or
        "fast" (sentences packed 128 sub-tokens per window, 16 context sub-tokens per side, int8 attention on
        CPU: about 7x the accurate profile's CPU throughput at about -0.7 CoNLL valid F1). Explicit settings
        override the profile: `pack`: sub-tokens of consecutive sentences sharing one window (0: one sentence per
        window; None: the model card's); `context`: document-context sub-tokens per side (None: the model card's);
        `int8`: dynamic int8 quantisation on CPU (True/"all": every encoder Linear; "attention": the attention
        projections only); `max_tokens`: padded sub-tokens per batch (None: 4096 on CPU, uncapped on GPU)."""
        if profile not in NER_PROFILES:
            raise ValueError(f"profile must be one of {', '.join(NER_PROFILES)}, got {profile!r}")
        preset = NER_PROFILES[profile]
        self.model_dir = Path(model_dir) if model_dir is not None else SHIPPED_NER
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.batch_size, self.max_tokens = batch_size, max_tokens
        self.pack = preset["pack"] if pack is None else pack
        self.context = preset["context"] if context is None else context
        q = preset["int8"] if int8 is None else int8
        self.int8 = q if self.device.type == "cpu" else False
        self._loaded: tuple | None = None

    def _load(self) -> tuple:
        if self._loaded is None:
            self._loaded = load_for_inference(self.model_dir, self.device, self.int8, "NER", "ner")
        return self._loaded

    @property
    def labels(self) -> list[str]:
        return self._load()[2]["tags"]

    def tag_words(self, docs: Sequence[Sequence[Sequence[str]]]) -> list[list[list[tuple[str, float]]]]:
        """Pre-split words (documents of sentences) -> (IOB2 tag, prob) per word."""
        model, tok, labels, card = self._load()
        hp = card["hyperparameters"]
        bf16 = self.device.type == "cuda" and torch.cuda.is_bf16_supported()
        context = hp["context"] if self.context is None else self.context
        pack = hp.get("pack", 0) if self.pack is None else self.pack
        return _tag_docs(model, tok, labels["tags"], docs, hp["max_length"], context, self.batch_size,
                         self.device, bf16, pack, self.max_tokens)

    def run(self, texts: Sequence[str]) -> list[list[EntitySpan]]:
        """Entity spans (text, label, start, end, score) per input text."""
        if isinstance(texts, str):
            raise TypeError("run() takes a sequence of texts, not one string")
        split = [_sentences(t) for t in texts]
        tagged = self.tag_words([[[w for w, _, _ in s] for s in d] for d in split])
        out = []
        for text, sents, tags in zip(texts, split, tagged):
            spans: list[EntitySpan] = []
            for words, wt in zip(sents, tags):
                cur: list[int] = []
                lab = None
                for i, (t, _) in enumerate(wt + [("O", 0.0)]):
                    if cur and (t == "O" or t.startswith("B-") or t[2:] != lab):
                        s, e = words[cur[0]][1], words[cur[-1]][2]
                        spans.append(EntitySpan(text[s:e], lab or "", s, e,
                                                round(sum(wt[j][1] for j in cur) / len(cur), 4)))
                        cur, lab = [], None
                    if t != "O":
                        cur.append(i)
                        lab = t[2:]
            out.append(spans)
        return out
