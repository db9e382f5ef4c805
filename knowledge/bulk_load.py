"""Streaming, atomic loads into an Oxigraph folder.

Files are streamed into pyoxigraph's native bulk loader (delimited `s|r|o` lines are turned into N-Triples,
labels included, as they are read), so memory stays bounded whatever the file size. The load goes into a
staging folder beside the store (a hard-linked RocksDB checkpoint of the current store, plus the new files),
the label index (`knowledge.label_store`) is rebuilt inside it, and only then the staging folder and the store
are exchanged with one atomic `renameat2(RENAME_EXCHANGE)`: a load killed at any moment (kill -9) leaves the
store as it was or as it is after the load, never in between. Stale staging folders are removed by the next
load."""
from __future__ import annotations

import ctypes
import fcntl
import itertools
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from knowledge.errors import (
    BackendError,
    EmptyInputError,
    InputError,
    ParseError,
)
from knowledge.label_store import (
    LABELS_FILE,
    LabelBuilder,
    LabelStore,
    build_from_oxigraph,
    current_index,
    store_meta,
    vocabulary_iris,
)
from knowledge.loaders import (
    LoadReport,
    _looks_like_header,
    _split,
    check_file,
    choose_delimiter,
    decode_utf8,
    delimiter_option,
    detect_format,
    open_bytes,
    split_triple,
)
from knowledge.namespaces import DEFAULT_NS, iri_quote, property_iri, relation_label

_STAGING = ".kgreason-staging-"
_LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
_TYPE_PROPERTY = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/1999/02/22-rdf-syntax-ns#Property>"
#: names remembered while streaming (their label triple is written once), in two generations of at most this
#: many (a name of the older one seen again moves to the newer): memory stays bounded (~100 MB); a name seen
#: again after it was forgotten only repeats a label triple, which the store de-duplicates
_SEEN_NAMES = 250_000
#: bits of the Bloom filter of names written (2 hashes; 16 MB): a name written again after the remembered
#: names were cleared is found in it (no false negatives), so its label row is checked for a repeat
_WRITTEN_BITS = 27
#: past this many names possibly written twice, every label row is checked instead
_MAX_REWRITTEN = 100_000


def is_store(folder: Path) -> bool:
    """Whether `folder` holds an Oxigraph (RocksDB) store."""
    return (folder / "CURRENT").is_file()


