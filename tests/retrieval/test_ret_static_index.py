"""The default index embedder (the shipped static model) with tf-idf fact search, and incremental updates."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rdflib import RDFS, Literal, URIRef

from knowledge.embeddings import Embedder, index_embedder
from knowledge.graph import KnowledgeGraph
from knowledge.retrieval import IndexMismatchError, KnowledgeIndex
from tests.retrieval.test_ret_knowledge_index import KB

MORE = """Whale Rider|starred_actors|Keisha Castle-Hughes
Whale Rider|directed_by|Niki Caro
Kismet|has_genre|Musical
"""


def _graph(folder: Path, text: str = KB) -> KnowledgeGraph:
    path = folder / "kb.txt"
    path.write_text(text, encoding="utf-8")
    kg = KnowledgeGraph.open("memory")
    kg.load(path, delimiter="|")
    return kg


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeIndex:
    folder = tmp_path_factory.mktemp("static")
    return KnowledgeIndex.build(_graph(folder), folder / "idx")


def test_ret_static_is_the_default_and_reopens_with_its_model(built: KnowledgeIndex) -> None:
    manifest = json.loads((built.folder / "manifest.json").read_text())
    assert manifest["embedder"] == "static" and manifest["model_id"].startswith("minilm-l6-static@")
    assert manifest["dim"] == 256
    vecs = index_embedder().encode(["Kismet directed by William Dieterle", "who directed Kismet"])
    assert vecs.shape == (2, 256) and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs.dtype == np.float32  # the table ships as float16 (half the bytes), vectors are float32
    from safetensors import safe_open

    from knowledge.embeddings import STATIC_MODEL

    with safe_open(str(STATIC_MODEL / "model.safetensors"), "np") as table:
        assert {str(table.get_tensor(k).dtype) for k in table.keys()} == {"float16"}
    again = KnowledgeIndex.open(built.folder)  # no embedder given: the one the manifest names
    assert again.embedder.name == "static" and len(again) == len(built)
    with pytest.raises(IndexMismatchError, match="embedding model"):
        KnowledgeIndex.open(built.folder, embedder=Embedder())  # MiniLM vectors are not comparable


def test_ret_static_finds_the_fact_and_the_misspelt_name(built: KnowledgeIndex) -> None:
    facts = built.search("who directed Kismet", k=3, kind="fact")
    assert facts[0].triple is not None and facts[0].triple[0].endswith("/e/Kismet")
    assert any(h.triple and h.triple[1].endswith("/p/directed_by") for h in facts), facts
    assert "Temuera Morrison" in [h.label for h in built.search("Temura Morison", k=3, kind="entity")]


def test_ret_tfidf_weight_is_what_ranks_the_rare_name(built: KnowledgeIndex) -> None:
    """The word mix is on by default and scores stay cosines in [0, 1]; 0 turns it off."""
    hits = built.search("films by Lynne Stopkewich", k=5, kind="fact")
    assert hits[0].label == "Kissed directed by Lynne Stopkewich" and 0 < hits[0].score <= 1.0
    weight = built.terms_weight
    try:
        built.terms_weight = 0.0
        plain = built.search("films by Lynne Stopkewich", k=5, kind="fact")
    finally:
        built.terms_weight = weight
    assert [h.score for h in plain] != [h.score for h in hits]


def test_ret_add_triples_indexes_only_what_a_load_added(tmp_path: Path) -> None:
    graph = _graph(tmp_path)
    index = KnowledgeIndex.build(graph, tmp_path / "idx")
    before = index.counts()
    extra = tmp_path / "more.txt"
    extra.write_text(MORE, encoding="utf-8")
    snapshot = set(graph.triples((None, None, None)))
    graph.load(extra, delimiter="|")
    added = [t for t in graph.triples((None, None, None)) if t not in snapshot]
    counts = index.add_triples(graph, added)
    assert counts["fact"] == 3
    assert counts["entity"] >= 4  # Whale Rider, Keisha Castle-Hughes, Niki Caro, Musical (Kismet is known)
    assert index.counts()["fact"] == before["fact"] + 3
    assert index.add_triples(graph, added) == {"fact": 0, "entity": 0}  # twice: nothing new
    hits = index.search("who directed Whale Rider", k=3, kind="fact")
    assert any(h.label == "Whale Rider directed by Niki Caro" for h in hits), hits
    assert "Keisha Castle-Hughes" in [h.label for h in index.search("Keisha Castle Hughes", k=3, kind="entity")]
    # an alias added later becomes searchable too
    alias = (URIRef(index.search("Niki Caro", k=1, kind="entity")[0].iri), RDFS.label, Literal("Niki Caro NZ"))
    graph.add([alias])
    assert index.add_triples(graph, [alias])["entity"] == 1
    # what an incremental index saves reopens and equals a rebuild in what it holds
    index.save(graph)
    reopened = KnowledgeIndex.open(tmp_path / "idx", graph=graph)
    rebuilt = KnowledgeIndex.build(graph, tmp_path / "full")
    assert reopened.counts()["fact"] == rebuilt.counts()["fact"]
    assert {e.triple for e in reopened.entries.values()} == {e.triple for e in rebuilt.entries.values()}
    assert {(e.iri, e.label) for e in reopened.entries.values() if e.kind == "entity"} == \
        {(e.iri, e.label) for e in rebuilt.entries.values() if e.kind == "entity"}
    # removing triples drops their facts
    assert index.remove_triples(added[:1]) == (1 if added[0][1] != RDFS.label else 0)


def test_ret_cli_build_names_its_embedder_and_refuses_a_missing_one(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import ui.cli_index  # noqa: F401  (registers the verbs)
    from ui.cli import app

    kb = tmp_path / "kb.txt"
    kb.write_text(KB, encoding="utf-8")
    base = ["index", "build", "--kg", str(kb), "--delimiter", "|", "--json"]
    res = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output[res.output.index("{"):])["model_id"].startswith("minilm-l6-static@")
    res = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "b"), "--embedder", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "embedding model folder not found" in res.output and "Traceback" not in res.output
