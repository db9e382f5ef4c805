"""Document ingest: text/Markdown files -> passages -> NER mentions linked into the graph -> passages indexed.

Each passage becomes a `kgo:Passage` node with `kgo:source` (the file's URI), `kgo:start`/`kgo:end` (character
offsets in the file), its text as `rdf:value`, and `kgo:mentions` links to the entities found in it. Mentions
that link to no existing entity become new nodes typed by their NER label. Ingesting a file again replaces its
passages. A file that cannot be read changes nothing.

`run` = `prepare` (read, split, tag: touches no graph, so a server runs it without any lock) -> `link` (reads
the graph) -> `commit` (the only step that changes the graph and the index; brief).
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rdflib import RDF, RDFS, Literal, URIRef
from rdflib.namespace import XSD

from knowledge.documents import DocumentSplitter, Passage
from knowledge.labels import normalise
from knowledge.linker import EntityLinker
from knowledge.namespaces import DEFAULT_NS, KGO, entity_iri

if TYPE_CHECKING:
    from knowledge.graph import KnowledgeGraph
    from knowledge.retrieval import KnowledgeIndex

#: NER label -> class of a new entity node
NER_CLASSES = {"PER": KGO.Person, "ORG": KGO.Organization, "LOC": KGO.Location, "MISC": KGO.Thing}


class Tagger(Protocol):
    """Anything that tags texts with entity spans (finetune.ner.NerTagger)."""

    def run(self, texts: Sequence[str]) -> list[list[Any]]: ...


@dataclass
class FileReport:
    """What happened to one file."""

    path: str
    source: str
    passages: int = 0
    mentions: int = 0
    linked: int = 0
    new_entities: int = 0
    replaced_passages: int = 0


@dataclass
class IngestReport:
    """What `DocumentIngestor.run` did."""

    files: list[FileReport] = field(default_factory=list)
    triples_added: int = 0
    seconds: float = 0.0

    @property
    def passages(self) -> int:
        return sum(f.passages for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {"files": [vars(f) for f in self.files], "passages": self.passages,
                "triples_added": self.triples_added, "seconds": round(self.seconds, 3)}


@dataclass
class PreparedFile:
    """One file read, split and tagged, not yet linked to any graph."""

    path: Path
    passages: list[Passage]
    spans: list[list[Any]]


@dataclass
class LinkedFile:
    """One file's triples and index records, ready to commit."""

    report: FileReport
    triples: list[tuple]
    records: list[dict]


