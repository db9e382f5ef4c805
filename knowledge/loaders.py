"""Read triples from files: RDF serialisations (via pyoxigraph) and delimited `subject|relation|object` text.

Everything parses into a staging list first; callers add it to a graph only when every file parsed, so a bad
file never leaves a graph half-loaded. Errors are `InputError`s naming `file:line[:col]`."""
from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import RDFS, XSD
from rdflib.namespace import RDF
from rdflib.term import BNode, Literal, Node, URIRef

from knowledge.errors import EmptyInputError, EncodingError, InputError, MissingFileError, ParseError
from knowledge.labels import LABEL_PREDICATES, VOCABULARY_TYPES
from knowledge.namespaces import DEFAULT_NS, entity_iri, property_iri, relation_label
from knowledge.terms import Triple


#: canonical format name -> accepted spellings
_FORMAT_ALIASES: dict[str, tuple[str, ...]] = {
    "turtle": ("turtle", "ttl"),
    "nt": ("nt", "ntriples", "n-triples", "nt11"),
    "nquads": ("nquads", "nq", "n-quads"),
    "trig": ("trig",),
    "xml": ("xml", "rdfxml", "rdf/xml", "rdf", "owl", "application/rdf+xml"),
    "json-ld": ("json-ld", "jsonld", "json"),
    "n3": ("n3",),
    "delimited": ("delimited", "pipe", "psv", "tsv", "csv", "txt", "triples"),
}
_EXTENSIONS = {".ttl": "turtle", ".nt": "nt", ".nq": "nquads", ".trig": "trig", ".rdf": "xml", ".owl": "xml",
               ".xml": "xml", ".jsonld": "json-ld", ".json": "json-ld", ".n3": "n3"}
FORMATS = tuple(_FORMAT_ALIASES)
DELIMITERS = ("|", "\t", ",")
#: the most bytes a gzip file may expand to (a small upload must not fill the memory)
MAX_DECOMPRESSED_BYTES = 1 << 30


@dataclass
class LoadReport:
    """What one `load` did."""

    files: list[str] = field(default_factory=list)
    triples_read: int = 0
    triples_added: int = 0
    entities: int = 0
    seconds: float = 0.0
    #: the triples read (in-memory loads only; None when streamed into a store): what an index update reads
    triples: list[Triple] | None = field(default=None, repr=False, compare=False)
    #: seconds per step of a streamed load into a store (checkpoint, stream, label index, ...), for benchmarks
    phases: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def triples_per_second(self) -> float:
        return self.triples_read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, object]:
        return {"files": self.files, "triples_read": self.triples_read, "triples_added": self.triples_added,
                "entities": self.entities, "seconds": round(self.seconds, 3),
                "triples_per_second": round(self.triples_per_second, 1),
                **({"phases": {k: round(v, 2) for k, v in self.phases.items()}} if self.phases else {})}


@dataclass
class ParsedFile:
    """Triples read from one file (not yet in any graph) and the entities it named."""

    path: str
    format: str
    triples: list[Triple]
    entities: int


def normalise_format(name: str) -> str:
    """Canonical format name for a user's spelling (`ttl` -> `turtle`); raises InputError if unknown."""
    key = name.strip().lower().lstrip(".")
    for canonical, aliases in _FORMAT_ALIASES.items():
        if key in aliases:
            return canonical
    raise InputError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")


def detect_format(path: Path, format: str | None = None) -> str:
    """Format from `format` if given, else from the extension (a trailing `.gz` is ignored); unknown -> delimited."""
    if format:
        return normalise_format(format)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return _EXTENSIONS.get(suffixes[-1], "delimited") if suffixes else "delimited"


#: the first bytes of a gzip stream; how many leading bytes (after gunzip) are looked at for a NUL byte
GZIP_MAGIC = b"\x1f\x8b"
_HEAD_BYTES = 8192


