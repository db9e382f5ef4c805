"""Joint question model: BIO span of the topic entity + relation-path classification; trainer and `QuestionParser`."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from finetune.data import Question, read_questions, split_words
from finetune.errors import ModelError
from finetune.modeling import build_model, load_for_inference, save_model, word_shape
from finetune.ner import predict_features
from finetune.train import TrainingArguments, TrainResult, seed_everything, fit, use_bf16

SHIPPED_QUESTIONS = Path(__file__).resolve().parent / "models" / "questions"
SPAN_TAGS = ["O", "B-ENT", "I-ENT"]


@dataclass
class ParsedQuestion:
    text: str
    mention: str | None
    start: int
    end: int
    span_score: float
    paths: list[tuple[str, float]]


@dataclass
class QuestionTrainingRun:
    out: Path
    result: TrainResult
    card: dict


def encode_questions(tok, texts: Sequence[str], max_length: int, spans: Sequence[tuple[int, int]] | None = None,
                     path_ids: Sequence[int] | None = None) -> tuple[list[dict], list[list[tuple[str, int, int]]]]:
    """Features ([CLS] question [SEP], first sub-token of each word labelled) and the words with char offsets."""
    words = [split_words(t, spans[i] if spans else ()) for i, t in enumerate(texts)]
    nonempty = [w if w else [("?", 0, 0)] for w in words]
    enc = tok([[w for w, _, _ in ws] for ws in nonempty], is_split_into_words=True, add_special_tokens=False)
    feats = []
    for i, ws in enumerate(nonempty):
        pieces, wids = enc["input_ids"][i][:max_length - 2], enc.word_ids(i)[:max_length - 2]
        shapes = [word_shape(w) for w, _, _ in ws]
        first: list[int | None] = [None] * len(ws)
        for j, w in enumerate(wids):
            if first[w] is None:
                first[w] = j + 1
        f = {"input_ids": [tok.cls_token_id] + pieces + [tok.sep_token_id],
             "shape_ids": [0] + [shapes[w] for w in wids] + [0], "first": first, "key": i}
        if spans is not None:
            s, e = spans[i]
            lab = [-100] * len(f["input_ids"])
            inside = False
            for x, (_, a, b) in enumerate(ws):
                if first[x] is None:
                    continue
                hit = a >= s and b <= e
                lab[first[x]] = 0 if not hit else (2 if inside else 1)
                inside = hit
            f["labels"] = lab
        if path_ids is not None:
            f["path_label"] = path_ids[i]
        feats.append(f)
    return feats, words


def decode_span(words: Sequence[tuple[str, int, int]], tags: Sequence[int], probs: Sequence[float]
                ) -> tuple[int, int, float] | None:
    """Best B I* run (by mean prob); stray I starts a run. None when no word is tagged."""
    best, i = None, 0
    while i < len(words):
        if tags[i] in (1, 2):
            j = i + 1
            while j < len(words) and tags[j] == 2:
                j += 1
            score = sum(probs[i:j]) / (j - i)
            if best is None or score > best[2]:
                best = (words[i][1], words[j - 1][2], score)
            i = j
        else:
            i += 1
    return best


class QuestionTrainer:
    """Fine-tune the joint question model on MetaQA-style files (bracketed entity + path labels)."""

    def __init__(self, args: TrainingArguments | None = None, base: str | None = None) -> None:
        self.args = args or TrainingArguments()
        self.base = base

    def run(self, train: str | Path, qtypes: str | Path | None, dev: str | Path, dev_qtypes: str | Path | None,
            out: str | Path, *, limit: int | None = None, dev_limit: int | None = None,
            on_epoch_end: Callable[[dict], None] | None = None, command: str | None = None) -> QuestionTrainingRun:
        from finetune.base import base_id, resolve_base
        from finetune.cards import data_record, make_card
        from finetune.metrics import question_scores

        a = self.args
        qtypes = qtypes or _sibling_qtypes(train)
        dev_qtypes = dev_qtypes or _sibling_qtypes(dev)
        if qtypes is None or dev_qtypes is None:
            raise ModelError("path labels are needed: pass --qtypes/--dev-qtypes (or keep <name>_qtype.txt beside the file)")
        tr = read_questions(train, qtypes)[:limit or None]
        dv = read_questions(dev, dev_qtypes)[:dev_limit or None]
        paths = sorted({q.path for q in tr if q.path})
        p2i = {p: i for i, p in enumerate(paths)}
        seed_everything(a.seed)  # heads and LoRA init are seeded too
        model, tok = build_model(self.base, len(SPAN_TAGS), len(paths), a.adapter, a.lora_r, a.lora_alpha,
                                 word_shape=a.word_shape)
        t0 = time.perf_counter()
        feats, _ = encode_questions(tok, [q.text for q in tr], a.max_length, [(q.start, q.end) for q in tr],
                                    [p2i[q.path] for q in tr])
        device = a.resolved_device()

        def evaluate(m) -> dict:
            t1 = time.perf_counter()
            pred = _parse(m, tok, paths, [q.text for q in dv], a.max_length, 256, device, use_bf16(a, device), 1)
            return question_scores(dv, pred) | {"questions_per_second": round(len(dv) / (time.perf_counter() - t1), 1)}

        result = fit(model, feats, evaluate, a, "both", on_epoch_end, tok.pad_token_id or 0)
        card = make_card("questions", base_id(self.base), resolve_base(self.base), a,
                         {"train": data_record(train, len(tr), qtypes=data_record(qtypes, len(tr))),
                          "dev": data_record(dev, len(dv), qtypes=data_record(dev_qtypes, len(dv)))},
                         result, time.perf_counter() - t0, command or " ".join(sys.argv))
        save_model(model.cpu(), tok, out, {"tags": SPAN_TAGS, "paths": paths}, card)
        return QuestionTrainingRun(Path(out), result, card)


def _sibling_qtypes(path: str | Path) -> Path | None:
    p = Path(path)
    q = p.with_name(p.stem + "_qtype" + p.suffix)
    return q if q.is_file() else None


def _parse(model, tok, paths: Sequence[str], texts: Sequence[str], max_length: int, batch_size: int,
           device: torch.device, bf16: bool, top_k: int, max_tokens: int | None = None) -> list[ParsedQuestion]:
    feats, words = encode_questions(tok, texts, max_length)
    out = []
    preds = predict_features(model, feats, batch_size, device, bf16, tok.pad_token_id or 0, max_tokens)
    for text, ws, (tags, probs, pp) in zip(texts, words, preds):
        span = decode_span(ws, tags, probs) if ws else None
        vals, idx = pp.topk(min(top_k, len(paths)))
        top = [(paths[int(i)], round(float(v), 4)) for v, i in zip(vals, idx)]
        if span is None:
            out.append(ParsedQuestion(text, None, 0, 0, 0.0, top))
        else:
            out.append(ParsedQuestion(text, text[span[0]:span[1]], span[0], span[1], round(span[2], 4), top))
    return out


class QuestionParser:
    """Questions in; topic-entity mention (text, char span, score) and top-k relation paths out."""

    def __init__(self, model_dir: str | Path | None = None, device: str | None = None, batch_size: int = 256,
                 top_k: int = 5, int8: bool | None = None, max_tokens: int | None = None) -> None:
        """`int8`: dynamic int8 quantisation of the encoder's Linear layers (None: on for CPU, where it doubles
        throughput at unchanged held-out accuracy; never on GPU); `max_tokens`: padded sub-tokens per batch
        (None: 4096 on CPU, uncapped on GPU)."""
        self.model_dir = Path(model_dir) if model_dir is not None else SHIPPED_QUESTIONS
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.batch_size, self.top_k, self.max_tokens = batch_size, top_k, max_tokens
        self.int8 = (int8 is None or int8) and self.device.type == "cpu"
        self._loaded: tuple | None = None

    def _load(self) -> tuple:
        if self._loaded is None:
            self._loaded = load_for_inference(self.model_dir, self.device, self.int8, "question", "questions")
        return self._loaded

    @property
    def paths(self) -> list[str]:
        return self._load()[2]["paths"]

    def run(self, questions: Sequence[str]) -> list[ParsedQuestion]:
        if isinstance(questions, str):
            raise TypeError("run() takes a sequence of questions, not one string")
        model, tok, labels, card = self._load()
        bf16 = self.device.type == "cuda" and torch.cuda.is_bf16_supported()
        return _parse(model, tok, labels["paths"], list(questions), card["hyperparameters"]["max_length"],
                      self.batch_size, self.device, bf16, self.top_k, self.max_tokens)


def questions_of(path: str | Path, qtypes: str | Path | None = None) -> list[Question]:
    """Read a questions file, finding `<stem>_qtype.txt` beside it when `qtypes` is not given."""
    return read_questions(path, qtypes or _sibling_qtypes(path))
