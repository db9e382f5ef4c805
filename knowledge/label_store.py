"""A persistent label index in SQLite (stdlib sqlite3): exact, normalised and fuzzy (FTS5 trigram) lookups
without holding the graph's labels in memory.

It offers what the entity linker reads from `LabelIndex` (`exact`, `normalised`, `entries`, `label_of`) plus
`fuzzy_keys(key, limit)`: the normalised keys sharing the most character trigrams with `key`, which the
linker re-scores with rapidfuzz instead of scanning every key. Keys are `knowledge.labels.normalise`.
Kept in the store's folder (`LABELS_FILE`), so the atomic swap of a load replaces store and index together."""
from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import shutil
import sqlite3
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rdflib import RDF, URIRef

from knowledge.errors import BackendError
from knowledge.labels import LABEL_PREDICATES, VOCABULARY_TYPES, name_keys, normalise
from knowledge.terms import Entity

LABELS_FILE = "kgreason-labels.sqlite"
#: bumped when the layout or the keys change; an index of another version is rebuilt when opened
SCHEMA_VERSION = "2"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS labels (iri TEXT NOT NULL, label TEXT NOT NULL, norm TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_FTS = "CREATE VIRTUAL TABLE IF NOT EXISTS keys USING fts5 (norm, content = 'labels', tokenize = 'trigram');"
_INDEXES = """
CREATE INDEX IF NOT EXISTS labels_norm ON labels (norm);
CREATE INDEX IF NOT EXISTS labels_iri ON labels (iri);
""" + _FTS


class LabelStore:
    """Labels of one graph in an SQLite file; reads are cheap point queries, safe from several threads."""

    def __init__(self, path: str | Path, *, readonly: bool = True) -> None:
        self.path = Path(path)
        uri = f"file:{self.path}?mode={'ro' if readonly else 'rwc'}"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        if not readonly:
            self._db.executescript(_SCHEMA)

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, path: str | Path, pairs: Iterable[tuple[str, str]], meta: dict[str, str] | None = None,
              batch: int = 50_000) -> "LabelStore":
        """Write a fresh index from (iri, label) pairs (streamed in batches: memory stays bounded)."""
        builder = LabelBuilder(Path(path))
        rows: list[tuple[str, str]] = []
        for pair in pairs:
            rows.append(pair)
            if len(rows) >= batch:
                builder.add(rows)
                rows.clear()
        builder.add(rows)
        return builder.finish(meta or {})

    def add(self, pairs: Iterable[tuple[str, str]], triples: int | None = None) -> None:
        """Add (iri, label) pairs (and record the graph's new size) in one transaction."""
        rows = [(iri, label, key) for iri, label in pairs for key in name_keys(label) if key]
        db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True)
        try:
            with db:
                new = [r for r in dict.fromkeys(rows) if db.execute(
                    "SELECT 1 FROM labels WHERE iri = ? AND label = ? AND norm = ?", r).fetchone() is None]
                for r in new:
                    cur = db.execute("INSERT INTO labels VALUES (?, ?, ?)", r)
                    db.execute("INSERT INTO keys (rowid, norm) VALUES (?, ?)", (cur.lastrowid, r[2]))
                if triples is not None:
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('triples', ?)", (str(triples),))
                if new:
                    n = db.execute("SELECT COUNT(DISTINCT iri) FROM labels").fetchone()[0]
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('resources', ?)", (str(n),))
        finally:
            db.close()

    # ------------------------------------------------------------------ reading
    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def __len__(self) -> int:
        """Labelled resources."""
        found = self.meta("resources")
        if found is None:
            found = str(self._db.execute("SELECT COUNT(DISTINCT iri) FROM labels").fetchone()[0])
        return int(found)

    def __contains__(self, iri: object) -> bool:
        return self._db.execute("SELECT 1 FROM labels WHERE iri = ? LIMIT 1", (str(iri),)).fetchone() is not None

    def label_of(self, iri: URIRef) -> str | None:
        row = self._db.execute("SELECT label FROM labels WHERE iri = ? ORDER BY rowid LIMIT 1",
                               (str(iri),)).fetchone()
        return row[0] if row else None

    def exact(self, name: str) -> list[URIRef]:
        """Resources whose label is exactly `name`."""
        rows = self._db.execute("SELECT iri FROM labels WHERE norm = ? AND label = ? ORDER BY rowid",
                                (normalise(name), name))
        return [URIRef(i) for i in dict.fromkeys(r[0] for r in rows)]

    def normalised(self, name: str) -> list[Entity]:
        """Resources whose label has a normalised key of `name` (`knowledge.labels.name_keys`)."""
        out: list[Entity] = []
        for key in name_keys(name):
            out.extend(e for e in self.entries(key) if e not in out)
        return out

    def partial(self, name: str, limit: int = 50) -> list[Entity]:
        """As `LabelIndex.partial`: labels holding the words of `name` as a whole-word run but longer, best
        first (at most `limit` keys looked at: past a few, a partial name names nothing in particular)."""
        key = normalise(name)
        if not key:
            return []
        out: list[Entity] = []
        for k in self.keys_with_words(key, limit):
            out.extend(e for e in self.entries(k) if e not in out)
        return out

    def keys_with_words(self, key: str, limit: int = 50) -> list[str]:
        """Keys other than `key` holding it as a whole-word run: those starting with it (B-tree range), then
        those with it after a space (FTS5 trigram substring match); the run at the start, then shorter keys."""
        found = [r[0] for r in self._db.execute("SELECT DISTINCT norm FROM labels WHERE norm >= ? AND norm < ? "
                                                "LIMIT ?", (key + " ", key + "!", limit))]
        if len(key) >= 2:
            inner = '"' + (" " + key).replace('"', '""') + '"'
            found += [r[0] for r in self._db.execute("SELECT norm FROM keys WHERE keys MATCH ? LIMIT ?",
                                                     (inner, limit * 4))]
        hits = [k for k in dict.fromkeys(found) if k != key and f" {key} " in f" {k} "]
        hits.sort(key=lambda k: (not k.startswith(key + " "), len(k), k))
        return hits[:limit]

    def entries(self, key: str) -> list[Entity]:
        """Resources under one normalised key."""
        rows = self._db.execute("SELECT DISTINCT iri, label FROM labels WHERE norm = ? ORDER BY rowid", (key,))
        return [Entity(URIRef(i), label) for i, label in rows]

    def has_key_starting(self, word: str) -> bool:
        """Whether some normalised key is `word` or starts with `word` and a space."""
        w = normalise(word)
        if not w:
            return False
        row = self._db.execute("SELECT 1 FROM labels WHERE norm = ? OR (norm >= ? AND norm < ?) LIMIT 1",
                               (w, w + " ", w + "!")).fetchone()
        return row is not None

    def fuzzy_keys(self, key: str, limit: int = 200, probes: int = 8) -> list[str]:
        """Keys sharing character trigrams with `key`, most shared first: the `probes` rarest trigrams of the
        key (a typo spoils at most three) are looked up in the FTS5 trigram index."""
        grams = sorted({key[i:i + 3] for i in range(len(key) - 2)})
        if not grams:
            return []
        counts = []
        for g in grams:
            quoted = '"' + g.replace('"', '""') + '"'  # an FTS5 string literal: the trigram is matched as text
            n = self._db.execute("SELECT COUNT(*) FROM (SELECT 1 FROM keys WHERE keys MATCH ? LIMIT 5000)",
                                 (quoted,)).fetchone()[0]
            counts.append((n, quoted))
        counts.sort()
        chosen = [q for n, q in counts[:probes] if n]
        if not chosen:
            return []
        rows = self._db.execute("SELECT norm FROM keys WHERE keys MATCH ? ORDER BY rank LIMIT ?",
                                (" OR ".join(chosen), limit))
        return list(dict.fromkeys(r[0] for r in rows))

    @property
    def keys(self) -> Iterator[str]:
        """Every normalised key, streamed (LabelIndex gives a list; here the keys may not fit in memory)."""
        return (r[0] for r in self._db.execute("SELECT DISTINCT norm FROM labels ORDER BY norm"))

    def items(self) -> Iterator[tuple[URIRef, str]]:
        """(iri, label) for every indexed label."""
        for i, label in self._db.execute("SELECT iri, label FROM labels ORDER BY rowid"):
            yield URIRef(i), label

    def close(self) -> None:
        self._db.close()


