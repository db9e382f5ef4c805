"""Document ingest into graph + index, and the `index build/search` and `ingest` commands."""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import RDF, URIRef
from typer.testing import CliRunner

from agents.ingest import DocumentIngestor
from knowledge.embeddings import Embedder
from knowledge.errors import EncodingError
from knowledge.graph import KnowledgeGraph
from knowledge.namespaces import KGO
from knowledge.retrieval import KnowledgeIndex

KB = """Kismet|directed_by|William Dieterle
Kismet|starred_actors|Marlene Dietrich
Once Were Warriors|starred_actors|Temuera Morrison
Casablanca|directed_by|Michael Curtiz
"""
DOC = """# Notes

Temuera Morrison met Jane Campion in Wellington. Marlene Dietrich was not there.

Kismet was filmed in Hollywood.
"""


@dataclass
class Span:
    text: str
    label: str
    start: int
    end: int
    score: float


class GazetteerTagger:
    """A dictionary tagger (another implementation of the tagger interface): finds listed names."""

    NAMES = {"Temuera Morrison": "PER", "Jane Campion": "PER", "Wellington": "LOC", "Marlene Dietrich": "PER",
             "Kismet": "MISC", "Hollywood": "LOC"}

    def run(self, texts: Sequence[str]) -> list[list[Span]]:
        out = []
        for text in texts:
            spans = [Span(m.group(0), label, m.start(), m.end(), 1.0)
                     for name, label in self.NAMES.items() for m in re.finditer(re.escape(name), text)]
            out.append(sorted(spans, key=lambda s: s.start))
        return out


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture()
def kb(tmp_path: Path) -> Path:
    path = tmp_path / "kb.txt"
    path.write_text(KB, encoding="utf-8")
    return path


def test_ret_ingest_links_and_replaces(kb: Path, tmp_path: Path, embedder: Embedder) -> None:
    graph = KnowledgeGraph.open("memory")
    graph.load(kb, delimiter="|")
    index = KnowledgeIndex.build(graph, tmp_path / "idx", ("entity",), embedder=embedder)
    doc = tmp_path / "notes.md"
    doc.write_text(DOC, encoding="utf-8")
    report = DocumentIngestor(graph, index, GazetteerTagger()).run([doc])
    f = report.files[0]
    assert f.passages == 3 and f.mentions == 6 and f.linked == 3 and f.new_entities == 3
    passages = list(graph.subjects(RDF.type, KGO.Passage))
    assert len(passages) == 3
    morrison = URIRef("http://kgreason.org/data/e/Temuera%20Morrison")
    mentioning = [p for p in passages if (p, KGO.mentions, morrison) in graph.rdf]
    assert len(mentioning) == 1
    start = int(graph.objects(mentioning[0], KGO.start)[0])
    end = int(graph.objects(mentioning[0], KGO.end)[0])
    assert DOC[start:end].startswith("Temuera Morrison met Jane Campion")
    campion = graph.labels().exact("Jane Campion")
    assert campion and KGO.Person in graph.types(campion[0])
    hits = index.search("where was Kismet shot", k=1, kind="passage")
    assert hits[0].text == "Kismet was filmed in Hollywood." and hits[0].source == doc.resolve().as_uri()
    # re-ingesting the edited file replaces its passages in graph and index
    doc.write_text("Kismet was filmed in Hollywood.\n", encoding="utf-8")
    again = DocumentIngestor(graph, index, GazetteerTagger()).run([doc])
    assert again.files[0].replaced_passages == 3
    assert len(list(graph.subjects(RDF.type, KGO.Passage))) == 1
    assert index.counts()["passage"] == 1
    reopened = KnowledgeIndex.open(index.folder, graph=graph, embedder=embedder)  # saved with the new graph
    assert reopened.counts()["passage"] == 1


def test_ret_ingest_bad_file_changes_nothing(kb: Path, tmp_path: Path) -> None:
    graph = KnowledgeGraph.open("memory")
    graph.load(kb, delimiter="|")
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("Kismet was filmed in Hollywood.\n", encoding="utf-8")
    bad.write_bytes(b"ok\n\xff\xfe broken\n")
    before = len(graph)
    with pytest.raises(EncodingError, match=r"bad.txt:2:1"):
        DocumentIngestor(graph, None, GazetteerTagger()).run([good, bad])
    assert len(graph) == before


def _cli(args: list[str]):  # noqa: ANN202
    from ui.cli import app

    return CliRunner().invoke(app, args)


def test_ret_cli_build_and_search(kb: Path, tmp_path: Path) -> None:
    out = tmp_path / "idx"
    res = _cli(["index", "build", "--kg", str(kb), "--delimiter", "|", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output[res.output.index("{"):])["counts"]["fact"] == 4
    res = _cli(["index", "search", "who directed Kismet", "--kind", "fact", "-k", "2", "--kg", str(kb),
                "--delimiter", "|", "--index", str(out), "--json"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.output[res.output.index("{"):])["hits"]
    assert hits[0]["label"] == "Kismet directed by William Dieterle" and hits[0]["kind"] == "fact"
    assert hits[0]["iri"].endswith("/e/Kismet") and 0 < hits[0]["score"] <= 1
    res = _cli(["index", "search", "Temura Morison", "--kind", "entity", "--kg", str(kb), "--delimiter", "|",
                "--index", str(out)])
    assert res.exit_code == 0, res.output
    assert re.search(r"1\. 0\.\d+\tentity\tTemuera Morrison\thttp://kgreason.org/data/e/Temuera%20Morrison",
                     res.output)


def test_ret_cli_bad_inputs_exit_2(kb: Path, tmp_path: Path) -> None:
    res = _cli(["index", "build", "--kinds", "entity,people", "--kg", str(kb), "--delimiter", "|"])
    assert res.exit_code == 2 and "--kinds" in res.output
    out = tmp_path / "idx"
    assert _cli(["index", "build", "--kinds", "entity", "--kg", str(kb), "--delimiter", "|", "--out",
                 str(out)]).exit_code == 0
    (out / "entries.jsonl").write_text("garbage\n", encoding="utf-8")
    res = _cli(["index", "search", "Kismet", "--kg", str(kb), "--delimiter", "|", "--index", str(out)])
    assert res.exit_code == 2 and "entries.jsonl" in res.output and "kgreason index build" in res.output
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    res = _cli(["ingest", str(empty), "--kg", str(kb), "--delimiter", "|", "--no-index"])
    assert res.exit_code == 2 and "empty.txt" in res.output
