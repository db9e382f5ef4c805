"""Retrieval bars on the bundled movie graph through `kgreason index search`, using its cached index.

Building that index embeds ~177k texts (about 20 CPU-seconds with the default static embedder): build it once
with `kgreason index build`; these tests skip when it is not cached."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def movie_index_cached() -> None:
    from knowledge.graph import KnowledgeGraph
    from knowledge.retrieval import cache_folder, graph_fingerprint

    graph = KnowledgeGraph.demo()
    fp = graph_fingerprint(graph)
    folder = cache_folder(fp)
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        pytest.skip(f"no cached movie index at {folder}: run `kgreason index build` once (~20 CPU-seconds)")
    kinds = json.loads(manifest.read_text(encoding="utf-8")).get("kinds", [])
    if not {"entity", "fact"} <= set(kinds):
        pytest.skip(f"cached movie index at {folder} lacks entity/fact kinds ({kinds})")


def _search(*args: str) -> list[dict]:
    from ui.cli import app

    res = CliRunner().invoke(app, ["index", "search", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output[res.output.index("{"):])["hits"]


def test_ret_misspelt_actor_in_top3(movie_index_cached: None) -> None:
    hits = _search("Temura Morison", "--kind", "entity", "-k", "3")
    assert "Temuera Morrison" in [h["label"] for h in hits], hits


def test_ret_question_finds_directed_by_fact_in_top5(movie_index_cached: None) -> None:
    hits = _search("who directed Kismet", "--kind", "fact", "-k", "5")
    facts = [h["triple"] for h in hits]
    assert any(t[0].endswith("/e/Kismet") and t[1].endswith("/p/directed_by") for t in facts), hits