def load_into_store(folder: str | Path, paths: Iterable[str | Path], *, current: Any = None,
                    format: str | None = None, delimiter: str | None = None, header: bool = False,
                    namespace: str = DEFAULT_NS, release: Any = None, reopen: Any = None) -> LoadReport:
    """Load `paths` into the store at `folder` atomically. `current()` gives the already open pyoxigraph Store of
    that folder (checkpointed instead of reopened; a getter, so no reference outlives `release`): `release()` must drop the caller's handle to it before the
    swap and `reopen()` opens the new store after it (also after a failed load). Returns the load report
    (triples read = store growth)."""
    folder = Path(folder)
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no files given")
    for p in paths:
        check_file(p)
    if folder.exists() and not folder.is_dir():
        raise BackendError(f"{folder}: the oxigraph store location must be a folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(folder)
    staging = folder.parent / f".{folder.name}{_STAGING}{os.getpid()}"
    t0 = time.perf_counter()
    phases: dict[str, float] = {}
    import pyoxigraph as ox

    try:
        before = 0
        if current is not None:
            before = len(current())
            current().backup(str(staging))
        elif is_store(folder):
            old = ox.Store(str(folder))
            before = len(old)
            old.backup(str(staging))
            del old
        st = ox.Store(str(staging))
        labels = _label_builder(staging, folder, paths, format, before)
        entities, rewritten = 0, []  # the IRIs whose label rows may repeat (None: any row may)
        phases["checkpoint"] = time.perf_counter() - t0
        try:
            for p in paths:
                n, again = _bulk_load_file(st, p, format=format, delimiter=delimiter, header=header,
                                           namespace=namespace, labels=labels, phases=phases)
                entities += n
                rewritten = None if rewritten is None or again is None else rewritten + again
            if labels is not None and len(paths) > 1:
                rewritten = None  # each file's converter remembers its own names: any may be written twice
            st.flush()
            phases["stream"] = time.perf_counter() - t0 - phases["checkpoint"]
            if labels is None:
                t1 = time.perf_counter()
                after = len(st)
                build_from_oxigraph(st, staging / LABELS_FILE, after).close()
                phases["label_scan"] = time.perf_counter() - t1
            else:
                after = _finish_labels(st, labels, rewritten, phases=phases)
        except BaseException:
            if labels is not None:
                labels.close()
            raise
        del st
        current = None
        if release is not None:
            release()
            release = None
        t1 = time.perf_counter()
        swap_folders(staging, folder)
        phases["swap"] = time.perf_counter() - t1
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if release is None and reopen is not None:
            reopen()
        raise
    shutil.rmtree(staging, ignore_errors=True)  # after the exchange it holds the old store
    if reopen is not None:
        reopen()
    return LoadReport(files=[str(p) for p in paths], triples_read=after - before, triples_added=after - before,
                      entities=entities, seconds=time.perf_counter() - t0, phases=phases)


def remove_stale_staging(folder: Path) -> None:
    """Delete staging folders that earlier (killed) loads of `folder` left behind."""
    for stale in folder.parent.glob(f".{folder.name}{_STAGING}*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            raise BackendError(f"{folder}: another load (process {pid}) is writing this store")
        shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def swap_folders(staging: Path, folder: Path) -> None:
    """Make `staging` the store at `folder` in one atomic step (Linux renameat2 RENAME_EXCHANGE; a plain
    rename when `folder` does not exist yet)."""
    if not folder.exists():
        os.rename(staging, folder)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        raise BackendError(f"{folder}: atomic folder exchange (renameat2) is not available on this system")
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(staging), at_fdcwd, os.fsencode(folder), rename_exchange) != 0:
        err = ctypes.get_errno()
        raise BackendError(f"{folder}: cannot swap in the loaded store ({os.strerror(err)})")


# ------------------------------------------------------------------------------------------ files
def _label_builder(staging: Path, folder: Path, paths: list[Path], format: str | None,
                   before: int) -> LabelBuilder | None:
    """The label index of the load, filled from the converter as delimited files stream (no scan of the store
    afterwards): fresh for a new store, else a copy of the store's index when it is current. None when the
    files hold other formats or the index cannot be trusted: the load then indexes the store's labels."""
    if any(detect_format(p, format) != "delimited" for p in paths):
        return None
    if before == 0:
        return LabelBuilder(staging / LABELS_FILE)
    old = folder / LABELS_FILE
    if not current_index(old):
        return None
    index = LabelStore(old)
    try:
        if index.meta("triples") != str(before):
            return None
    finally:
        index.close()
    return LabelBuilder(staging / LABELS_FILE, base=old)


def _finish_labels(st: Any, labels: LabelBuilder, rewritten: list[str] | None, phases: dict[str, float]) -> int:
    """Index the streamed labels (without the vocabulary's: the store's properties and classes; the repeated
    rows of `rewritten` IRIs, or of any when None, dropped) while the store is counted (the SQLite index build
    and the count run side by side); returns the store's size."""
    vocab = vocabulary_iris(st)
    done: list[BaseException | None] = []

    def index() -> None:
        t = time.perf_counter()
        try:
            labels.index(exclude=vocab, rewritten=rewritten)
            done.append(None)
        except BaseException as exc:  # noqa: BLE001  (raised again in the loading thread)
            done.append(exc)
        phases["label_index"] = time.perf_counter() - t

    worker = threading.Thread(target=index, name="kgreason-label-index", daemon=True)
    t = time.perf_counter()
    worker.start()
    try:
        meta = store_meta(st)
        after = int(meta["triples"])
        phases["count"] = time.perf_counter() - t
    finally:
        worker.join()
    if done[0] is not None:
        raise done[0]
    labels.finish(meta).close()
    phases["label_rows_cpu"] = labels.add_seconds
    phases["labels"] = time.perf_counter() - t
    return after


def _bulk_load_file(st: Any, path: Path, *, format: str | None, delimiter: str | None, header: bool,
                    namespace: str, labels: LabelBuilder | None = None,
                    phases: dict[str, float] | None = None) -> tuple[int, list[str] | None]:
    """Stream one file into the store; returns the distinct entities it names (delimited, else 0) and the IRIs
    whose label it may have written to `labels` twice (None: too many to list)."""
    from knowledge.loaders import _ox_format

    fmt = detect_format(path, format)
    if fmt == "delimited":
        _check_namespace(namespace)
        conv = DelimitedToNTriples(path, delimiter=delimiter, header=header, namespace=namespace,
                                   on_labels=None if labels is None else labels.put)
        pipe = _Pipe(conv.chunks)
        try:  # our N-Triples are valid by construction (IRIs quoted, literals escaped): skip re-validating them
            _run_bulk(path, "delimited", lambda: st.bulk_load(path=pipe.path, format=_ox_format("nt"),
                                                              lenient=True))
        finally:
            pipe.finish()  # the converter's own error (file:line) wins over what the loader made of it
            if phases is not None:
                phases["convert_cpu"] = phases.get("convert_cpu", 0.0) + pipe.cpu_seconds
        return conv.entities, conv.rewritten
    with open_bytes(path) as fh:
        if fmt in ("nquads", "trig"):  # named graphs are merged into the default graph, as in memory: streamed
            _run_bulk(path, fmt, lambda: st.bulk_extend(_in_default_graph(fh, _ox_format(fmt), path)))
        else:
            _run_bulk(path, fmt, lambda: st.bulk_load(fh, _ox_format(fmt), base_iri=path.resolve().as_uri()))
    return 0, []


def _in_default_graph(fh: Any, fmt: Any, path: Path) -> Iterator[Any]:
    """The quads of a N-Quads/TriG stream, parsed as they are read (bounded memory), moved into the default graph;
    blank nodes renamed as the in-memory parse renames them (a load's `_:b` is not an earlier load's)."""
    import pyoxigraph as ox

    default = ox.DefaultGraph()
    for q in ox.parse(fh, fmt, base_iri=path.resolve().as_uri(), rename_blank_nodes=True):
        yield ox.Quad(q.subject, q.predicate, q.object, default)


def _check_namespace(namespace: str) -> None:
    import pyoxigraph as ox

    try:
        ox.NamedNode(f"{namespace}e/x")
    except ValueError as exc:
        raise InputError(f"the namespace {namespace!r} does not make valid IRIs ({exc})") from None


def _run_bulk(path: Path, fmt: str, call: Any) -> None:
    try:
        call()
    except (SyntaxError, ValueError, OSError) as exc:
        line = column = None
        message = _first_line(exc)
        if isinstance(exc, SyntaxError):
            line, column = exc.lineno, exc.offset
            message = exc.msg or message
            if " at line " in message or " between line " in message:
                message = message.split(": ", 1)[-1]
        raise ParseError(f"invalid {fmt}: {message}", path, line, column) from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class _Pipe:
    """An OS pipe that a producer thread fills with the chunks it makes, read natively by the bulk loader
    (`path`: no Python call, and so no GIL, per read), so that the conversion runs while the store parses. An
    exception in the producer is kept in `error` (the loader then sees the end of its input early: the load
    must raise it, see `finish`)."""

    def __init__(self, produce: Callable[[], Iterator[bytes]]) -> None:
        self._read, self._write = os.pipe()
        try:  # 1 MB instead of 64 kB: fewer switches between producer and loader
            fcntl.fcntl(self._write, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
        except OSError:
            pass
        self.path = f"/proc/self/fd/{self._read}"
        self.error: BaseException | None = None
        self.cpu_seconds = 0.0  # the producer's CPU time
        self._thread = threading.Thread(target=self._run, args=(produce,), name="kgreason-convert", daemon=True)
        self._thread.start()

    def _run(self, produce: Callable[[], Iterator[bytes]]) -> None:
        start = time.thread_time()
        try:
            for chunk in produce():
                view = memoryview(chunk)
                while view:
                    view = view[os.write(self._write, view):]
        except BrokenPipeError:  # the loader stopped reading (its own error is raised)
            pass
        except BaseException as exc:  # noqa: BLE001  (raised again by the loading thread)
            self.error = exc
        finally:
            os.close(self._write)
            self.cpu_seconds = time.thread_time() - start

    def finish(self) -> None:
        """Close the reading end (a producer still writing stops) and wait for the producer; raise its error."""
        os.close(self._read)
        self._thread.join()
        if self.error is not None:
            raise self.error


class DelimitedToNTriples:
    """`subject<d>relation<d>object` lines -> N-Triples (facts, entity labels, property labels and types),
    streamed in chunks of about `chunk_bytes` of input with the same checks and messages as
    `knowledge.loaders.parse_delimited`. Each name is quoted once while remembered; `on_labels` receives the
    (entity IRI, name) pairs of each chunk's newly written labels (the streaming load indexes them)."""

    def __init__(self, path: Path, *, delimiter: str | None = None, header: bool = False,
                 namespace: str = DEFAULT_NS, chunk_bytes: int = 1 << 20,
                 on_labels: Callable[[list[tuple[str, str]]], None] | None = None) -> None:
        self.path = path
        self.delimiter = delimiter_option(delimiter, path)
        self.header = header
        self.namespace = namespace
        self.chunk_bytes = chunk_bytes
        self.on_labels = on_labels
        self.entities = 0  # names counted once while remembered (exact unless more than _SEEN_NAMES)
        self.properties: list[str] = []  # the property IRIs written (each typed rdf:Property)
        #: the IRIs of names whose label may have been written twice (after the remembered names were cleared;
        #: None: more than _MAX_REWRITTEN)
        self.rewritten: list[str] | None = []

    def _rewrote(self, iri: str) -> None:
        if self.rewritten is not None:
            self.rewritten.append(iri)
            if len(self.rewritten) > _MAX_REWRITTEN:
                self.rewritten = None

    def _blocks(self) -> Iterator[tuple[int, list[str]]]:
        """(number of the first line, the lines) of whole lines, about `chunk_bytes` at a time, decoded."""
        with open_bytes(self.path) as raw:
            lineno, rest = 1, b""
            while True:
                data = raw.read(self.chunk_bytes)
                if not data:
                    if rest:
                        yield lineno, self._decode(rest, lineno)
                    return
                data = rest + data if rest else data
                cut = data.rfind(b"\n") + 1
                if not cut:
                    rest = data
                    continue
                rest = data[cut:]
                lines = self._decode(data[:cut - 1], lineno)
                yield lineno, lines
                lineno += len(lines)

    def _decode(self, block: bytes, lineno: int) -> list[str]:
        text = decode_utf8(block, self.path, lineno)
        lines = text.split("\n")
        if "\r" in text:
            lines = [line.rstrip("\r") for line in lines]
        return lines

    def _start(self, blocks: Iterator[tuple[int, list[str]]]) -> tuple[str, list[tuple[int, list[str]]]]:
        """The delimiter (detected from the first 50 non-blank lines unless given) and the blocks read to find
        it, a header line blanked out."""
        read: list[tuple[int, list[str]]] = []
        head: list[tuple[int, int, str]] = []  # (block, index, line) of the first non-blank lines
        for first, lines in blocks:
            read.append((first, lines))
            head.extend((len(read) - 1, i, line) for i, line in enumerate(lines) if line.strip())
            if len(head) >= 50:
                break
        head = head[:50]
        if not head:
            raise EmptyInputError("the file is empty", self.path)
        skip = None
        if self.header:
            skip, head = head[0], head[1:]
        delim = choose_delimiter(self.delimiter, [line for _, _, line in head], self.path,
                                 read[head[0][0]][0] + head[0][1] if head else None)
        if not self.header and head and _looks_like_header(_split(head[0][2], delim)):
            skip = head[0]
        if skip is not None:
            read[skip[0]][1][skip[1]] = ""
        return delim, read

    def chunks(self) -> Iterator[bytes]:
        """The N-Triples, one bytes chunk per block of input lines."""
        blocks = self._blocks()
        delim, read = self._start(blocks)
        names: dict[str, str] = {}  # name -> "<iri>" (bounded, see _SEEN_NAMES)
        older: dict[str, str] = {}  # the previous generation
        self._written, self._forgot = bytearray(1 << (_WRITTEN_BITS - 3)), False
        props: dict[str, str] = {}
        for first, lines in itertools.chain(read, blocks):
            out: list[str] = []
            labels: list[tuple[str, str]] = []
            self._convert(first, lines, delim, (names, older), props, out, labels)
            if self.on_labels is not None and labels:
                self.on_labels(labels)
            if out:
                yield "".join(out).encode("utf-8")

    def _convert(self, first: int, lines: list[str], delim: str, memory: tuple[dict[str, str], dict[str, str]],
                 props: dict[str, str], out: list[str], labels: list[tuple[str, str]]) -> None:
        """Append the N-Triples lines of one block to `out` (the hot loop: one split and three look-ups per
        line in the common case); `memory` holds the remembered names, newer and older generation."""
        path, csv_like, ns = self.path, delim == ",", self.namespace + "e/"
        names, older = memory
        get, append = names.get, out.append

        written, mask, shift = self._written, (1 << _WRITTEN_BITS) - 1, _WRITTEN_BITS

        def name(text: str) -> str:
            term = older.get(text)
            if term is not None:  # remembered from the previous generation: written already
                names[text] = term
                return term
            if len(names) >= _SEEN_NAMES:
                self._forgot = self._forgot or bool(older)
                older.clear()
                older.update(names)
                names.clear()
            iri = ns + iri_quote(text)
            term = names[text] = f"<{iri}>"
            append(f"{term} {_LABEL} {_literal(text)} .\n")
            labels.append((iri, text))
            self.entities += 1
            h = hash(text)
            a, b = h & mask, (h >> shift) & mask
            if self._forgot and written[a >> 3] >> (a & 7) & 1 and written[b >> 3] >> (b & 7) & 1:
                self._rewrote(iri)
            written[a >> 3] |= 1 << (a & 7)
            written[b >> 3] |= 1 << (b & 7)
            return term

        for i, line in enumerate(lines):
            fields = line.split(delim)
            if len(fields) == 3 and not csv_like:
                s, r, o = fields[0].strip(), fields[1].strip(), fields[2].strip()
                ok = s and r and o
            else:
                ok = False
            if not ok:
                if not line.strip():
                    continue
                s, r, o = split_triple(line, delim, path, first + i)  # CSV, or raises naming file:line
            si = get(s) or name(s)
            oi = get(o) or name(o)
            pi = props.get(r)
            if pi is None:
                iri = property_iri(r, self.namespace)
                pi = props[r] = f"<{iri}>"
                self.properties.append(str(iri))
                append(f"{pi} {_LABEL} {_literal(relation_label(r))} .\n{pi} {_TYPE_PROPERTY} .\n")
            append(f"{si} {pi} {oi} .\n")


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'
