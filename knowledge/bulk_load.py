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
import gzip
import io
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from knowledge.errors import BackendError, EmptyInputError, EncodingError, InputError, MissingFileError, \
    ParseError
from knowledge.label_store import LABELS_FILE, build_from_oxigraph
from knowledge.loaders import LoadReport, _looks_like_header, _split, detect_delimiter, detect_format, split_triple
from knowledge.namespaces import DEFAULT_NS, entity_iri, property_iri, relation_label

_STAGING = ".kgreason-staging-"
_LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
_TYPE_PROPERTY = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/1999/02/22-rdf-syntax-ns#Property>"
#: names remembered while streaming (their label triple is written once); cleared when full, so memory stays
#: bounded: a name seen again after that only repeats a label triple, which the store de-duplicates
_SEEN_NAMES = 1_000_000


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
        _check_file(p)
    if folder.exists() and not folder.is_dir():
        raise BackendError(f"{folder}: the oxigraph store location must be a folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(folder)
    staging = folder.parent / f".{folder.name}{_STAGING}{os.getpid()}"
    t0 = time.perf_counter()
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
        entities = 0
        for p in paths:
            entities += _bulk_load_file(st, p, format=format, delimiter=delimiter, header=header,
                                        namespace=namespace)
        st.flush()
        after = len(st)
        build_from_oxigraph(st, staging / LABELS_FILE, after).close()
        del st
        current = None
        if release is not None:
            release()
            release = None
        swap_folders(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if release is None and reopen is not None:
            reopen()
        raise
    shutil.rmtree(staging, ignore_errors=True)  # after the exchange it holds the old store
    if reopen is not None:
        reopen()
    return LoadReport(files=[str(p) for p in paths], triples_read=after - before, triples_added=after - before,
                      entities=entities, seconds=time.perf_counter() - t0)


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
def _check_file(path: Path) -> None:
    if not path.exists():
        raise MissingFileError("no such file", path)
    if path.is_dir():
        raise MissingFileError("is a folder, not a file", path)
    with _open_bytes(path) as fh:
        head = fh.read(8192)
    if not head.strip():
        raise EmptyInputError("the file is empty", path)
    if b"\x00" in head:
        raise EncodingError("binary file (NUL byte), not RDF or delimited text", path,
                            head.count(b"\n", 0, head.index(b"\x00")) + 1)


def _open_bytes(path: Path) -> io.BufferedIOBase:
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    try:
        return gzip.open(path, "rb") if gz else open(path, "rb")  # type: ignore[return-value]
    except OSError as exc:
        raise MissingFileError(f"cannot read ({exc})", path) from exc


def _bulk_load_file(st: Any, path: Path, *, format: str | None, delimiter: str | None, header: bool,
                    namespace: str) -> int:
    """Stream one file into the store; returns the distinct entities it names (delimited) or 0."""
    from knowledge.loaders import _ox_format

    fmt = detect_format(path, format)
    if fmt == "delimited":
        conv = DelimitedToNTriples(path, delimiter=delimiter, header=header, namespace=namespace)
        feed = _Feed(conv.chunks())
        _run_bulk(path, "delimited", lambda: st.bulk_load(io.BufferedReader(feed, 1 << 20), _ox_format("nt")),
                  feed)
        return conv.entities
    if fmt in ("nquads", "trig"):  # named graphs are merged into the default graph, as in memory: parsed whole
        import pyoxigraph as ox

        from knowledge.loaders import parse_file
        from knowledge.stores import _to_ox

        default = ox.DefaultGraph()
        parsed = parse_file(path, format=fmt)
        st.bulk_extend(ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), default) for s, p, o in parsed.triples)
        return parsed.entities
    with _open_bytes(path) as fh:
        _run_bulk(path, fmt, lambda: st.bulk_load(fh, _ox_format(fmt), base_iri=path.resolve().as_uri()), None)
    return 0


