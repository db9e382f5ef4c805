"""`kgreason serve` option checks that run before anything is loaded."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ui.cli import app
from ui.cli_serve import is_loopback, parse_auth


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.1.2.3"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.4", "::", "example.org", ""])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_parse_auth() -> None:
    assert parse_auth("ann:s3:cr3t") == ("ann", "s3:cr3t")
    assert parse_auth(None) is None
    for bad in ("ann", ":x", "ann:"):
        with pytest.raises(ValueError):
            parse_auth(bad)


def test_public_host_without_auth_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "--auth" in result.output


def test_bad_auth_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["serve", "--auth", "nopassword"])
    assert result.exit_code == 2
    assert "USER:PASS" in result.output


def test_missing_graph_file_exits_2(runner: CliRunner, tmp_path) -> None:
    missing = tmp_path / "nope.ttl"
    result = runner.invoke(app, ["serve", "--kg", str(missing)])
    assert result.exit_code == 2
    assert str(missing) in result.output


def test_two_sources_exit_2(runner: CliRunner, tmp_path) -> None:
    kg = tmp_path / "g.ttl"
    kg.write_text("")
    result = runner.invoke(app, ["serve", "--kg", str(kg), "--endpoint", "http://127.0.0.1:1/q"])
    assert result.exit_code == 2