def read_bytes(path: Path, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """The file's bytes, gunzipped when compressed (at most `max_bytes` once expanded); rejects missing, empty,
    binary and corrupt or truncated gzip files."""
    _check_path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(exc, path) from exc
    if data[:2] == GZIP_MAGIC:
        data = gunzip(data, path, max_bytes)
    check_head(data, path)
    return data


def open_bytes(path: Path) -> io.BufferedIOBase:
    """The file as a binary stream, gunzipped as it is read when compressed (a streamed load: bounded memory);
    its first bytes checked as `read_bytes` checks the whole file (`check_head`)."""
    _check_path(path)
    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == GZIP_MAGIC
        stream = gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115  (the caller closes it)
    except OSError as exc:
        raise _unreadable(exc, path) from exc
    try:
        try:
            head = stream.read(_HEAD_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            raise (_gzip_error(exc, path) if gz else _unreadable(exc, path)) from None
        check_head(head, path, stream)
        stream.seek(0)
    except BaseException:
        stream.close()
        raise
    return stream  # type: ignore[return-value]


def check_file(path: Path) -> None:
    """The checks of `open_bytes`, before a streamed load starts (a bad file fails it before any work)."""
    open_bytes(path).close()


def check_head(head: bytes, path: Path, rest: io.BufferedIOBase | None = None) -> None:
    """Refuse an empty file (nothing but white space; `rest`, the stream `head` starts, is read on when the head
    is blank) and a binary one (a NUL byte in the first 8 KiB)."""
    if not head.strip() and not (rest is not None and _text_follows(rest)):
        raise EmptyInputError("the file is empty", path)
    if b"\x00" in head[:_HEAD_BYTES]:
        line = head.count(b"\n", 0, head.index(b"\x00")) + 1
        raise EncodingError("binary file (NUL byte), not RDF or delimited text", path, line)


def _check_path(path: Path) -> None:
    if not path.exists():
        raise MissingFileError("no such file", path)
    if path.is_dir():
        raise MissingFileError("is a folder, not a file", path)


def _unreadable(exc: OSError, path: Path) -> InputError:
    return MissingFileError(f"cannot read ({exc.strerror or exc})", path)


def _text_follows(stream: io.BufferedIOBase) -> bool:
    """Whether anything but white space follows in the stream (read on in 1 MiB chunks)."""
    while chunk := stream.read(1 << 20):
        if chunk.strip():
            return True
    return False


def gunzip(data: bytes, path: Path, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """Decompress gzip `data` in chunks, refusing more than `max_bytes` of output (a gzip bomb) and corrupt or
    truncated streams, with an InputError naming the file."""
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(1 << 20):
                out += chunk
                if len(out) > max_bytes:
                    raise ParseError(f"expands to more than {_size(max_bytes)} when gunzipped; refused", path)
    except (OSError, EOFError, zlib.error) as exc:
        raise _gzip_error(exc, path) from None
    return bytes(out)


def _gzip_error(exc: BaseException, path: Path) -> ParseError:
    reason = "truncated" if isinstance(exc, EOFError) else "corrupt"
    return ParseError(f"{reason} gzip data ({' '.join(str(exc).split())})", path)


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:g} {unit}" if unit == "bytes" else f"{n:.4g} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def decode_utf8(data: bytes, path: Path, first_line: int = 1) -> str:
    """UTF-8 text (a BOM at the file's start is dropped); bad bytes raise EncodingError at their line and column.
    `first_line`: the line `data` starts at (a streamed file's later block: a BOM there is text)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise EncodingError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", path, line, column) from exc
    return text[1:] if first_line == 1 and text.startswith("\ufeff") else text


def parse_file(path: str | Path, *, format: str | None = None, delimiter: str | None = None,
               header: bool = False, namespace: str = DEFAULT_NS) -> ParsedFile:
    """Parse one file into triples without touching any graph."""
    path = Path(path)
    fmt = detect_format(path, format)
    data = read_bytes(path)
    text = decode_utf8(data, path)
    if fmt == "delimited":
        triples, entities = parse_delimited(text, path, delimiter=delimiter, header=header, namespace=namespace)
    else:
        triples = parse_rdf(text.encode("utf-8"), path, fmt)
        entities = named_entities(triples)
    if not triples:
        raise EmptyInputError("no triples in the file", path)
    return ParsedFile(str(path), fmt, triples, entities)


def named_entities(triples: Sequence[Triple]) -> int:
    """Labelled resources that are not properties or classes: what `KnowledgeGraph.stats` counts as entities."""
    names = set(LABEL_PREDICATES)
    vocab = {s for s, p, o in triples if p == RDF.type and o in VOCABULARY_TYPES}
    return len({s for s, p, o in triples if p in names and isinstance(s, URIRef) and isinstance(o, Literal)
                and s not in vocab})


def parse_files(paths: Iterable[str | Path], **kw: object) -> list[ParsedFile]:
    """Parse every file; the first bad one raises (nothing is returned for any)."""
    files = [parse_file(p, **kw) for p in paths]  # type: ignore[arg-type]
    if not files:
        raise InputError("no files given")
    return files


# --------------------------------------------------------------------------------------------- RDF

def _ox_format(fmt: str):  # noqa: ANN202
    import pyoxigraph as ox

    return {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "nquads": ox.RdfFormat.N_QUADS,
            "trig": ox.RdfFormat.TRIG, "xml": ox.RdfFormat.RDF_XML, "json-ld": ox.RdfFormat.JSON_LD,
            "n3": ox.RdfFormat.N3}[fmt]


def parse_rdf(data: bytes, path: Path, fmt: str) -> list[Triple]:
    """Parse an RDF serialisation with pyoxigraph (named graphs are merged into one graph)."""
    import pyoxigraph as ox

    base = path.resolve().as_uri()
    try:
        quads = list(ox.parse(data, _ox_format(fmt), base_iri=base, rename_blank_nodes=True))
    except SyntaxError as exc:
        line, column = exc.lineno, exc.offset
        if line is None and fmt == "xml":
            line, column = _xml_error_position(data)
        message = exc.msg or str(exc)
        if " at line " in message or " between line " in message:
            message = message.split(": ", 1)[-1]
        raise ParseError(f"invalid {fmt}: {message}", path, line, column) from exc
    except ValueError as exc:
        raise ParseError(f"invalid {fmt}: {exc}", path) from exc
    conv = _OxConverter()
    try:
        out = [(conv(q.subject), conv(q.predicate), conv(q.object)) for q in quads]
    except TypeError as exc:
        raise ParseError(str(exc), path) from exc
    return out


def _xml_error_position(data: bytes) -> tuple[int | None, int | None]:
    """Line and column of an XML well-formedness error (pyoxigraph's RDF/XML errors carry none)."""
    import xml.sax

    try:
        xml.sax.parseString(data, xml.sax.handler.ContentHandler())  # noqa: S317 (no external entities read)
    except xml.sax.SAXParseException as exc:
        return exc.getLineNumber(), exc.getColumnNumber() + 1
    except Exception:  # noqa: BLE001
        return None, None
    return None, None


class _OxConverter:
    """pyoxigraph term -> rdflib term (xsd:string literals become plain literals, as rdflib expects).

    IRIs are cached: a graph repeats few distinct IRIs many times, and URIRef creation dominates parsing."""

    def __init__(self) -> None:
        import pyoxigraph as ox

        self._ox = ox
        self._iris: dict[str, URIRef] = {}

    def __call__(self, term: object) -> Node:
        ox = self._ox
        if type(term) is ox.NamedNode:
            value = term.value
            iri = self._iris.get(value)
            if iri is None:
                iri = self._iris[value] = URIRef(value)
            return iri
        if isinstance(term, ox.Literal):
            if term.language:
                return Literal(term.value, lang=term.language)
            dt = term.datatype.value
            return Literal(term.value) if dt == _XSD_STRING else Literal(term.value, datatype=URIRef(dt))
        if isinstance(term, ox.BlankNode):
            return BNode(term.value)
        raise TypeError(f"unsupported RDF term {term!r} (RDF-star triple terms are not supported)")


_XSD_STRING = str(XSD.string)


# --------------------------------------------------------------------------------------------- delimited

def detect_delimiter(lines: Sequence[str]) -> str | None:
    """The delimiter (`|`, tab or `,`) that splits the sample lines into three fields most often."""
    best, best_hits = None, 0
    for delim in DELIMITERS:
        hits = sum(1 for line in lines if len(_split(line, delim)) == 3)
        if hits > best_hits:
            best, best_hits = delim, hits
    return best


def split_triple(line: str, delim: str, path: Path | str, lineno: int) -> tuple[str, str, str]:
    """Subject, relation and object of one delimited line; ParseError naming file:line when it has not three
    non-empty fields."""
    fields = _split(line, delim) if delim == "," else line.split(delim)
    if len(fields) != 3:
        shown = "tab" if delim == "\t" else repr(delim)
        raise ParseError(f"expected 3 fields separated by {shown} (subject, relation, object), "
                         f"found {len(fields)}", path, lineno)
    s, r, o = (f.strip() for f in fields)
    if not s or not r or not o:
        which = ("subject", "relation", "object")[[s, r, o].index("")]
        raise ParseError(f"empty {which}", path, lineno)
    return s, r, o


def _split(line: str, delim: str) -> list[str]:
    if delim == ",":
        try:
            return next(csv.reader(io.StringIO(line), strict=True))
        except (csv.Error, StopIteration):
            return []
    return line.split(delim)


_HEADER_WORDS = ({"subject", "head", "source", "from", "s", "h"}, {"relation", "predicate", "property", "p", "r"},
                 {"object", "tail", "target", "to", "o", "t"})


def _looks_like_header(fields: Sequence[str]) -> bool:
    return all(f.strip().lower() in words for f, words in zip(fields, _HEADER_WORDS))


def delimiter_option(delimiter: str | None, path: Path) -> str | None:
    """The one character a `--delimiter` option names ("tab", "pipe", "comma", "\\t" or the character itself)."""
    if delimiter is None:
        return None
    delimiter = {"\\t": "\t", "tab": "\t", "pipe": "|", "comma": ","}.get(delimiter, delimiter)
    if len(delimiter) != 1:
        raise InputError(f"the delimiter must be one character, got {delimiter!r}", path)
    return delimiter


def choose_delimiter(given: str | None, head: Sequence[str], path: Path, line: int | None) -> str:
    """The delimiter given, else the one detected from the file's first non-blank lines `head` (the first of
    them at `line`); a ParseError naming the file when none splits them into subject, relation, object."""
    delim = given or detect_delimiter(list(head))
    if delim is None:
        raise ParseError("cannot find a delimiter ('|', tab or ',') that splits lines into "
                         "subject, relation, object; use --format or --delimiter", path, line)
    return delim


def parse_delimited(text: str, path: Path, *, delimiter: str | None = None, header: bool = False,
                    namespace: str = DEFAULT_NS) -> tuple[list[Triple], int]:
    """Parse `subject<d>relation<d>object` lines; names become IRIs with their exact name as rdfs:label.

    Returns the triples (facts, then entity and property labels) and the number of distinct entities."""
    delimiter = delimiter_option(delimiter, path)
    lines = text.splitlines()
    numbered = [(i, line) for i, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise EmptyInputError("the file is empty", path)
    if header:
        numbered = numbered[1:]
    delim = choose_delimiter(delimiter, [line for _, line in numbered[:50]], path, numbered[0][0])
    if not header and numbered and _looks_like_header(_split(numbered[0][1], delim)):
        numbered = numbered[1:]

    entities: dict[str, URIRef] = {}
    props: dict[str, URIRef] = {}
    facts: list[Triple] = []
    for lineno, line in numbered:
        s, r, o = split_triple(line, delim, path, lineno)
        si = entities.get(s)
        if si is None:
            si = entities[s] = entity_iri(s, namespace)
        oi = entities.get(o)
        if oi is None:
            oi = entities[o] = entity_iri(o, namespace)
        pi = props.get(r)
        if pi is None:
            pi = props[r] = property_iri(r, namespace)
        facts.append((si, pi, oi))
    label = RDFS.label
    facts.extend((iri, label, Literal(name)) for name, iri in entities.items())
    facts.extend((iri, label, Literal(relation_label(rel))) for rel, iri in props.items())
    facts.extend((iri, RDF.type, RDF.Property) for iri in props.values())
    return facts, len(entities)
