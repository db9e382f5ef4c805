"""Evaluate a saved NER or question model on a data file; returns JSON-ready dicts."""
from __future__ import annotations

import time
from pathlib import Path

from finetune.data import read_ner
from finetune.metrics import ner_scores, question_scores


def evaluate_ner(model: str | Path | object | None, data: str | Path, *, limit: int | None = None,
                 repair: bool = False, profile: str = "accurate", pack: int | None = None,
                 int8: bool | str | None = None) -> dict:
    """seqeval strict IOB2 scores of a NER model folder (or a NerTagger) on a CoNLL/JSONL file."""
    from finetune.ner import NerTagger, _docs

    tagger = model if isinstance(model, NerTagger) else NerTagger(model, profile=profile, pack=pack, int8=int8)
    corpus = read_ner(data, repair=repair, labels=tagger.labels)
    docs = _docs(corpus, limit)
    words = [[s.tokens for s in d] for d in docs]
    tagger.tag_words(words[:1])  # load the model outside the timed part
    t0 = time.perf_counter()
    pred = tagger.tag_words(words)
    secs = time.perf_counter() - t0
    gold = [s.tags for d in docs for s in d]
    scores = ner_scores(gold, [[t for t, _ in s] for d in pred for s in d])
    return scores | {"sentences_per_second": round(len(gold) / secs, 1)}


def evaluate_questions(model: str | Path | object | None, data: str | Path, qtypes: str | Path | None = None, *,
                       limit: int | None = None, int8: bool | None = None) -> dict:
    """Entity-span and top-1 path accuracy of a question model on a bracketed questions file."""
    from finetune.questions import QuestionParser, questions_of

    parser = model if isinstance(model, QuestionParser) else QuestionParser(model, int8=int8)
    gold = questions_of(data, qtypes)[:limit or None]
    parser.run([gold[0].text])  # load the model outside the timed part
    t0 = time.perf_counter()
    pred = parser.run([q.text for q in gold])
    secs = time.perf_counter() - t0
    return question_scores(gold, pred) | {"questions_per_second": round(len(gold) / secs, 1)}
