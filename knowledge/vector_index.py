"""Vector indexes for unit vectors (inner product = cosine), chosen by name from one registry.

Backends: "flat" (exact, faiss), "hnsw" (graph, faiss), "ivf" (inverted lists, faiss), "torch" (exact, torch
matmul + topk, on a GPU when torch sees one) and "auto" (picks by collection size and hardware).
All take int64 ids, support incremental add/remove, and save to / load from a folder.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from knowledge.errors import InputError

META_FILE = "vectors.json"
FAISS_FILE = "vectors.faiss"
TORCH_FILE = "vectors.safetensors"
AUTO_EXACT_MAX = 200_000  # CPU "auto" stays exact up to here: 133k movie facts, flat 1,088 q/s at recall 1.0 vs
# HNSW (M32, efSearch 128) 717 q/s at recall@10 0.938 (benchmarks/bench_retrieval.py --facts --sweep, 2 cores)


@runtime_checkable
class VectorIndex(Protocol):
    """What every backend offers. Scores are inner products; missing results have id -1."""

    name: str
    dim: int

    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None: ...
    def remove(self, ids: Sequence[int] | np.ndarray) -> int: ...
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...
    def __len__(self) -> int: ...
    def save(self, folder: str | Path) -> list[Path]: ...


def _as_ids(ids: Sequence[int] | np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


def _as_vectors(vectors: np.ndarray, dim: int) -> np.ndarray:
    arr = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"expected vectors of shape (n, {dim}), got {arr.shape}")
    return arr


def faiss_gpu_count() -> int:
    """GPUs faiss can use (0 with faiss-cpu)."""
    try:
        import faiss
    except ImportError:
        return 0
    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get is not None and hasattr(faiss, "StandardGpuResources") else 0


def torch_cuda() -> bool:
    """Whether torch sees a CUDA device."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())