class LabelBuilder:
    """Writes a label index file in two steps: rows as they come (`add`, or `put` to a writer thread, e.g. from
    a load's converter while the store parses), each batch also entered in the FTS5 trigram index of a fresh
    file; then once the B-tree indexes (`index`). Used on a fresh staging file only (no journal, no fsync: a
    killed build leaves a file nobody opens). `base` starts from a copy of an existing index (its rows kept
    first; its FTS5 index rebuilt in one pass with the new rows)."""

    def __init__(self, path: Path, base: Path | None = None) -> None:
        self.path = path
        path.unlink(missing_ok=True)
        if base is not None:
            shutil.copyfile(base, path)
        self._db = sqlite3.connect(path, check_same_thread=False)  # written to by the writer thread, then indexed
        self._db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -16384;"
                               + _SCHEMA + ("DROP TABLE IF EXISTS keys; DROP INDEX IF EXISTS labels_norm; "
                                            "DROP INDEX IF EXISTS labels_iri;" if base is not None else ""))
        self._base_rows = self._db.execute("SELECT COALESCE(MAX(rowid), 0) FROM labels").fetchone()[0]
        self._fts = base is None  # filled as rows come (else rebuilt in one pass by `index`)
        if self._fts:
            self._db.executescript(_FTS)
            self._fts_config(building=True)
        self._indexed = False
        self._queue: queue.Queue[list[tuple[str, str]] | None] | None = None
        self._writer: threading.Thread | None = None
        self._error: BaseException | None = None
        self.add_seconds = 0.0  # CPU time spent in `add` (keys, row inserts, FTS5 entries)

    def _fts_config(self, building: bool) -> None:
        """While building: big in-memory segments, not merged (~3x faster on 4M names); after: the defaults."""
        self._db.execute("INSERT INTO keys (keys, rank) VALUES ('hashsize', ?)", (67108864 if building else 1048576,))
        self._db.execute("INSERT INTO keys (keys, rank) VALUES ('automerge', ?)", (0 if building else 4,))

    def add(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Append (iri, label) pairs, one row per normalised key."""
        start = time.thread_time()
        db = self._db
        db.executemany("INSERT INTO labels VALUES (?, ?, ?)",
                       [(iri, label, key) for iri, label in pairs for key in name_keys(label) if key])
        if self._fts:
            db.execute("INSERT INTO keys (rowid, norm) SELECT rowid, norm FROM labels WHERE rowid > ?",
                       (self._base_rows,))
            self._base_rows = db.execute("SELECT COALESCE(MAX(rowid), 0) FROM labels").fetchone()[0]
        self.add_seconds += time.thread_time() - start

    def put(self, pairs: list[tuple[str, str]]) -> None:
        """`add` in a writer thread (started on first use; its error is raised by `index` or here)."""
        if self._error is not None:
            raise self._error
        if self._queue is None:
            self._queue = queue.Queue(16)  # bounded: memory stays a few batches
            self._writer = threading.Thread(target=self._write, name="kgreason-labels", daemon=True)
            self._writer.start()
        self._queue.put(pairs)

    def _write(self) -> None:
        assert self._queue is not None
        while (pairs := self._queue.get()) is not None:
            if self._error is None:  # after an error, batches are only drained (the producer never blocks)
                try:
                    self.add(pairs)
                except BaseException as exc:  # noqa: BLE001  (raised again by the loading thread)
                    self._error = exc

    def _join(self) -> None:
        if self._writer is not None and self._queue is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        if self._error is not None:
            raise self._error

    def index(self, exclude: Iterable[str] = (), rewritten: Iterable[str] | None = ()) -> None:
        """Drop the rows of `exclude` (vocabulary IRIs) and the repeats (the first row is kept) among the rows of
        `rewritten` IRIs (None: among all rows) and the rows added to a `base`, then build the B-tree indexes
        (and the FTS5 one unless it was filled as rows came)."""
        self._join()
        db = self._db
        db.execute("PRAGMA cache_size = -131072")
        db.execute("CREATE INDEX IF NOT EXISTS labels_iri ON labels (iri)")
        repeat = ("EXISTS (SELECT 1 FROM labels a WHERE a.iri = labels.iri AND a.label = labels.label "
                  "AND a.norm = labels.norm AND a.rowid < labels.rowid)")
        if self._fts and rewritten is None:  # possibly many rows to drop: rebuild the FTS5 index after
            db.execute("DROP TABLE keys")
            self._fts = False
        if self._fts:  # the few rows dropped leave the FTS5 index too (an external-content table)
            gone: dict[int, str] = {}
            for iri in exclude:
                gone.update(db.execute("SELECT rowid, norm FROM labels WHERE iri = ?", (iri,)).fetchall())
            for iri in dict.fromkeys(rewritten or ()):
                gone.update(db.execute(f"SELECT rowid, norm FROM labels WHERE iri = ? AND {repeat}", (iri,)))
            db.executemany("INSERT INTO keys (keys, rowid, norm) VALUES ('delete', ?, ?)", list(gone.items()))
            db.executemany("DELETE FROM labels WHERE rowid = ?", [(r,) for r in gone])
        else:
            db.executemany("DELETE FROM labels WHERE iri = ?", [(iri,) for iri in exclude])
            if rewritten is None or self._base_rows:
                db.execute(f"DELETE FROM labels WHERE rowid > ? AND {repeat}",
                           (0 if rewritten is None else self._base_rows,))
            if rewritten:
                db.executemany(f"DELETE FROM labels WHERE iri = ? AND {repeat}",
                               [(iri,) for iri in dict.fromkeys(rewritten)])
            db.executescript(_FTS)
            self._fts_config(building=True)
            db.execute("INSERT INTO keys (keys) VALUES ('rebuild')")
        self._fts_config(building=False)
        db.executescript(_INDEXES)
        self._indexed = True

    def finish(self, meta: dict[str, str]) -> LabelStore:
        """Build the indexes (unless `index` did), write `meta` and return the index opened read-only."""
        if not self._indexed:
            self.index()
        db = self._db
        meta = dict(meta, schema=SCHEMA_VERSION)
        meta.setdefault("resources", str(db.execute("SELECT COUNT(DISTINCT iri) FROM labels").fetchone()[0]))
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
        db.commit()
        db.close()
        return LabelStore(self.path)

    def close(self) -> None:
        """Abandon the build."""
        with contextlib.suppress(BaseException):  # abandoned: the load's own error is the one raised
            self._join()
        self._db.close()


# ------------------------------------------------------------------------------------------ building
def open_label_store(graph: Any, rebuild: bool = False) -> LabelStore:
    """The label index of a KnowledgeGraph on an Oxigraph folder (in the folder) or a SPARQL endpoint (in the
    cache, keyed by the endpoint URL); built from the graph's label triples when missing or `rebuild`."""
    if graph.backend.name == "oxigraph":
        path = Path(graph.location) / LABELS_FILE
        if rebuild or not current_index(path):
            inner = graph.rdf.store._inner
            return build_from_oxigraph(inner, path, len(inner))
        return LabelStore(path)
    path = endpoint_labels_path(graph.location)
    if rebuild or not current_index(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".building")
        counts = {str(p): int(n) for p, n in graph._predicate_counts().items()}
        LabelStore.build(tmp, _endpoint_pairs(graph.location), meta={"predicates": json.dumps(counts)}).close()
        tmp.replace(path)  # atomic: a scan cut short leaves no half index
    return LabelStore(path)


def current_index(path: Path) -> bool:
    """Whether `path` holds a label index of this layout."""
    if not path.is_file():
        return False
    try:
        store = LabelStore(path)
        try:
            return store.meta("schema") == SCHEMA_VERSION
        finally:
            store.close()
    except sqlite3.Error:
        return False


def endpoint_labels_path(url: str) -> Path:
    from knowledge.cache import cache_root

    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]
    return cache_root() / "labels" / f"{digest}.sqlite"


