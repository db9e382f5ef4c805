"""KnowledgeIndex: semantic search over a graph's entities (names and aliases), facts and document passages.

A folder holds one vector index per kind (`vectors-<kind>/`), the entries as JSON lines (`entries.jsonl`) and
`manifest.json` (model id, graph fingerprint, counts, sha256 of every file). Opening checks all of it.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rapidfuzz import fuzz, process
from rdflib import RDF, Literal, URIRef

from knowledge.cache import default_cache_dir  # noqa: F401  (re-exported: callers import it from here)
from knowledge.embeddings import Embedder, index_embedder
from knowledge.errors import InputError
from knowledge.labels import LABEL_PREDICATES, normalise
from knowledge.namespaces import KGO
from knowledge.terms import Entity, Hit
from knowledge.vector_index import VectorIndex, create_index, load_index

if TYPE_CHECKING:
    from knowledge.graph import KnowledgeGraph

__all__ = ["Embedder", "Hit", "IndexEntry", "KnowledgeIndex", "SearchResult", "IndexCorruptError",
           "IndexMismatchError", "KINDS", "graph_fingerprint", "default_cache_dir", "cache_folder", "ProgressFn",
           "as_linker_fallback", "verbalise_fact"]

KINDS = ("entity", "fact", "passage")
FORMAT = 1
MANIFEST = "manifest.json"
ENTRIES = "entries.jsonl"
REBUILD_HINT = "rebuild it with `kgreason index build`"
EMBED_CHUNK = 2048  # texts per progress report when building with on_progress
#: `on_progress(done, total)` while texts are embedded
ProgressFn = Callable[[int, int], None]
#: predicates that are bookkeeping, not facts worth verbalising
_NOT_FACTS = frozenset({RDF.type, *LABEL_PREDICATES, KGO.mentions, KGO.source, KGO.start, KGO.end,
                        KGO.derivedBy, KGO.subjectRole, KGO.objectRole})


class IndexCorruptError(InputError):
    """An index folder whose files are missing, unreadable or changed since they were written."""


class IndexMismatchError(InputError):
    """An index built with another embedding model or over another graph."""


@dataclass(frozen=True)
class IndexEntry:
    """One indexed text. `text` is what was embedded; `label` is what a user is shown."""

    id: int
    kind: str
    text: str
    label: str
    iri: str | None = None
    types: tuple[str, ...] = ()
    triple: tuple[str, str, str] | None = None
    source: str | None = None
    start: int | None = None
    end: int | None = None

    def to_json(self) -> str:
        d = asdict(self)
        return json.dumps({k: v for k, v in d.items() if v not in (None, ())}, ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "IndexEntry":
        triple = d.get("triple")
        return cls(id=int(d["id"]), kind=str(d["kind"]), text=str(d["text"]), label=str(d["label"]),
                   iri=d.get("iri"), types=tuple(d.get("types", ())),
                   triple=tuple(triple) if triple else None,  # type: ignore[arg-type]
                   source=d.get("source"), start=d.get("start"), end=d.get("end"))


@dataclass
class SearchResult:
    """What `KnowledgeIndex.run` returns."""

    query: str
    hits: list[Hit] = field(default_factory=list)
    seconds: float = 0.0


def verbalise_fact(subject: str, prop: str, obj: str) -> str:
    """'Kismet' 'directed by' 'William Dieterle' -> 'Kismet directed by William Dieterle'."""
    return f"{subject} {prop} {obj}"


def graph_fingerprint(graph: "KnowledgeGraph") -> dict[str, Any]:
    """Triple count plus an order-independent hash of every triple (sum of per-triple blake2b digests)."""
    total = 0
    n = 0
    for s, p, o in graph.rdf:
        digest = hashlib.blake2b(f"{s.n3()} {p.n3()} {o.n3()}".encode(), digest_size=8).digest()
        total = (total + int.from_bytes(digest, "little")) & 0xFFFFFFFFFFFFFFFF
        n += 1
    return {"triples": n, "hash": f"{total:016x}"}


def cache_folder(fingerprint: dict[str, Any], cache_dir: str | Path | None = None) -> Path:
    """The folder `cached` uses for a graph with this fingerprint."""
    return Path(cache_dir or default_cache_dir()) / f"{fingerprint['triples']}-{fingerprint['hash']}"


#: cached index folders unused (not opened) for this many days are removed when another cached index is opened
CACHE_KEEP_DAYS = 30


@contextmanager
def folder_lock(folder: Path, exclusive: bool, wait: bool = True) -> Iterator[bool]:
    """An advisory lock between processes on an index folder (a `.NAME.lock` file beside it): one writer, or
    many readers. Yields False when `wait` is off and the lock is taken."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(_lock_path(folder), "a+b") as fh:
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(fh, mode)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _lock_path(folder: Path) -> Path:
    return folder.parent / f".{folder.name}.lock"