class FaissIndex:
    """A faiss index behind IndexIDMap2 (flat, hnsw) or with native ids (ivf); moved to GPUs when faiss can."""

    def __init__(self, name: str, dim: int, *, hnsw_m: int = 32, ef_search: int = 128, ef_construction: int = 80,
                 nlist: int | None = None, nprobe: int | None = None, use_gpu: bool | None = None) -> None:
        if name not in ("flat", "hnsw", "ivf"):
            raise ValueError(f"unknown faiss index kind {name!r}")
        self.name, self.dim = name, dim
        self.hnsw_m, self.ef_search, self.ef_construction = hnsw_m, ef_search, ef_construction
        self.nlist, self.nprobe = nlist, nprobe
        self.use_gpu = use_gpu
        self._index: Any = None
        self._tombstones: set[int] = set()  # hnsw cannot delete: removed ids are filtered at search time

    # -- construction -------------------------------------------------------------------------------
    def _make(self, n_train: int) -> Any:
        import faiss

        if self.name == "flat":
            return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        if self.name == "hnsw":
            inner = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = self.ef_construction
            inner.hnsw.efSearch = self.ef_search
            return faiss.IndexIDMap2(inner)
        nlist = self.nlist or max(1, min(int(4 * math.sqrt(max(n_train, 1))), n_train // 39 or 1))
        self.nlist = nlist
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.nprobe = self.nprobe or max(8, nlist // 8)
        return index

    def _maybe_gpu(self, index: Any) -> Any:
        if self.use_gpu is False or self.name == "hnsw" or faiss_gpu_count() == 0:
            return index
        import faiss

        return faiss.index_cpu_to_all_gpus(index)

    def _cpu(self) -> Any:
        import faiss

        if self._index is not None and hasattr(faiss, "index_gpu_to_cpu") and faiss_gpu_count() > 0 \
                and self.name != "hnsw":
            try:
                return faiss.index_gpu_to_cpu(self._index)
            except (RuntimeError, TypeError, AttributeError):
                return self._index
        return self._index

    # -- protocol -----------------------------------------------------------------------------------
    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        ids_arr, vecs = _as_ids(ids), _as_vectors(vectors, self.dim)
        if len(ids_arr) != len(vecs):
            raise ValueError(f"{len(ids_arr)} ids for {len(vecs)} vectors")
        if not len(ids_arr):
            return
        if self._index is None:
            index = self._make(len(vecs))
            if self.name == "ivf":
                index.train(vecs)
            self._index = self._maybe_gpu(index)
        self.remove(ids_arr)  # adding an existing id replaces its vector
        if self._tombstones and self._tombstones.intersection(ids_arr.tolist()):
            self._compact()
        self._index.add_with_ids(vecs, ids_arr)

    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        ids_arr = _as_ids(ids)
        if self._index is None or not len(ids_arr):
            return 0
        import faiss

        if self.name != "hnsw":
            return int(self._index.remove_ids(faiss.IDSelectorBatch(ids_arr)))
        present = self._present(ids_arr)
        self._tombstones.update(present)
        if len(self._tombstones) > 0.25 * max(self._index.ntotal, 1):
            self._compact()
        return len(present)

    def _present(self, ids_arr: np.ndarray) -> list[int]:
        stored = set(self._stored_ids().tolist())
        return [i for i in dict.fromkeys(ids_arr.tolist()) if i in stored and i not in self._tombstones]

    def _stored_ids(self) -> np.ndarray:
        import faiss

        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def _compact(self) -> None:
        """Rebuild an HNSW index without its removed vectors."""
        ids = self._stored_ids()
        keep = np.array([i not in self._tombstones for i in ids.tolist()], dtype=bool)
        vecs = np.vstack([self._index.reconstruct(int(i)) for i in ids[keep]]) if keep.any() else None
        self._index, self._tombstones = None, set()
        if vecs is not None:
            self._index = self._make(len(vecs))
            self._index.add_with_ids(vecs, ids[keep])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = _as_vectors(queries, self.dim)
        if self._index is None or len(self) == 0 or k <= 0:
            return np.full((len(q), max(k, 0)), -np.inf, np.float32), np.full((len(q), max(k, 0)), -1, np.int64)
        kk = min(k, len(self))
        if self.name == "hnsw":
            import faiss

            params = faiss.SearchParametersHNSW()
            params.efSearch = max(self.ef_search, kk)
            sel = None
            if self._tombstones:
                sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(np.fromiter(self._tombstones, np.int64)))
                params.sel = sel
            scores, ids = self._index.search(q, kk, params=params)
            del sel
        else:
            scores, ids = self._index.search(q, kk)
        return _pad(scores, ids, k)

    def __len__(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal) - len(self._tombstones)

    def save(self, folder: str | Path) -> list[Path]:
        import faiss

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"backend": self.name, "dim": self.dim, "hnsw_m": self.hnsw_m, "ef_search": self.ef_search,
                "ef_construction": self.ef_construction, "nlist": self.nlist, "nprobe": self.nprobe,
                "tombstones": sorted(self._tombstones), "empty": self._index is None}
        written = [folder / META_FILE]
        if self._index is not None:
            faiss.write_index(self._cpu(), str(folder / FAISS_FILE))
            written.append(folder / FAISS_FILE)
        (folder / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
        return written

    @classmethod
    def load(cls, folder: str | Path, meta: dict[str, Any], use_gpu: bool | None = None) -> "FaissIndex":
        import faiss

        folder = Path(folder)
        self = cls(meta["backend"], int(meta["dim"]), hnsw_m=meta.get("hnsw_m", 32),
                   ef_search=meta.get("ef_search", 128), ef_construction=meta.get("ef_construction", 80),
                   nlist=meta.get("nlist"), nprobe=meta.get("nprobe"), use_gpu=use_gpu)
        if not meta.get("empty"):
            path = folder / FAISS_FILE
            try:
                index = faiss.read_index(str(path))
            except RuntimeError as exc:
                raise InputError(f"{path}: not a readable faiss index ({str(exc).splitlines()[0][:120]}); "
                                 "rebuild it with `kgreason index build`") from exc
            if index.d != self.dim:
                raise InputError(f"{path}: index has dimension {index.d}, metadata says {self.dim}")
            self._index = self._maybe_gpu(index)
        self._tombstones = set(int(i) for i in meta.get("tombstones", []))
        return self


def _pad(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float32)
    ids = np.asarray(ids, dtype=np.int64)
    scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)
    if ids.shape[1] < k:
        extra = k - ids.shape[1]
        scores = np.hstack([scores, np.full((len(ids), extra), -np.inf, np.float32)])
        ids = np.hstack([ids, np.full((len(ids), extra), -1, np.int64)])
    return scores, ids


class TorchIndex:
    """Exact inner-product search with torch (matmul + topk), on CUDA when available, else CPU.

    dtype "auto" stores float16 on CUDA (half the memory, tensor-core matmul) and float32 on CPU."""

    name = "torch"

    def __init__(self, dim: int, device: str | None = None, dtype: str = "auto",
                 query_batch: int = 4096) -> None:
        self.dim = dim
        self.device = device
        self.dtype = dtype
        self._auto_dtype = dtype == "auto"  # saved as "auto", so a GPU-built index still loads as fp32 on CPU
        self.query_batch = query_batch
        self._vecs: Any = None  # torch tensor (n, dim) on device
        self._ids: np.ndarray = np.zeros(0, np.int64)

    def _torch(self) -> Any:
        import torch

        if self.device is None:
            self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.dtype == "auto":
            self.dtype = "float16" if str(self.device).startswith("cuda") else "float32"
        return torch

    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        torch = self._torch()
        ids_arr, vecs = _as_ids(ids), _as_vectors(vectors, self.dim)
        if len(ids_arr) != len(vecs):
            raise ValueError(f"{len(ids_arr)} ids for {len(vecs)} vectors")
        if not len(ids_arr):
            return
        self.remove(ids_arr)
        new = torch.from_numpy(vecs).to(self.device, getattr(torch, self.dtype))
        self._vecs = new if self._vecs is None else torch.cat([self._vecs, new])
        self._ids = np.concatenate([self._ids, ids_arr])

    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        if self._vecs is None or not len(self._ids):
            return 0
        torch = self._torch()
        drop = np.isin(self._ids, _as_ids(ids))
        n = int(drop.sum())
        if n:
            keep = torch.from_numpy(~drop).to(self.device)
            self._vecs = self._vecs[keep]
            self._ids = self._ids[~drop]
        return n

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        torch = self._torch()
        q = _as_vectors(queries, self.dim)
        n = len(self)
        if n == 0 or k <= 0:
            return np.full((len(q), max(k, 0)), -np.inf, np.float32), np.full((len(q), max(k, 0)), -1, np.int64)
        kk = min(k, n)
        all_s, all_i = [], []
        with torch.inference_mode():
            for start in range(0, len(q), self.query_batch):
                qt = torch.from_numpy(q[start:start + self.query_batch]).to(self.device, self._vecs.dtype)
                s, i = torch.topk(qt @ self._vecs.T, kk, dim=1)
                all_s.append(s.float().cpu().numpy())
                all_i.append(i.cpu().numpy())
        scores, pos = np.vstack(all_s), np.vstack(all_i)
        return _pad(scores, self._ids[pos], k)

    def __len__(self) -> int:
        return len(self._ids)

    def save(self, folder: str | Path) -> list[Path]:
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        vecs = np.zeros((0, self.dim), np.float32) if self._vecs is None else \
            self._vecs.float().cpu().numpy()
        save_file({"vectors": vecs, "ids": self._ids}, str(folder / TORCH_FILE))
        meta = {"backend": "torch", "dim": self.dim, "dtype": "auto" if self._auto_dtype else self.dtype}
        (folder / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
        return [folder / META_FILE, folder / TORCH_FILE]

    @classmethod
    def load(cls, folder: str | Path, meta: dict[str, Any], device: str | None = None) -> "TorchIndex":
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        path = Path(folder) / TORCH_FILE
        try:
            data = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable vector file ({exc}); rebuild it with "
                             "`kgreason index build`") from exc
        self = cls(int(meta["dim"]), device=device, dtype=meta.get("dtype", "auto"))
        if data["vectors"].shape[1:] != (self.dim,) or len(data["ids"]) != len(data["vectors"]):
            raise InputError(f"{path}: vectors and ids do not match the metadata (dim {self.dim})")
        self.add(data["ids"], data["vectors"])
        return self


def backend_names() -> tuple[str, ...]:
    """Names create_index accepts."""
    return ("auto", "flat", "hnsw", "ivf", "torch")


def resolve_auto(size_hint: int) -> str:
    """What "auto" means for a collection of `size_hint` vectors on this machine."""
    if faiss_gpu_count() > 0:
        return "flat"  # exact search on the GPU through faiss
    if torch_cuda():
        return "torch"
    return "flat" if size_hint <= AUTO_EXACT_MAX else "hnsw"


def create_index(name: str, dim: int, size_hint: int = 0, **options: Any) -> VectorIndex:
    """Make an empty index by backend name ("auto" chooses from size_hint and the hardware)."""
    if name == "auto":
        name = resolve_auto(size_hint)
    if name in ("flat", "hnsw", "ivf"):
        return FaissIndex(name, dim, **options)
    if name == "torch":
        return TorchIndex(dim, **options)
    raise InputError(f"unknown vector index backend {name!r}; choose one of {', '.join(backend_names())}")


def load_index(folder: str | Path, **options: Any) -> VectorIndex:
    """Open an index saved by `save(folder)`."""
    path = Path(folder) / META_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        backend = meta["backend"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: missing or unreadable vector index metadata ({exc}); rebuild the index") from exc
    if backend in ("flat", "hnsw", "ivf"):
        return FaissIndex.load(folder, meta, **options)
    if backend == "torch":
        return TorchIndex.load(folder, meta, **options)
    raise InputError(f"{path}: unknown vector index backend {backend!r}")
