"""One suite over every vector index backend: same answers as exact search, ids, add/remove, save/load."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.errors import InputError
from knowledge.vector_index import VectorIndex, backend_names, create_index, load_index

DIM = 32
BACKENDS = [name for name in backend_names() if name != "auto"] + ["auto"]


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture()
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    vecs = _unit(rng, 600)
    ids = np.arange(1000, 1600, dtype=np.int64)
    queries = vecs[:20] + 0.05 * _unit(rng, 20)
    return ids, vecs, queries.astype(np.float32)


def _exact(ids: np.ndarray, vecs: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-(queries @ vecs.T), axis=1)[:, :k]
    return ids[order]


@pytest.mark.parametrize("backend", BACKENDS)
def test_ret_search_matches_exact(backend: str, data) -> None:
    ids, vecs, queries = data
    index = create_index(backend, DIM, size_hint=len(ids))
    assert isinstance(index, VectorIndex)
    index.add(ids, vecs)
    assert len(index) == 600
    scores, got = index.search(queries, 10)
    assert got.shape == (20, 10) and scores.dtype == np.float32
    want = _exact(ids, vecs, queries, 10)
    assert (got[:, 0] == ids[:20]).all()  # each query's nearest is the vector it came from
    recall = np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want)])
    assert recall >= 0.9
    assert (np.diff(scores, axis=1) <= 1e-5).all()  # best first


@pytest.mark.parametrize("backend", BACKENDS)
def test_ret_remove_and_readd(backend: str, data) -> None:
    ids, vecs, queries = data
    index = create_index(backend, DIM)
    index.add(ids, vecs)
    assert index.remove(ids[:5]) == 5
    assert index.remove([999_999]) == 0
    assert len(index) == 595
    _, got = index.search(queries[:5], 3)
    assert not set(got.ravel()) & set(ids[:5].tolist())
    # adding an id again replaces its vector rather than duplicating it
    index.add(ids[:1], vecs[5:6])
    assert len(index) == 596
    _, got = index.search(vecs[5:6], 2)
    assert set(got[0]) == {ids[0], ids[5]}
    index.add(ids[:1], vecs[6:7])
    assert len(index) == 596


@pytest.mark.parametrize("backend", BACKENDS)
def test_ret_save_load_roundtrip(backend: str, data, tmp_path: Path) -> None:
    ids, vecs, queries = data
    index = create_index(backend, DIM)
    index.add(ids, vecs)
    index.remove(ids[-3:])
    index.save(tmp_path)
    again = load_index(tmp_path)
    assert len(again) == len(index) == 597
    s1, i1 = index.search(queries, 5)
    s2, i2 = again.search(queries, 5)
    assert (i1 == i2).all()
    np.testing.assert_allclose(s1, s2, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ret_small_and_empty(backend: str) -> None:
    index = create_index(backend, DIM)
    scores, got = index.search(np.ones((1, DIM), np.float32), 3)
    assert (got == -1).all()
    index.add([7], np.eye(1, DIM, dtype=np.float32))
    scores, got = index.search(np.eye(1, DIM, dtype=np.float32), 3)
    assert got[0].tolist() == [7, -1, -1]
    assert scores[0, 0] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        index.add([1, 2], np.zeros((1, DIM), np.float32))


def test_ret_corrupt_faiss_file(tmp_path: Path, data) -> None:
    ids, vecs, _ = data
    index = create_index("flat", DIM)
    index.add(ids, vecs)
    index.save(tmp_path)
    (tmp_path / "vectors.faiss").write_bytes(b"garbage" * 10)
    with pytest.raises(InputError, match="vectors.faiss"):
        load_index(tmp_path)


def test_ret_unknown_backend() -> None:
    with pytest.raises(InputError, match="unknown vector index backend"):
        create_index("annoy", DIM)
