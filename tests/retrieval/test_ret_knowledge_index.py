"""KnowledgeIndex over a small movie graph with the real MiniLM encoder: ranking, filters, persistence checks."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rdflib import RDF

from knowledge.embeddings import Embedder
from knowledge.errors import InputError
from knowledge.graph import KnowledgeGraph
from knowledge.linker import EntityLinker
from knowledge.namespaces import KGO, entity_iri
from knowledge.retrieval import (IndexCorruptError, IndexMismatchError, KnowledgeIndex, as_linker_fallback,
                                 graph_fingerprint)

KB = """Kismet|directed_by|William Dieterle
Kismet|written_by|Edward Knoblock
Kismet|starred_actors|Marlene Dietrich
Kismet|release_year|1944
Once Were Warriors|starred_actors|Temuera Morrison
Once Were Warriors|directed_by|Lee Tamahori
Tracker|starred_actors|Temuera Morrison
River Queen|starred_actors|Temuera Morrison
Casablanca|directed_by|Michael Curtiz
Casablanca|starred_actors|Humphrey Bogart
The Sea Hawk|directed_by|Michael Curtiz
Patricia Morison|starred_actors|Patricia Morison
Grant Morrison|written_by|Grant Morrison
Juarez|directed_by|William Dieterle
Kissed|directed_by|Lynne Stopkewich
Kisses|has_genre|Drama
"""

TYPED = [("Kismet", KGO.Movie), ("Casablanca", KGO.Movie), ("Juarez", KGO.Movie), ("Temuera Morrison", KGO.Person)]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def _graph(folder: Path) -> KnowledgeGraph:
    path = folder / "kb.txt"
    path.write_text(KB, encoding="utf-8")
    kg = KnowledgeGraph.open("memory")
    kg.load(path, delimiter="|")
    kg.add([(entity_iri(name), RDF.type, cls) for name, cls in TYPED])
    return kg


@pytest.fixture()
def graph(tmp_path: Path) -> KnowledgeGraph:
    return _graph(tmp_path)


@pytest.fixture(scope="module")
def built(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeIndex:
    folder = tmp_path_factory.mktemp("ret_index")
    return KnowledgeIndex.build(_graph(folder), folder / "idx", kinds=("entity", "fact"), embedder=embedder)


@pytest.fixture()
def index(built: KnowledgeIndex) -> KnowledgeIndex:
    """The shared index (read-only tests)."""
    return built


@pytest.fixture()
def index_copy(built: KnowledgeIndex, embedder: Embedder, tmp_path: Path) -> KnowledgeIndex:
    """A private copy of the index folder for tests that damage it."""
    shutil.copytree(built.folder, tmp_path / "idx")
    return KnowledgeIndex.open(tmp_path / "idx", embedder=embedder)


def test_ret_misspelt_entity_ranks_first(index: KnowledgeIndex) -> None:
    hits = index.search("Temura Morison", k=3, kind="entity")
    assert hits[0].label == "Temuera Morrison" and hits[0].kind == "entity"
    assert hits[0].iri and hits[0].iri.endswith("Temuera%20Morrison")


def test_ret_question_finds_fact(index: KnowledgeIndex) -> None:
    hits = index.search("who directed Kismet", k=5, kind="fact")
    assert any(h.triple and h.triple[1].endswith("directed_by") and h.label.startswith("Kismet") for h in hits)
    assert hits[0].label == "Kismet directed by William Dieterle"
    assert all(h.kind == "fact" for h in hits)


def test_ret_kinds_counts_and_type_filter(index: KnowledgeIndex, graph: KnowledgeGraph) -> None:
    counts = index.counts()
    assert counts["fact"] == len(KB.strip().splitlines())
    assert counts["entity"] >= 20
    mixed = index.search("Kismet", k=10)
    assert {h.kind for h in mixed} == {"entity", "fact"}
    with pytest.raises(InputError, match="unknown kind"):
        index.search("Kismet", kind="movie")
    types = {t for e in index.entries.values() for t in e.types}
    assert types == {str(KGO.Movie), str(KGO.Person)}
    movies = index.search("Kismet", k=5, entity_type=str(KGO.Movie))
    assert movies and all(str(KGO.Movie) in h.types for h in movies)
    assert movies[0].label in ("Kismet", "Kismet directed by William Dieterle")
    people = index.search("Kismet", k=20, kind="entity", entity_type=str(KGO.Person))
    assert [h.label for h in people] == ["Temuera Morrison"]  # the only Person, however far from the query


def test_ret_reopen_same_answers(index: KnowledgeIndex, graph: KnowledgeGraph, embedder: Embedder) -> None:
    again = KnowledgeIndex.open(index.folder, graph=graph, embedder=embedder)
    assert again.counts() == index.counts()
    a = [(h.label, round(h.score, 4)) for h in index.search("who directed Casablanca", 5)]
    b = [(h.label, round(h.score, 4)) for h in again.search("who directed Casablanca", 5)]
    assert a == b


def test_ret_corrupted_index_file(index_copy: KnowledgeIndex, embedder: Embedder) -> None:
    index = index_copy
    faiss_file = next(index.folder.glob("vectors-fact/*"))
    data = bytearray(next(index.folder.glob("vectors-fact/vectors.faiss")).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (index.folder / "vectors-fact" / "vectors.faiss").write_bytes(bytes(data))
    assert faiss_file.exists()
    with pytest.raises(IndexCorruptError, match=r"vectors-fact/vectors.faiss.*kgreason index build"):
        KnowledgeIndex.open(index.folder, embedder=embedder)
    # a truncated entries file is caught as well
    (index.folder / "entries.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(IndexCorruptError):
        KnowledgeIndex.open(index.folder, embedder=embedder, verify=False)


def test_ret_graph_and_model_mismatch(index_copy: KnowledgeIndex, graph: KnowledgeGraph,
                                      embedder: Embedder) -> None:
    from rdflib import Literal, URIRef

    index = index_copy
    KnowledgeIndex.open(index.folder, graph=graph, embedder=embedder)  # same graph content: accepted
    graph.add([(URIRef("http://x/e"), URIRef("http://x/p"), Literal("new"))])
    with pytest.raises(IndexMismatchError, match="another graph"):
        KnowledgeIndex.open(index.folder, graph=graph, embedder=embedder)
    manifest = json.loads((index.folder / "manifest.json").read_text())
    manifest["model_id"] = "other-model@123"
    (index.folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="embedding model other-model@123"):
        KnowledgeIndex.open(index.folder, embedder=embedder)


def test_ret_cached_build_reused(graph: KnowledgeGraph, embedder: Embedder, tmp_path: Path) -> None:
    first = KnowledgeIndex.cached(graph, kinds=("entity",), embedder=embedder, cache_dir=tmp_path / "cache")
    fp = graph_fingerprint(graph)
    assert first.folder == tmp_path / "cache" / f"{fp['triples']}-{fp['hash']}"
    stamp = (first.folder / "manifest.json").stat().st_mtime_ns
    second = KnowledgeIndex.cached(graph, kinds=("entity",), embedder=embedder, cache_dir=tmp_path / "cache")
    assert (second.folder / "manifest.json").stat().st_mtime_ns == stamp  # opened, not rebuilt
    assert second.counts() == first.counts()


def test_ret_linker_fallback(index: KnowledgeIndex, graph: KnowledgeGraph) -> None:
    linker = EntityLinker(graph, fallback=as_linker_fallback(index))
    result = linker.run("the Maori actor Temuera", k=3)
    assert result.candidates and result.candidates[0].label == "Temuera Morrison"