def _run_bulk(path: Path, fmt: str, call: Any, feed: Any) -> None:
    try:
        call()
    except (SyntaxError, ValueError, OSError) as exc:
        if feed is not None and feed.error is not None:  # our converter's own error, raised inside read()
            raise feed.error from None
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


class _Feed(io.RawIOBase):
    """A readable byte stream over chunks from a generator; an exception in the generator is kept in
    `error` (the native reader only sees an I/O failure)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
            except InputError as exc:
                self.error = exc
                raise OSError(str(exc)) from exc
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class DelimitedToNTriples:
    """`subject<d>relation<d>object` lines -> N-Triples (facts, entity labels, property labels and types),
    streamed in chunks with the same checks and messages as `knowledge.loaders.parse_delimited`."""

    def __init__(self, path: Path, *, delimiter: str | None = None, header: bool = False,
                 namespace: str = DEFAULT_NS, chunk_lines: int = 20_000) -> None:
        if delimiter is not None:
            delimiter = {"\\t": "\t", "tab": "\t", "pipe": "|", "comma": ","}.get(delimiter, delimiter)
            if len(delimiter) != 1:
                raise InputError(f"the delimiter must be one character, got {delimiter!r}", path)
        self.path = path
        self.delimiter = delimiter
        self.header = header
        self.namespace = namespace
        self.chunk_lines = chunk_lines
        self.entities = 0

    def _lines(self) -> Iterator[tuple[int, str]]:
        with _open_bytes(self.path) as raw:
            for lineno, data in enumerate(raw, start=1):
                try:
                    line = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise EncodingError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", self.path, lineno,
                                        exc.start + 1) from exc
                if lineno == 1 and line.startswith("\ufeff"):
                    line = line[1:]
                if line.strip():
                    yield lineno, line.rstrip("\r\n")

    def chunks(self) -> Iterator[bytes]:
        lines = self._lines()
        head = []
        for item in lines:
            head.append(item)
            if len(head) >= 50:
                break
        if not head:
            raise EmptyInputError("the file is empty", self.path)
        if self.header:
            head = head[1:]
        delim = self.delimiter or detect_delimiter([line for _, line in head])
        if delim is None:
            raise ParseError("cannot find a delimiter ('|', tab or ',') that splits lines into subject, relation, "
                             "object; use --format or --delimiter", self.path, head[0][0])
        if not self.header and head and _looks_like_header(_split(head[0][1], delim)):
            head = head[1:]
        ns, path = self.namespace, self.path
        names: dict[str, str] = {}  # name -> "<iri>" (bounded, see _SEEN_NAMES)
        props: dict[str, str] = {}
        entities = 0
        out: list[str] = []

        def lines_all() -> Iterator[tuple[int, str]]:
            yield from head
            yield from lines

        def name(text: str) -> str:
            """The entity's IRI term; its label line the first time it is seen (while remembered)."""
            nonlocal entities
            term = names.get(text)
            if term is None:
                if len(names) >= _SEEN_NAMES:
                    names.clear()
                term = names[text] = f"<{entity_iri(text, ns)}>"
                out.append(f"{term} {_LABEL} {_literal(text)} .\n")
                entities += 1
            return term

        for lineno, line in lines_all():
            s, r, o = split_triple(line, delim, path, lineno)
            si, oi = name(s), name(o)
            pi = props.get(r)
            if pi is None:
                pi = props[r] = f"<{property_iri(r, ns)}>"
                out.append(f"{pi} {_LABEL} {_literal(relation_label(r))} .\n{pi} {_TYPE_PROPERTY} .\n")
            out.append(f"{si} {pi} {oi} .\n")
            if len(out) >= self.chunk_lines:
                yield "".join(out).encode("utf-8")
                out.clear()
        if out:
            yield "".join(out).encode("utf-8")
        self.entities = entities  # names counted once while remembered (exact unless more than _SEEN_NAMES)


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'