def build_from_oxigraph(st: Any, path: Path, triples: int) -> LabelStore:
    """Index the label triples of a pyoxigraph Store (streamed), with the store's size and per-property counts
    as metadata."""
    import pyoxigraph as ox

    vocab = vocabulary_iris(st)

    def pairs() -> Iterator[tuple[str, str]]:
        for pred in LABEL_PREDICATES:
            for q in st.quads_for_pattern(None, ox.NamedNode(str(pred)), None):
                s, o = q.subject, q.object
                if isinstance(s, ox.NamedNode) and isinstance(o, ox.Literal) and s.value not in vocab:
                    yield s.value, o.value

    return LabelStore.build(path, pairs(), meta=store_meta(st, triples))


def store_meta(st: Any, triples: int | None = None) -> dict[str, str]:
    """The metadata a store's label index keeps: its size (counted unless given: the sum of the per-property
    counts when the store has no named graph, which saves a second pass) and per-property counts
    (`KnowledgeGraph.stats`)."""
    counts = {str(row["p"].value): int(row["n"].value) for row in
              st.query("SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p")}
    if triples is None:
        triples = sum(counts.values()) if next(iter(st.named_graphs()), None) is None else len(st)
    return {"triples": str(triples), "predicates": json.dumps(counts)}


def vocabulary_iris(st: Any) -> set[str]:
    """IRIs typed as properties or classes in a pyoxigraph Store (their labels are not indexed)."""
    import pyoxigraph as ox

    vocab: set[str] = set()
    rdf_type = ox.NamedNode(str(RDF.type))
    for vt in VOCABULARY_TYPES:
        vocab.update(q.subject.value for q in st.quads_for_pattern(None, rdf_type, ox.NamedNode(str(vt)))
                     if isinstance(q.subject, ox.NamedNode))
    return vocab


