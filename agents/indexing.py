"""The retrieval index of a graph and document ingest, for both faces: open or build an index (cached per graph
under `knowledge.cache.default_cache_dir`, which honours $KGREASON_CACHE), and read documents into graph and index."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.cache import cache_root  # noqa: F401  (re-exported: the one cache root, for both faces)
from knowledge.errors import InputError
from knowledge.retrieval import KINDS, KnowledgeIndex, cache_folder, graph_fingerprint

if TYPE_CHECKING:
    from agents.ingest import IngestReport

__all__ = ["KINDS", "cache_root", "open_index", "build_index", "save_grown_index", "check_ner_profile",
           "ingest_documents"]


def open_index(graph: Any, folder: Path | None = None, kinds: Sequence[str] = ("entity", "fact"),
               backend: str = "auto") -> KnowledgeIndex:
    """The index in `folder` (built there when it holds none), else the graph's cached index (built and cached
    on first use)."""
    if folder is not None:
        if (folder / "manifest.json").exists():
            return KnowledgeIndex.open(folder, graph=graph)
        return KnowledgeIndex.build(graph, folder, kinds, backend=backend)
    return KnowledgeIndex.cached(graph, kinds, backend=backend)


def build_index(graph: Any, kinds: Sequence[str], out: Path | None = None, backend: str = "auto",
                progress: bool | None = True, embedder: str | None = None) -> tuple[KnowledgeIndex, Path]:
    """(Re)build the index of `graph` into `out` (default: the graph's cache folder); returns it and the folder.
    `embedder`: "static" (the default), "minilm" or a model folder."""
    fp = graph_fingerprint(graph)
    folder = Path(out) if out is not None else cache_folder(fp)
    index = KnowledgeIndex.build(graph, folder, kinds, embedder=embedder, backend=backend, progress=progress,
                                 fingerprint=fp)
    return index, folder


def save_grown_index(index: KnowledgeIndex, graph: Any, cache_dir: Path | None = None) -> Path:
    """Save an index grown in place (`add_triples` after a load) as the cached index of the graph as it is now,
    so the next start opens it instead of rebuilding; returns its folder."""
    fp = graph_fingerprint(graph)
    index.folder = cache_folder(fp, cache_dir)
    index.save(fingerprint=fp)
    return index.folder


def check_ner_profile(name: str) -> None:
    """InputError unless `name` is one of the NER inference presets."""
    from finetune.ner import NER_PROFILES

    if name not in NER_PROFILES:
        raise InputError(f"--ner-profile must be one of {', '.join(NER_PROFILES)}, got {name!r}")


def ingest_documents(graph: Any, files: Sequence[Path], *, index_dir: Path | None = None,
                     ner_model: Path | None = None, ner_profile: str = "accurate", with_index: bool = True,
                     graph_persists: bool = False) -> "IngestReport":
    """Passages of `files` and the entities NER finds in them into `graph`, the passages into its index. With
    no `index_dir`, the graph's cached index is grown in memory only (its cache folder must keep matching the
    graph it was built for), and re-cached under the grown graph's fingerprint when the graph persists."""
    from agents.ingest import DocumentIngestor
    from finetune.ner import NerTagger

    check_ner_profile(ner_profile)
    cached = index_dir is None
    index = open_index(graph, index_dir) if with_index else None
    tagger = NerTagger(ner_model, profile=ner_profile)
    report = DocumentIngestor(graph, index, tagger, save_index=not cached).run(files)
    if index is not None and cached and graph_persists:
        fp = graph_fingerprint(graph)
        index.folder = cache_folder(fp)
        index.save(fingerprint=fp)
    return report
