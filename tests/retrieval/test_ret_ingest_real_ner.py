"""`kgreason ingest` with the shipped document NER model: linking, new entities, provenance; bad inputs."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from rdflib import RDF, URIRef
from typer.testing import CliRunner

from finetune.ner import SHIPPED_NER
from knowledge.graph import KnowledgeGraph
from knowledge.namespaces import KGO

pytestmark = pytest.mark.skipif(not (SHIPPED_NER / "model_card.json").is_file(), reason="no shipped NER model")

KB = """Once Were Warriors|starred_actors|Temuera Morrison
Once Were Warriors|directed_by|Lee Tamahori
Kismet|directed_by|William Dieterle
Kismet|starred_actors|Marlene Dietrich
"""
DOC = """Notes on films

Temuera Morrison starred in Once Were Warriors. The film was shot in Auckland.

Marlene Dietrich later met Jane Campion in Paris.
"""
MORRISON = URIRef("http://kgreason.org/data/e/Temuera%20Morrison")


def _cli(args: list[str]):  # noqa: ANN202
    from ui.cli import app

    return CliRunner().invoke(app, args)


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    kb = tmp_path / "kb.txt"
    kb.write_text(KB, encoding="utf-8")
    folder = tmp_path / "store"
    graph = KnowledgeGraph.open("oxigraph", str(folder))
    graph.load(kb, delimiter="|")
    graph.close()
    return folder


def _triples(store: Path) -> int:
    graph = KnowledgeGraph.open("oxigraph", str(store))
    try:
        return len(graph)
    finally:
        graph.close()


@pytest.mark.slow  # ~13 s on 2 CPU cores (NER + MiniLM load)
def test_ret_ingest_cli_real_ner_links_creates_and_records_provenance(store: Path, tmp_path: Path) -> None:
    doc = tmp_path / "notes.md"
    doc.write_text(DOC, encoding="utf-8")
    res = _cli(["ingest", str(doc), "--store", str(store), "--index", str(tmp_path / "idx"), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output[res.output.index("{"):])
    f = report["files"][0]
    assert f["passages"] == 3 and f["mentions"] >= 5 and f["linked"] >= 2 and f["new_entities"] >= 3
    graph = KnowledgeGraph.open("oxigraph", str(store))
    try:
        passages = list(graph.subjects(RDF.type, KGO.Passage))
        assert len(passages) == 3
        source = URIRef(doc.resolve().as_uri())
        assert all((p, KGO.source, source) in graph.rdf for p in passages)
        # the passage that mentions the existing Temuera Morrison points back at its characters in the file
        (first,) = [p for p in passages if (p, KGO.mentions, MORRISON) in graph.rdf]
        start, end = int(graph.objects(first, KGO.start)[0]), int(graph.objects(first, KGO.end)[0])
        assert DOC[start:end] == "Temuera Morrison starred in Once Were Warriors. The film was shot in Auckland."
        # places and people the graph did not know become typed nodes, mentioned by their passage
        auckland = graph.labels().exact("Auckland")
        assert auckland and KGO.Location in graph.types(auckland[0])
        assert (first, KGO.mentions, auckland[0]) in graph.rdf
        campion = graph.labels().exact("Jane Campion")
        assert campion and KGO.Person in graph.types(campion[0])
        dietrich = graph.labels().exact("Marlene Dietrich")
        assert any((p, KGO.mentions, dietrich[0]) in graph.rdf for p in passages)  # linked, not duplicated
        assert len(dietrich) == 1
    finally:
        graph.close()
    # passages are searchable in the index named with --index
    res = _cli(["index", "search", "where was the film shot", "--kind", "passage", "--store", str(store),
                "--index", str(tmp_path / "idx"), "--json"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.output[res.output.index("{"):])["hits"]
    assert "Auckland" in hits[0]["text"] and hits[0]["source"] == doc.resolve().as_uri()


@pytest.mark.parametrize("name, content, expected", [
    ("empty.txt", b"\n \n", r"empty.txt.*empty"),
    ("blob.txt", b"hello\nwor\x00ld\n", r"blob.txt:2:4"),
    ("latin1.txt", "first line\ncaf\u00e9\n".encode("latin-1"), r"latin1.txt:2:4"),
])
def test_ret_ingest_cli_bad_files_exit_2_and_change_nothing(store: Path, tmp_path: Path, name: str,
                                                           content: bytes, expected: str) -> None:
    good = tmp_path / "good.txt"
    good.write_text("Temuera Morrison starred in Once Were Warriors.\n", encoding="utf-8")
    bad = tmp_path / name
    bad.write_bytes(content)
    before = _triples(store)
    res = _cli(["ingest", str(good), str(bad), "--store", str(store), "--no-index"])
    assert res.exit_code == 2
    assert re.search(expected, res.output, re.S), res.output
    assert _triples(store) == before


def test_ret_ingest_cli_corrupted_index_exit_2(store: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    assert _cli(["index", "build", "--kinds", "entity", "--store", str(store), "--out", str(idx)]).exit_code == 0
    with (idx / "vectors-entity" / "vectors.faiss").open("r+b") as fh:  # flip bytes inside the vectors
        fh.seek(64)
        fh.write(b"\x00garbage\x00")
    doc = tmp_path / "doc.txt"
    doc.write_text("Temuera Morrison starred in Once Were Warriors.\n", encoding="utf-8")
    before = _triples(store)
    res = _cli(["ingest", str(doc), "--store", str(store), "--index", str(idx)])
    assert res.exit_code == 2
    assert "vectors.faiss" in res.output and "kgreason index build" in res.output
    assert _triples(store) == before


@pytest.mark.slow
def test_ret_ingest_cli_50mb_file_with_a_bad_byte_at_the_end(store: Path, tmp_path: Path) -> None:
    """A 50 MB document is checked to its last line before NER runs or the graph changes."""
    big = tmp_path / "big.txt"
    para = ("Temuera Morrison starred in Once Were Warriors. " * 8 + "\n\n").encode()
    n = 50 * 1024 * 1024 // len(para) + 1
    with big.open("wb") as fh:
        for _ in range(n):
            fh.write(para)
        fh.write(b"caf\xe9\n")
    before = _triples(store)
    t0 = time.perf_counter()
    res = _cli(["ingest", str(big), "--store", str(store), "--no-index"])
    assert res.exit_code == 2
    assert f"big.txt:{2 * n + 1}:4" in res.output, res.output[-500:]
    assert time.perf_counter() - t0 < 300  # failed while reading, not after tagging 100k passages
    assert _triples(store) == before


@pytest.mark.slow
def test_ret_shipped_ner_fast_profile_finds_the_same_entities() -> None:
    """The fast CPU preset (packed windows, short context, int8 attention) still reads a plain document right."""
    from finetune.ner import NerTagger

    accurate = NerTagger(device="cpu").run([DOC])[0]
    fast = NerTagger(device="cpu", profile="fast").run([DOC])[0]
    assert [(s.text, s.label) for s in fast] == [(s.text, s.label) for s in accurate]
    assert ("Temuera Morrison", "PER") in [(s.text, s.label) for s in fast]


def test_ret_ingest_cli_refuses_an_unknown_ner_profile(store: Path, tmp_path: Path) -> None:
    doc = tmp_path / "notes.md"
    doc.write_text(DOC, encoding="utf-8")
    before = _triples(store)
    res = _cli(["ingest", str(doc), "--store", str(store), "--no-index", "--ner-profile", "quick"])
    assert res.exit_code == 2 and "--ner-profile" in res.output
    assert _triples(store) == before