class DocumentIngestor:
    """Ingests documents into a graph (and, when given, a KnowledgeIndex) through a NER tagger."""

    def __init__(self, graph: "KnowledgeGraph", index: "KnowledgeIndex | None" = None, tagger: Tagger | None = None,
                 *, min_link_score: float = 0.85, namespace: str = DEFAULT_NS, max_chars: int = 600,
                 save_index: bool = True) -> None:
        self.graph = graph
        self.index = index
        self.save_index = save_index  # False: passages are added to the index in memory only
        self._tagger = tagger
        self.min_link_score = min_link_score
        self.namespace = namespace
        self.splitter = DocumentSplitter(max_chars=max_chars)

    @property
    def tagger(self) -> Tagger:
        if self._tagger is None:
            from finetune.ner import NerTagger

            self._tagger = NerTagger()
        return self._tagger

    def run(self, paths: Iterable[str | Path]) -> IngestReport:
        """Ingest every file; all files are read and checked before the graph changes."""
        t0 = time.perf_counter()
        return self.commit(self.link(self.prepare(paths)), started=t0)

    def prepare(self, paths: Iterable[str | Path]) -> list[PreparedFile]:
        """Read, split and tag every file (raises InputError before anything changes); no graph is touched."""
        split = [(Path(p), list(self.splitter.iter_passages(p))) for p in paths]
        return [PreparedFile(path, passages, self._tag(passages)) for path, passages in split]

    def _tag(self, passages: Sequence[Passage]) -> list[list[Any]]:
        """NER spans per passage; a passage without a letter or digit names no entity and is not tagged (a run of
        200k dots would otherwise cost the tagger one window per dot-sentence: hours on a CPU)."""
        wordy = [i for i, p in enumerate(passages) if any(c.isalnum() for c in p.text)]
        spans: list[list[Any]] = [[] for _ in passages]
        for i, found in zip(wordy, self.tagger.run([passages[i].text for i in wordy]) if wordy else []):
            spans[i] = found
        return spans

    def link(self, prepared: Sequence[PreparedFile]) -> list[LinkedFile]:
        """Link each file's mentions to the graph's entities (reads the graph, changes nothing)."""
        linker = EntityLinker(self.graph)
        return [self._link_file(f, linker) for f in prepared]

    def commit(self, linked: Sequence[LinkedFile], started: float | None = None) -> IngestReport:
        """Replace each file's earlier passages and add the new triples (and index records)."""
        t0 = time.perf_counter() if started is None else started
        report = IngestReport()
        for item in linked:
            item.report.replaced_passages = self._drop_passages(URIRef(item.report.source))
            report.files.append(item.report)
            report.triples_added += self.graph.add(item.triples)
            if self.index is not None:
                self.index.remove_source(item.report.source)
                self.index.add_passages(item.records)
        if self.index is not None and linked and self.save_index:
            self.index.save(self.graph)
        report.seconds = time.perf_counter() - t0
        return report

    def _link_file(self, prepared: PreparedFile, linker: EntityLinker) -> LinkedFile:
        path, passages = prepared.path, prepared.passages
        source = URIRef(path.resolve().as_uri())
        rep = FileReport(str(path), str(source), passages=len(passages))
        resolved: dict[str, URIRef] = {}
        new_nodes: list[tuple] = []
        triples: list[tuple] = []
        records: list[dict] = []
        file_key = hashlib.sha1(str(source).encode()).hexdigest()[:12]
        for passage, found in zip(passages, prepared.spans):
            node = URIRef(f"{self.namespace}passage/{file_key}-{passage.start}")
            triples += [(node, RDF.type, KGO.Passage), (node, KGO.source, source),
                        (node, KGO.start, Literal(passage.start, datatype=XSD.integer)),
                        (node, KGO.end, Literal(passage.end, datatype=XSD.integer)),
                        (node, RDF.value, Literal(passage.text))]
            for span in found:
                rep.mentions += 1
                entity = self._resolve(span, linker, resolved, new_nodes, rep)
                triples.append((node, KGO.mentions, entity))
            records.append({"text": passage.text, "iri": str(node), "source": str(source),
                            "start": passage.start, "end": passage.end})
        return LinkedFile(rep, new_nodes + triples, records)

    def _resolve(self, span: Any, linker: EntityLinker, resolved: dict[str, URIRef], new_nodes: list[tuple],
                 rep: FileReport) -> URIRef:
        key = normalise(span.text)
        if key in resolved:
            rep.linked += 1
            return resolved[key]
        best = linker.run(span.text, k=1).best
        if best is not None and best.score >= self.min_link_score:
            rep.linked += 1
            resolved[key] = best.iri
            return best.iri
        iri = entity_iri(span.text, self.namespace)
        new_nodes += [(iri, RDFS.label, Literal(span.text)),
                      (iri, RDF.type, NER_CLASSES.get(str(span.label).upper(), KGO.Thing))]
        rep.new_entities += 1
        resolved[key] = iri
        return iri

    def _drop_passages(self, source: URIRef) -> int:
        """Remove the passage nodes of an earlier ingest of the same file."""
        old = [n for n in self.graph.subjects(KGO.source, source)
               if (n, RDF.type, KGO.Passage) in self.graph]
        for node in old:
            self.graph.remove((node, None, None))
        return len(old)