_ENDPOINT_LABELS = """SELECT ?s ?l WHERE {{ VALUES ?p {{ {preds} }} ?s ?p ?l .
  FILTER (isIRI(?s) && isLiteral(?l))
  FILTER NOT EXISTS {{ VALUES ?vt {{ {vocab} }} ?s a ?vt }} }}"""


def _endpoint_pairs(url: str) -> Iterator[tuple[str, str]]:
    """Every (iri, label) of an endpoint, read as a streamed TSV result (bounded memory). The query is a
    constant: it holds only the fixed label predicates and vocabulary types."""
    query = _ENDPOINT_LABELS.format(preds=" ".join(f"<{p}>" for p in LABEL_PREDICATES),
                                    vocab=" ".join(f"<{v}>" for v in sorted(VOCABULARY_TYPES)))
    req = urllib.request.Request(url, data=urllib.parse.urlencode({"query": query}).encode("ascii"),
                                 headers={"Accept": "text/tab-separated-values",
                                          "Content-Type": "application/x-www-form-urlencoded"})
    try:
        resp = urllib.request.urlopen(req, timeout=600)
    except OSError as exc:
        raise BackendError(f"{url}: cannot read the endpoint's labels ({exc})") from exc
    with resp:
        next(resp, None)  # the header line (?s ?l)
        for raw in resp:
            line = raw.decode("utf-8").rstrip("\r\n")
            s, _, lit = line.partition("\t")
            if s.startswith("<") and lit.startswith('"'):
                yield s[1:-1], _unquote_literal(lit)


def _unquote_literal(term: str) -> str:
    """The lexical form of a TSV (N-Triples style) literal: `"text"@en`, `"text"^^<dt>`."""
    end = term.rfind('"')
    body = term[1:end]
    if "\\" not in body:
        return body
    try:
        return json.loads('"' + body.replace("\\'", "'") + '"')
    except ValueError:
        return body
