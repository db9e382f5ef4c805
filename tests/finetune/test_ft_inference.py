"""Inference paths: packed NER windows cover every word once, token-capped batches, int8 models (tiny BERT)."""
from __future__ import annotations

import pytest

from finetune.train import TrainingArguments, bucket_batches

CONLL = ("-DOCSTART- O\n\n" + "eu B-ORG\nrejects O\ngerman B-MISC\ncall O\n. O\n\n"
         "peter B-PER\nblackburn I-PER\nlives O\nin O\nlondon B-LOC\n\n"
         "john B-PER\nsmith I-PER\nworks O\nfor O\nacme B-ORG\ncorp I-ORG\n\n") * 4


def test_ft_bucket_batches_respects_token_cap():
    lengths = [5, 50, 7, 49, 6, 48, 100]
    batches = bucket_batches(lengths, 4, max_tokens=120)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 120
        assert len(b) <= 4
    assert bucket_batches(lengths, 4) == [[0, 4, 2, 5], [3, 1, 6]]  # uncapped: plain sorted chunks


@pytest.mark.parametrize("pack", [0, 12, 40, 200])
def test_ft_packed_windows_cover_each_word_once(tiny_bert, pack):
    from transformers import AutoTokenizer

    from finetune.ner import encode_docs

    tok = AutoTokenizer.from_pretrained(tiny_bert)
    docs = [[["peter", "blackburn", "lives", "in", "london", "."], ["john", "works", "for", "acme", "corp"], []],
            [["eu", "rejects", "german", "call"]], [["brussels"] * 70]]
    feats = encode_docs(tok, docs, max_length=32, context=4, pack=pack)
    seen = []
    for f in feats:
        assert len(f["input_ids"]) <= 32 and f["input_ids"][0] == tok.cls_token_id
        di, segs = f["key"]
        x = 0
        for si, w0, n in segs:
            for j in range(n):
                p = f["first"][x + j]
                word = docs[di][si][w0 + j]
                assert p is not None and f["input_ids"][p] == tok(word, add_special_tokens=False)["input_ids"][0]
                seen.append((di, si, w0 + j))
            x += n
    want = [(d, s, w) for d, doc in enumerate(docs) for s, sent in enumerate(doc) for w in range(len(sent))]
    assert sorted(seen) == want  # every word once, none twice (the 70-word sentence is split across windows)
    if pack == 0:
        assert all(len(f["key"][1]) == 1 for f in feats)
    if pack == 200:
        assert len([f for f in feats if f["key"][0] == 0]) == 1  # the first document shares one window


def test_ft_tagger_options_agree_on_structure(tiny_bert, tmp_path):
    from finetune.data import read_conll
    from finetune.ner import NerTagger, NerTrainer

    p = tmp_path / "t.txt"
    p.write_text(CONLL, encoding="utf-8")
    NerTrainer(TrainingArguments(epochs=1, lr=5e-3, batch_size=4, context=8, max_length=64, progress=False,
                                 device="cpu", patience=0), str(tiny_bert)).run(p, p, tmp_path / "m")
    words = [[s.tokens for s in read_conll(p).sentences]]
    base = NerTagger(tmp_path / "m", device="cpu").tag_words(words)
    def same(a, b):  # tags equal, probabilities equal up to float noise from different batch shapes
        flat_a = [x for d in a for s in d for x in s]
        flat_b = [x for d in b for s in d for x in s]
        return [t for t, _ in flat_a] == [t for t, _ in flat_b] and all(
            abs(p - q) < 1e-4 for (_, p), (_, q) in zip(flat_a, flat_b))

    assert same(NerTagger(tmp_path / "m", device="cpu", pack=1).tag_words(words), base)  # 1 sub-token: no packing
    assert same(NerTagger(tmp_path / "m", device="cpu", max_tokens=16).tag_words(words), base)  # batching invisible
    for kw in ({"pack": 40}, {"int8": True}, {"int8": "attention"}, {"context": 0}, {"profile": "fast"}):
        other = NerTagger(tmp_path / "m", device="cpu", **kw).tag_words(words)
        assert [[len(s) for s in d] for d in other] == [[len(s) for s in d] for d in base]
        labels = set(NerTagger(tmp_path / "m").labels)
        assert {t for d in other for s in d for t, _ in s} <= labels


def test_ft_int8_model_keeps_float_heads(tiny_bert):
    import torch

    from finetune.modeling import build_model, quantize_int8

    model, _ = build_model(str(tiny_bert), 5, 3, adapter="full")
    q = quantize_int8(model.eval())
    assert isinstance(q.tagger, torch.nn.Linear) and isinstance(q.paths, torch.nn.Linear)
    quantised = [m for m in q.body.encoder.modules() if "quantized.dynamic" in type(m).__module__]
    assert len(quantised) == sum(isinstance(m, torch.nn.Linear) for m in model.body.encoder.modules()) > 0
    assert not any("quantized" in type(m).__module__ for m in model.modules())  # the float model is untouched
    batch = {"input_ids": torch.tensor([[2, 10, 11, 3]]), "attention_mask": torch.ones(1, 4, dtype=torch.long),
             "shape_ids": torch.tensor([[0, 1, 1, 0]])}
    with torch.inference_mode():
        a, pa = model(batch)
        b, pb = q(batch)
    assert a.shape == b.shape and pa.shape == pb.shape
    assert torch.allclose(a.softmax(-1), b.softmax(-1), atol=0.05)


def test_ft_int8_attention_scope_leaves_feed_forward_float(tiny_bert):
    import torch

    from finetune.modeling import build_model, quantize_int8

    model, _ = build_model(str(tiny_bert), 5, 0, adapter="full")
    q = quantize_int8(model.eval(), "attention")
    names = {n for n, m in q.body.encoder.named_modules() if "quantized.dynamic" in type(m).__module__}
    assert names and all(".attention." in f".{n}." for n in names)
    floats = {n for n, m in q.body.encoder.named_modules() if type(m) is torch.nn.Linear}
    assert any("intermediate" in n for n in floats) and not floats & names
    with pytest.raises(ValueError, match="int8 scope"):
        quantize_int8(model, "everything")


def test_ft_tagger_profiles(tmp_path):
    from finetune.ner import NerTagger

    fast = NerTagger(tmp_path, device="cpu", profile="fast")
    assert (fast.pack, fast.context, fast.int8) == (128, 16, "attention")
    mixed = NerTagger(tmp_path, device="cpu", profile="fast", pack=0, int8=False)
    assert (mixed.pack, mixed.context, mixed.int8) == (0, 16, False)
    accurate = NerTagger(tmp_path, device="cpu")
    assert (accurate.pack, accurate.context, accurate.int8) == (None, None, False)  # the model card's
    with pytest.raises(ValueError, match="profile"):
        NerTagger(tmp_path, profile="quick")
