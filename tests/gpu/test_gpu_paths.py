"""Checks for the GPU code paths: run with `pytest -m gpu` on a machine with CUDA (skipped elsewhere)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def test_gpu_torch_index_matches_exact_cpu_search() -> None:
    from knowledge.vector_index import create_index

    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((5000, 64)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(5000, dtype=np.int64) + 7
    queries = vecs[:50] + 0.01 * rng.standard_normal((50, 64)).astype(np.float32)
    gpu = create_index("torch", 64, device="cuda")
    gpu.add(ids, vecs)
    _, got = gpu.search(queries, 5)
    want = ids[np.argsort(-(queries @ vecs.T), axis=1)[:, :5]]
    assert (got[:, 0] == want[:, 0]).all()  # the nearest neighbour is exact even in fp16
    assert np.mean([len(set(g) & set(w)) / 5 for g, w in zip(got, want)]) > 0.95


def test_gpu_training_learns_with_bf16(tiny_bert, tmp_path) -> None:
    from finetune.ner import NerTrainer, NerTagger
    from finetune.train import TrainingArguments

    train = tmp_path / "train.txt"
    sentence = "\n".join(f"{w} {t}" for w, t in zip("john smith lives in london .".split(),
                                                   ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]))
    train.write_text("\n\n".join([sentence] * 64) + "\n", encoding="utf-8")
    args = TrainingArguments(epochs=3, lr=5e-3, batch_size=16, device="cuda", progress=False, context=0)
    run = NerTrainer(args, str(tiny_bert)).run(train, train, tmp_path / "m")
    assert run.result.last_loss < run.result.first_loss
    spans = NerTagger(tmp_path / "m", device="cuda").run(["john smith lives in london ."])[0]
    assert {s.label for s in spans} <= {"PER", "LOC"}


def test_gpu_fp16_embeddings_match_cpu() -> None:
    from knowledge.embeddings import Embedder

    texts = ["Kismet was directed by William Dieterle", "Temuera Morrison", "who directed Kismet"]
    cpu = Embedder(device="cpu").encode(texts)
    gpu = Embedder(device="cuda").encode(texts)
    assert gpu.dtype == np.float32 and np.allclose(np.linalg.norm(gpu, axis=1), 1.0, atol=1e-3)
    assert (np.sum(cpu * gpu, axis=1) > 0.999).all()
