"""Retrieval bars on the bundled movie graph through `kgreason index build` and `kgreason index search`.

The index (~177k texts, about 20 CPU-seconds with the default static embedder) is built by the CLI into a
temporary cache, so the bars are checked against what a user with an empty cache gets."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def movie_index_built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from ui.cli import app
    import ui.cli_index  # noqa: F401  (registers the verbs)

    cache = tmp_path_factory.mktemp("movie-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KGREASON_CACHE", str(cache))
        res = CliRunner().invoke(app, ["index", "build", "--json"])
        assert res.exit_code == 0, res.output
        built = json.loads(res.output[res.output.index("{"):])
        assert built["counts"]["entity"] > 40_000 and built["counts"]["fact"] == 133_582
        assert built["model_id"].startswith("minilm-l6-static@")
        yield cache


def _search(*args: str) -> list[dict]:
    from ui.cli import app

    res = CliRunner().invoke(app, ["index", "search", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output[res.output.index("{"):])["hits"]


def test_ret_misspelt_actor_in_top3() -> None:
    hits = _search("Temura Morison", "--kind", "entity", "-k", "3")
    assert "Temuera Morrison" in [h["label"] for h in hits], hits


def test_ret_question_finds_directed_by_fact_in_top5() -> None:
    hits = _search("who directed Kismet", "--kind", "fact", "-k", "5")
    facts = [h["triple"] for h in hits]
    assert any(t[0].endswith("/e/Kismet") and t[1].endswith("/p/directed_by") for t in facts), hits
