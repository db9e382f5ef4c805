"""The graph verbs of the CLI: load, stats, query, entities; errors exit 2 with file:line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.cli import app

runner = CliRunner()


def test_load_into_store_then_stats_and_query(tmp_path: Path, movies_file: Path) -> None:
    store = str(tmp_path / "db")
    res = runner.invoke(app, ["load", str(movies_file), "--store", store, "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["triples_added"] == report["graph_triples"] > 0 and report["entities"] == 14
    res = runner.invoke(app, ["stats", "--store", store, "--json"])
    assert json.loads(res.output)["properties"]["directed by"] == 4
    res = runner.invoke(app, ["query", "SELECT ?o WHERE { ?s <http://kgreason.org/data/p/directed_by> ?o }",
                              "--store", store, "--json"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.output)["rows"]) == 4


def test_update_refused_without_flag(tmp_path: Path, movies_file: Path) -> None:
    store = str(tmp_path / "db")
    runner.invoke(app, ["load", str(movies_file), "--store", store])
    update = "DELETE WHERE { ?s ?p ?o }"
    res = runner.invoke(app, ["query", update, "--store", store])
    assert res.exit_code == 2 and "--allow-update" in res.output
    assert json.loads(runner.invoke(app, ["stats", "--store", store, "--json"]).output)["triples"] > 0
    res = runner.invoke(app, ["query", update, "--store", store, "--allow-update"])
    assert res.exit_code == 0, res.output
    assert json.loads(runner.invoke(app, ["stats", "--store", store, "--json"]).output)["triples"] == 0


def test_bad_file_exits_2_with_location(tmp_path: Path, movies_file: Path) -> None:
    store = str(tmp_path / "db")
    runner.invoke(app, ["load", str(movies_file), "--store", store])
    bad = tmp_path / "bad.txt"
    bad.write_text("a|r|b\nc|r|d|e\n", encoding="utf-8")
    res = runner.invoke(app, ["load", str(bad), "--store", store])
    assert res.exit_code == 2
    assert f"{bad}:2" in res.output
    assert json.loads(runner.invoke(app, ["stats", "--store", store, "--json"]).output)["entities"] == 14


def test_entities_with_kg_file(movies_file: Path) -> None:
    res = runner.invoke(app, ["entities", "Gregoire Colin", "--kg", str(movies_file), "--json", "-k", "3"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["candidates"][0]["label"] == "Grégoire Colin"
    res = runner.invoke(app, ["query", "SELECT ?x WHERE { ?x ?p", "--kg", str(movies_file)])
    assert res.exit_code == 2 and "<query>:1:" in res.output


@pytest.mark.slow
def test_entities_default_to_demo_graph() -> None:
    res = runner.invoke(app, ["entities", "Gregoire Colin", "--json"])
    assert json.loads(res.output)["candidates"][0]["label"] == "Grégoire Colin"


@pytest.mark.integration
def test_endpoint_load_query_and_refused_update(oxigraph_server: str, movies_file: Path, tmp_path: Path) -> None:
    endpoint = f"{oxigraph_server}/query"
    assert runner.invoke(app, ["query", "CLEAR ALL", "--endpoint", endpoint, "--allow-update"]).exit_code == 0
    res = runner.invoke(app, ["load", str(movies_file), "--endpoint", endpoint, "--json"])
    assert res.exit_code == 0, res.output
    added = json.loads(res.output)["triples_added"]
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://ex.org/> .\nex:a ex:b .\n", encoding="utf-8")
    res = runner.invoke(app, ["load", str(bad), "--endpoint", endpoint])
    assert res.exit_code == 2 and f"{bad}:2" in res.output
    res = runner.invoke(app, ["query", "DROP ALL", "--endpoint", endpoint])
    assert res.exit_code == 2
    stats = json.loads(runner.invoke(app, ["stats", "--endpoint", endpoint, "--json"]).output)
    assert stats["triples"] == added and stats["properties"]["directed by"] == 4
    res = runner.invoke(app, ["entities", "gregoire colin", "--endpoint", endpoint, "--json"])
    assert json.loads(res.output)["candidates"][0]["label"] == "Grégoire Colin"