def _last_used(folder: Path) -> float:
    """When the cached folder was last saved or opened (its manifest's or its lock file's mtime)."""
    times = [p.stat().st_mtime for p in (folder / MANIFEST, _lock_path(folder)) if p.exists()]
    return max(times, default=0.0)


def prune_cache(cache_dir: str | Path | None = None, keep_days: float = CACHE_KEEP_DAYS) -> list[Path]:
    """Remove cached index folders (ones holding a manifest) not opened for `keep_days`, skipping any that
    another process holds; returns the removed folders."""
    root = Path(cache_dir or default_cache_dir())
    cutoff = time.time() - keep_days * 86400
    removed: list[Path] = []
    for manifest in root.glob(f"*/{MANIFEST}") if root.is_dir() else []:
        folder = manifest.parent
        try:
            if _last_used(folder) >= cutoff:
                continue
        except OSError:
            continue
        with folder_lock(folder, exclusive=True, wait=False) as mine:
            if mine:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        if not folder.exists():
            _lock_path(folder).unlink(missing_ok=True)
    return removed


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class KnowledgeIndex:
    """Entities, facts and passages of one graph, embedded with one model, searchable by text."""

    def __init__(self, folder: str | Path, embedder: Embedder | str | None = None, backend: str = "auto") -> None:
        """`embedder`: an Embedder, a registry name ("static", "minilm") or a model folder; None: "static"."""
        self.folder = Path(folder)
        self.embedder = index_embedder(embedder) if embedder is None or isinstance(embedder, (str, Path)) \
            else embedder
        self.backend = backend
        self.lexical_weight = 0.95  # entity search also matches spellings (0 turns that off)
        self.terms_weight = 0.6  # fact/passage scores mix in word (tf-idf) similarity (0 turns that off)
        self.entries: dict[int, IndexEntry] = {}
        self.vectors: dict[str, VectorIndex] = {}
        self.manifest: dict[str, Any] = {}
        self._next_id = 0
        self._lexicon: tuple[list[str], list[list[int]]] | None = None
        self._terms: dict[str, TermIndex] = {}
        self._pending: dict[str, list[IndexEntry]] = {}

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, graph: "KnowledgeGraph", folder: str | Path, kinds: Sequence[str] = ("entity", "fact"),
              embedder: Embedder | str | None = None, backend: str = "auto", progress: bool | None = None,
              fingerprint: dict[str, Any] | None = None,
              on_progress: ProgressFn | None = None) -> "KnowledgeIndex":
        """Embed the graph's entity names and/or verbalised facts (and existing passages) and save to `folder`.

        `on_progress(done, total)` is called as texts are embedded (total = texts to embed)."""
        fingerprint = fingerprint or graph_fingerprint(graph)
        self = cls.plan(graph, folder, kinds, embedder, backend)
        self.embed_pending(progress=progress, on_progress=on_progress)
        self.save(fingerprint=fingerprint)
        return self

    @classmethod
    def plan(cls, graph: "KnowledgeGraph", folder: str | Path, kinds: Sequence[str] = ("entity", "fact"),
             embedder: Embedder | str | None = None, backend: str = "auto") -> "KnowledgeIndex":
        """Read from the graph what `build` would embed (fast, the only step that touches the graph).

        Call `embed_pending()` (slow, graph not needed) and then `save(fingerprint=...)`."""
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            raise InputError(f"unknown index kind(s) {', '.join(bad)}; choose from {', '.join(KINDS)}")
        self = cls(folder, embedder, backend)
        self.manifest = {"kinds": list(dict.fromkeys(kinds))}
        collectors: dict[str, Callable[[], Iterator[IndexEntry]]] = {
            "entity": lambda: self._entity_entries(graph), "fact": lambda: self._fact_entries(graph),
            "passage": lambda: self._passage_entries(graph)}
        self._pending = {kind: list(collectors[kind]()) for kind in self.manifest["kinds"]}
        return self

    def pending_texts(self) -> int:
        """Distinct texts `embed_pending` still has to embed."""
        return sum(len({e.text for e in entries}) for entries in self._pending.values())

    def embed_pending(self, progress: bool | None = None, on_progress: ProgressFn | None = None) -> None:
        """Embed what `plan` collected (reporting `on_progress(done, total)` by chunks)."""
        total = self.pending_texts()
        done = 0
        for kind, entries in list(self._pending.items()):
            def report(n: int, base: int = done) -> None:
                if on_progress is not None:
                    on_progress(base + n, total)
            self._add_entries(entries, kind, progress=progress, on_chunk=report)
            done += len({e.text for e in entries})
            del self._pending[kind]
        if on_progress is not None:
            on_progress(total, total)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _entity_entries(self, graph: "KnowledgeGraph") -> Iterator[IndexEntry]:
        labels = graph.labels()
        passages = set(graph.subjects(RDF.type, KGO.Passage))
        types: dict[URIRef, tuple[str, ...]] = {}
        for key in labels.keys:
            for e in labels.entries(key):
                if e.iri in passages:
                    continue
                if e.iri not in types:
                    types[e.iri] = tuple(str(t) for t in graph.types(e.iri))
                yield IndexEntry(self._new_id(), "entity", e.label, e.label, str(e.iri), types[e.iri])

    def _fact_entries(self, graph: "KnowledgeGraph",
                      triples: Iterable[tuple[Any, Any, Any]] | None = None) -> Iterator[IndexEntry]:
        """Verbalised facts: every triple of the graph, or only `triples` (which the graph holds)."""
        labels = graph.labels()
        passages = set(graph.subjects(RDF.type, KGO.Passage))
        type_cache: dict[URIRef, list[str]] = {}

        def types(node: Any) -> list[str]:
            if not isinstance(node, URIRef):
                return []
            if node not in type_cache:
                type_cache[node] = [str(t) for t in graph.types(node)]
            return type_cache[node]

        def name(node: Any) -> str:
            if isinstance(node, Literal):
                return str(node)
            return labels.label_of(node) or graph.label(node)

        if triples is None:
            groups: Iterable[tuple[str, Iterable[tuple[Any, Any, Any]]]] = (
                (info.label, graph.triples((None, info.iri, None)))
                for info in graph.properties() if info.iri not in _NOT_FACTS)
        else:
            by_prop: dict[Any, list[tuple[Any, Any, Any]]] = {}
            facts = {info.iri for info in graph.properties()} - _NOT_FACTS  # as a rebuild: no rdfs:domain etc.
            for t in triples:
                if t[1] in facts:
                    by_prop.setdefault(t[1], []).append(t)
            groups = ((graph.label(p), ts) for p, ts in by_prop.items())
        for prop_label, group in groups:
            for s, p, o in group:
                if not isinstance(s, URIRef) or s in passages:
                    continue
                text = verbalise_fact(name(s), prop_label, name(o))
                yield IndexEntry(self._new_id(), "fact", text, text, str(s),
                                 tuple(dict.fromkeys(types(s) + types(o))), (str(s), str(p), str(o)))

    def _passage_entries(self, graph: "KnowledgeGraph", nodes: Iterable[Any] | None = None) -> Iterator[IndexEntry]:
        for node in graph.subjects(RDF.type, KGO.Passage) if nodes is None else nodes:
            text = next((str(v) for v in graph.objects(node, RDF.value) if isinstance(v, Literal)), None)
            if text is None:
                continue
            src = next((str(v) for v in graph.objects(node, KGO.source)), None)
            start = next((int(v.toPython()) for v in graph.objects(node, KGO.start) if isinstance(v, Literal)), None)
            end = next((int(v.toPython()) for v in graph.objects(node, KGO.end) if isinstance(v, Literal)), None)
            yield IndexEntry(self._new_id(), "passage", text, text[:120], str(node), (), None, src, start, end)

    def _add_entries(self, entries: list[IndexEntry], kind: str, progress: bool | None = None,
                     on_chunk: Callable[[int], None] | None = None) -> list[int]:
        if kind not in self.vectors:
            self.vectors[kind] = create_index(self.backend, self.embedder.dim, size_hint=len(entries))
        if not entries:
            return []
        unique = list(dict.fromkeys(e.text for e in entries))  # aliases and repeated facts embed once
        where = {t: i for i, t in enumerate(unique)}
        if on_chunk is None:
            unique_vecs = self.embedder.encode(unique, progress=progress)
        else:  # chunked, so that a UI can show how far it got
            parts = []
            for start in range(0, len(unique), EMBED_CHUNK):
                parts.append(self.embedder.encode(unique[start:start + EMBED_CHUNK], progress=False))
                on_chunk(min(start + EMBED_CHUNK, len(unique)))
            unique_vecs = np.vstack(parts)
        vecs = unique_vecs[[where[e.text] for e in entries]]
        ids = np.fromiter((e.id for e in entries), np.int64, len(entries))
        self.vectors[kind].add(ids, vecs)
        self.entries.update((e.id, e) for e in entries)
        if kind == "entity":
            self._lexicon = None
        self._terms.pop(kind, None)
        return ids.tolist()

    # ------------------------------------------------------------------ passages (document ingest)
    def add_passages(self, passages: Iterable[dict[str, Any]]) -> list[int]:
        """Index passages: dicts with text, iri (passage node), source, start, end. Call `save` afterwards."""
        entries = [IndexEntry(self._new_id(), "passage", p["text"], p["text"][:120], p.get("iri"), (), None,
                              p.get("source"), p.get("start"), p.get("end")) for p in passages]
        if "passage" not in self.manifest.setdefault("kinds", []):
            self.manifest["kinds"].append("passage")
        return self._add_entries(entries, "passage")

    def remove_source(self, source: str) -> int:
        """Drop every passage that came from `source`; returns how many."""
        ids = [e.id for e in self.entries.values() if e.kind == "passage" and e.source == source]
        if ids and "passage" in self.vectors:
            self.vectors["passage"].remove(ids)
        for i in ids:
            del self.entries[i]
        self._terms.pop("passage", None)
        return len(ids)

    # ------------------------------------------------------------------ incremental updates
    def add_triples(self, graph: "KnowledgeGraph", triples: Iterable[tuple[Any, Any, Any]],
                    progress: bool | None = None) -> dict[str, int]:
        """Index what `triples` (already added to `graph`) bring, instead of rebuilding: their facts, names of
        entities (and new aliases) and passages, for the kinds this index holds. Facts already indexed are
        skipped; facts about a renamed entity keep its old name. Call `save(fingerprint=...)` afterwards.
        Returns the entries added per kind."""
        triples = list(triples)
        kinds = self.manifest.setdefault("kinds", list(self.vectors))
        new: dict[str, list[IndexEntry]] = {}
        if "fact" in kinds:
            known = {e.triple for e in self.entries.values() if e.kind == "fact"}
            new["fact"] = [e for e in self._fact_entries(graph, triples) if e.triple not in known]
        if "entity" in kinds:
            new["entity"] = list(self._new_names(graph, triples))
        if "passage" in kinds:
            known_p = {e.iri for e in self.entries.values() if e.kind == "passage"}
            nodes = {s for s, p, o in triples if p == RDF.type and o == KGO.Passage and str(s) not in known_p}
            new["passage"] = list(self._passage_entries(graph, nodes))
        for kind, entries in new.items():
            if entries:
                self._add_entries(entries, kind, progress=progress)
        return {kind: len(entries) for kind, entries in new.items()}

    def remove_triples(self, triples: Iterable[tuple[Any, Any, Any]]) -> int:
        """Drop the facts of `triples` (removed from the graph); returns how many entries went."""
        gone = {(str(s), str(p), str(o)) for s, p, o in triples}
        ids = [e.id for e in self.entries.values() if e.kind == "fact" and e.triple in gone]
        if ids:
            self.vectors["fact"].remove(ids)
            for i in ids:
                del self.entries[i]
            self._terms.pop("fact", None)
        return len(ids)

    def _new_names(self, graph: "KnowledgeGraph", triples: list[tuple[Any, Any, Any]]) -> Iterator[IndexEntry]:
        """Entity entries for labels of the triples' resources that the index lacks."""
        labels = graph.labels()
        passages = set(graph.subjects(RDF.type, KGO.Passage))
        nodes = {n for s, _, o in triples for n in (s, o) if isinstance(n, URIRef) and n in labels}
        known = {(e.iri, e.label) for e in self.entries.values() if e.kind == "entity"}
        for node in nodes - passages:
            node_types = tuple(str(t) for t in graph.types(node))
            names = dict.fromkeys(str(v) for pred in LABEL_PREDICATES for v in graph.objects(node, pred)
                                  if isinstance(v, Literal))
            for label in names:
                if (str(node), label) not in known:
                    yield IndexEntry(self._new_id(), "entity", label, label, str(node), node_types)

    # ------------------------------------------------------------------ persistence
    def save(self, graph: "KnowledgeGraph | None" = None, fingerprint: dict[str, Any] | None = None) -> None:
        """Write vectors, entries and the manifest (last, with checksums) into the folder, holding its
        inter-process lock (another process saving the same folder waits; readers wait for the manifest)."""
        with folder_lock(self.folder, exclusive=True):
            self._save(graph, fingerprint)

    def _save(self, graph: "KnowledgeGraph | None", fingerprint: dict[str, Any] | None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        files: list[Path] = []
        for kind, index in self.vectors.items():
            sub = self.folder / f"vectors-{kind}"
            if sub.exists():
                shutil.rmtree(sub)
            files += index.save(sub)
        tmp = self.folder / (ENTRIES + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for e in self.entries.values():
                fh.write(e.to_json() + "\n")
        os.replace(tmp, self.folder / ENTRIES)
        files.append(self.folder / ENTRIES)
        if graph is not None or fingerprint is not None:
            self.manifest["graph"] = fingerprint or graph_fingerprint(graph)  # type: ignore[arg-type]
        counts = {k: 0 for k in self.vectors}
        for e in self.entries.values():
            counts[e.kind] = counts.get(e.kind, 0) + 1
        self.manifest.update({
            "format": FORMAT, "model_id": self.embedder.model_id, "embedder": self.embedder.name, "dim": self.embedder.dim,
            "backend": self.backend, "backends": {k: v.name for k, v in self.vectors.items()},
            "counts": counts, "next_id": self._next_id, "saved": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "files": {str(f.relative_to(self.folder)): _sha256(f) for f in files}})
        tmp = self.folder / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(self.manifest, indent=2), encoding="utf-8")
        os.replace(tmp, self.folder / MANIFEST)

    @classmethod
    def open(cls, folder: str | Path, graph: "KnowledgeGraph | None" = None, embedder: Embedder | str | None = None,
             verify: bool = True, fingerprint: dict[str, Any] | None = None) -> "KnowledgeIndex":
        """Load an index folder; checks checksums, the embedding model and (given a graph) the graph. Waits while
        another process saves it."""
        folder = Path(folder)
        with folder_lock(folder, exclusive=False):
            return cls._open(folder, graph, embedder, verify, fingerprint)

    @classmethod
    def _open(cls, folder: Path, graph: "KnowledgeGraph | None", embedder: Embedder | str | None, verify: bool,
              fingerprint: dict[str, Any] | None) -> "KnowledgeIndex":
        mpath = folder / MANIFEST
        if not mpath.is_file():
            raise IndexCorruptError(f"no index here (missing {MANIFEST}); {REBUILD_HINT}", folder)
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
            files: dict[str, str] = manifest["files"]
            model_id = manifest["model_id"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise IndexCorruptError(f"unreadable manifest ({exc}); {REBUILD_HINT}", mpath) from exc
        if manifest.get("format") != FORMAT:
            raise IndexMismatchError(f"index format {manifest.get('format')} is not {FORMAT}; {REBUILD_HINT}", mpath)
        if verify:
            for rel, digest in files.items():
                path = folder / rel
                if not path.is_file():
                    raise IndexCorruptError(f"missing index file; {REBUILD_HINT}", path)
                if _sha256(path) != digest:
                    raise IndexCorruptError(f"file changed or corrupted since the index was saved (checksum "
                                            f"mismatch); {REBUILD_HINT}", path)
        if embedder is None and manifest.get("embedder"):  # the model it was built with
            embedder = index_embedder(manifest["embedder"])
        self = cls(folder, embedder, manifest.get("backend", "auto"))
        if self.embedder.model_id != model_id:
            raise IndexMismatchError(f"index was built with embedding model {model_id}, the current model is "
                                     f"{self.embedder.model_id}; {REBUILD_HINT}", mpath)
        if graph is not None or fingerprint is not None:
            now = fingerprint or graph_fingerprint(graph)  # type: ignore[arg-type]
            if manifest.get("graph") != now:
                raise IndexMismatchError(f"index was built over another graph ({manifest.get('graph')}, this graph "
                                         f"is {now}); {REBUILD_HINT}", mpath)
        self.manifest = manifest
        self._next_id = int(manifest.get("next_id", 0))
        self.entries = _read_entries(folder / ENTRIES)
        for kind in manifest.get("backends", {}):
            sub = folder / f"vectors-{kind}"
            self.vectors[kind] = load_index(sub)
            n = sum(1 for e in self.entries.values() if e.kind == kind)
            if len(self.vectors[kind]) != n:
                raise IndexCorruptError(f"{len(self.vectors[kind])} vectors for {n} entries; {REBUILD_HINT}", sub)
        return self

    @classmethod
    def cached(cls, graph: "KnowledgeGraph", kinds: Sequence[str] = ("entity", "fact"),
               embedder: Embedder | str | None = None, cache_dir: str | Path | None = None,
               backend: str = "auto", progress: bool | None = None,
               on_progress: ProgressFn | None = None) -> "KnowledgeIndex":
        """Open the cached index of this graph (same fingerprint and kinds; the model it was built with unless
        `embedder` is given) or build and cache it (with `embedder`, else the default index embedder)."""
        fp = graph_fingerprint(graph)
        index = cls.open_cached(fp, kinds, embedder, cache_dir)
        if index is not None:
            return index
        return cls.build(graph, cache_folder(fp, cache_dir), kinds, embedder or index_embedder(), backend, progress,
                         fingerprint=fp, on_progress=on_progress)

    @classmethod
    def open_cached(cls, fingerprint: dict[str, Any], kinds: Sequence[str] = ("entity", "fact"),
                    embedder: Embedder | str | None = None,
                    cache_dir: str | Path | None = None) -> "KnowledgeIndex | None":
        """The cached index for a graph fingerprint holding at least `kinds`, or None (missing, stale, corrupt).
        Opening marks it used; cached folders unused for CACHE_KEEP_DAYS are removed."""
        folder = cache_folder(fingerprint, cache_dir)
        try:
            index = cls.open(folder, embedder=embedder, fingerprint=fingerprint)
            os.utime(_lock_path(folder))  # used now (the lock file's mtime): kept by prune_cache
        except (InputError, OSError):
            return None
        finally:
            prune_cache(cache_dir)
        return index if set(kinds) <= set(index.manifest.get("kinds", [])) else None

    # ------------------------------------------------------------------ searching
    def __len__(self) -> int:
        return len(self.entries)

    def counts(self) -> dict[str, int]:
        """Entries per kind."""
        out: dict[str, int] = {}
        for e in self.entries.values():
            out[e.kind] = out.get(e.kind, 0) + 1
        return out

    def search(self, text: str, k: int = 10, kind: str | None = None,
               entity_type: str | URIRef | Sequence[str] | None = None) -> list[Hit]:
        """The k entries closest to `text`, best first, optionally only of one kind and/or entity type."""
        return self.search_many([text], k, kind, entity_type)[0]

    def search_many(self, texts: Sequence[str], k: int = 10, kind: str | None = None,
                    entity_type: str | URIRef | Sequence[str] | None = None) -> list[list[Hit]]:
        """`search` for many queries at once (one encoder batch, one vector search per kind)."""
        if kind is not None and kind not in KINDS:
            raise InputError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
        if not texts:
            return []
        wanted = None
        if entity_type is not None:
            wanted = {str(entity_type)} if isinstance(entity_type, (str, URIRef)) else {str(t) for t in entity_type}
        kinds = [kind] if kind else list(self.vectors)
        queries = self.embedder.encode(list(texts))
        results: list[list[Hit]] = [[] for _ in texts]
        for kd in kinds:
            index = self.vectors.get(kd)
            if index is None or not len(index):
                continue
            if kd != "entity" and self.terms_weight > 0:
                found = self._hybrid(kd, index, texts, queries, k, wanted)
            else:
                found = self._search_kind(index, queries, k, wanted)
            for row, hits in enumerate(found):
                results[row].extend(hits)
            if kd == "entity" and self.lexical_weight > 0:
                for row, text in enumerate(texts):
                    results[row] = _merge(results[row], self._lexical(text, k, wanted))
        return [sorted(r, key=lambda h: -h.score)[:k] for r in results]

    def _hybrid(self, kind: str, index: VectorIndex, texts: Sequence[str], queries: np.ndarray, k: int,
                wanted: set[str] | None) -> list[list[Hit]]:
        """Vector and tf-idf candidates of one kind, rescored as (1 - w) * cosine + w * tf-idf cosine."""
        depth = max(4 * k, 40)
        w = self.terms_weight
        terms = self._terms.get(kind)
        if terms is None:
            ids = [e.id for e in self.entries.values() if e.kind == kind]
            terms = self._terms[kind] = TermIndex(ids, [self.entries[i].text for i in ids])
        by_vector = self._search_kind(index, queries, depth, wanted)
        by_terms = terms.search(texts, depth)
        out = []
        for row, (vhits, thits) in enumerate(zip(by_vector, by_terms)):
            cos = {(h.kind, h.iri, h.text): h.score for h in vhits}
            hits = {(h.kind, h.iri, h.text): h for h in vhits}
            for i in thits:
                h = self._hit(i, 0.0)
                if wanted is None or wanted.intersection(h.types):
                    hits.setdefault((h.kind, h.iri, h.text), h)
            todo = [key for key in hits if key not in cos]
            if todo:  # cosines of word matches the vector search did not reach
                vecs = self.embedder.encode([key[2] for key in todo], progress=False)
                cos.update(zip(todo, (vecs @ queries[row]).tolist()))
            tf = terms.scores(texts[row], [h.text for h in hits.values()])
            scored = [replace(h, score=(1 - w) * cos[key] + w * t) for (key, h), t in zip(hits.items(), tf)]
            out.append(sorted(scored, key=lambda h: -h.score)[:k])
        return out

    def _lexical(self, text: str, k: int, wanted: set[str] | None) -> list[Hit]:
        """Entity names spelled like `text` (rapidfuzz ratio over normalised labels), scored into [0, weight]."""
        if self._lexicon is None:
            by_key: dict[str, list[int]] = {}
            for e in self.entries.values():
                if e.kind == "entity":
                    by_key.setdefault(normalise(e.label), []).append(e.id)
            self._lexicon = (list(by_key), list(by_key.values()))
        keys, ids = self._lexicon
        query = normalise(text)
        if not query or not keys:
            return []
        found = process.extract(query, keys, scorer=fuzz.ratio, limit=k, score_cutoff=60)
        hits = [self._hit(i, self.lexical_weight * score / 100.0) for _, score, pos in found for i in ids[pos]]
        return [h for h in hits if wanted is None or wanted.intersection(h.types)]

    def _search_kind(self, index: VectorIndex, queries: np.ndarray, k: int,
                     wanted: set[str] | None) -> list[list[Hit]]:
        depth = k if wanted is None else k * 8
        out: list[list[Hit]] = [[] for _ in range(len(queries))]
        todo = list(range(len(queries)))
        while todo:
            scores, ids = index.search(queries[todo], min(depth, len(index)))
            again = []
            for row, srow, irow in zip(todo, scores, ids):
                hits = [self._hit(int(i), float(s)) for s, i in zip(srow, irow) if i >= 0]
                if wanted is not None:
                    hits = [h for h in hits if wanted.intersection(h.types)]
                if len(hits) >= k or depth >= len(index):
                    out[row] = hits[:k]
                else:
                    again.append(row)
            todo, depth = again, depth * 8
        return out

    def _hit(self, i: int, score: float) -> Hit:
        e = self.entries[i]
        return Hit(score, e.kind, e.label, e.iri, e.text, e.triple, e.source, e.types, e.start, e.end)

    def run(self, query: str, k: int = 10, kind: str | None = None, entity_type: str | None = None) -> SearchResult:
        """Search, timed."""
        t0 = time.perf_counter()
        hits = self.search(query, k, kind, entity_type)
        return SearchResult(query, hits, time.perf_counter() - t0)


class TermIndex:
    """Tf-idf (sublinear tf, word unigrams) over texts: finds facts and passages by the rare words they share with
    a query (names), which a static embedding averages away."""

    def __init__(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.ids = np.asarray(ids, dtype=np.int64)
        self.vectorizer = TfidfVectorizer(token_pattern=r"(?u)\b\w+\b", sublinear_tf=True, dtype=np.float32)
        self.matrix = self.vectorizer.fit_transform(texts) if len(texts) else None

    def search(self, texts: Sequence[str], k: int) -> list[list[int]]:
        """Entry ids of the k texts with the highest tf-idf cosine per query (only those sharing a word)."""
        if self.matrix is None:
            return [[] for _ in texts]
        sims = (self.vectorizer.transform(texts) @ self.matrix.T).tocsr()
        out = []
        for row in range(len(texts)):
            lo, hi = sims.indptr[row], sims.indptr[row + 1]
            cols, vals = sims.indices[lo:hi], sims.data[lo:hi]
            top = np.argpartition(-vals, k)[:k] if len(vals) > k else np.arange(len(vals))
            top = top[np.argsort(-vals[top], kind="stable")]
            out.append(self.ids[cols[top]].tolist())
        return out

    def scores(self, text: str, texts: Sequence[str]) -> list[float]:
        """Tf-idf cosine of `text` with each of `texts`."""
        if self.matrix is None or not texts:
            return [0.0] * len(texts)
        q = self.vectorizer.transform([text])
        return np.asarray((self.vectorizer.transform(texts) @ q.T).todense()).ravel().tolist()


def _merge(a: list[Hit], b: list[Hit]) -> list[Hit]:
    """Union of two hit lists, one hit per entry (same kind, iri and label), keeping the higher score."""
    best: dict[tuple[str, str | None, str], Hit] = {}
    for h in [*a, *b]:
        key = (h.kind, h.iri, h.label)
        if key not in best or h.score > best[key].score:
            best[key] = h
    return list(best.values())


def _read_entries(path: Path) -> dict[int, IndexEntry]:
    entries: dict[int, IndexEntry] = {}
    try:
        fh = path.open(encoding="utf-8")
    except OSError as exc:
        raise IndexCorruptError(f"cannot read entries ({exc.strerror}); {REBUILD_HINT}", path) from exc
    with fh:
        try:
            for no, line in enumerate(fh, 1):
                try:
                    e = IndexEntry.from_dict(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    raise IndexCorruptError(f"bad entry ({exc}); {REBUILD_HINT}", path, no) from exc
                entries[e.id] = e
        except UnicodeDecodeError as exc:
            raise IndexCorruptError(f"not UTF-8; {REBUILD_HINT}", path) from exc
    return entries


def as_linker_fallback(index: KnowledgeIndex, min_score: float = 0.5) -> Callable[[str, int], list[Entity]]:
    """A `(mention, k) -> [Entity]` hook for EntityLinker(fallback=...) that searches entity names."""

    def fallback(mention: str, k: int = 10) -> list[Entity]:
        seen: set[str] = set()
        out = []
        for h in index.search(mention, k=k * 2, kind="entity"):
            if h.iri and h.iri not in seen and h.score >= min_score:
                seen.add(h.iri)
                out.append(Entity(URIRef(h.iri), h.label, float(h.score), "embedding"))
        return out[:k]

    return fallback
