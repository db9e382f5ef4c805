"""A real browser (Debian's chromium, driven by playwright) uses `kgreason serve`: asks, uploads a graph."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# A fact the bundled movie graph does not hold, in the same vocabulary (the movie graph's IRIs).
EXTRA_TTL = """\
@prefix e: <http://kgreason.org/data/e/> .
@prefix p: <http://kgreason.org/data/p/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

e:Zorblax%20Returns rdfs:label "Zorblax Returns" ;
    p:directed_by e:Quintessa%20Vantablack .
e:Quintessa%20Vantablack rdfs:label "Quintessa Vantablack" .
"""


@pytest.fixture(scope="module")
def page(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1280, "height": 1100})
        page = context.new_page()
        page.set_default_timeout(180_000)
        page.goto(serve_url)
        page.wait_for_selector("#question textarea")
        yield page
        context.close()


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    box = page.locator("#question textarea")
    box.fill(question)
    page.locator("#ask").click()


def test_ask_shows_answer_with_proof_and_trace(page, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    ask(page, "who directed Kismet")
    answer = page.locator("#answer")
    answer.get_by_text("William Dieterle").first.wait_for()
    text = answer.inner_text()
    assert "proof:" in text and "Kismet" in text and "directed by" in text
    page.locator("#subgraph svg").wait_for()
    page.get_by_text("Trace (agent, what it did, ms)").click()
    page.locator("#trace").get_by_text("ms").first.wait_for()
    page.screenshot(path=str(artifacts / "chat_kismet.png"), full_page=True)


def test_uploaded_turtle_answers_a_new_question(page, artifacts: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ttl = tmp_path / "zorblax.ttl"
    ttl.write_text(EXTRA_TTL, encoding="utf-8")
    page.get_by_role("tab", name="Knowledge").click()
    page.locator("#graph-files input[type=file]").set_input_files(str(ttl))
    page.locator("#load-graph").click()
    page.locator("#load-status").get_by_text("Loaded").wait_for()
    page.screenshot(path=str(artifacts / "knowledge_loaded.png"), full_page=True)
    page.get_by_role("tab", name="Chat").click()
    ask(page, "who directed Zorblax Returns")
    page.locator("#answer").get_by_text("Quintessa Vantablack").first.wait_for()
    page.screenshot(path=str(artifacts / "chat_uploaded.png"), full_page=True)


def test_bad_turtle_shows_file_and_line(page, artifacts: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.ttl"
    bad.write_text("@prefix e: <http://x/> .\ne:a e:b e:c .\ne:a e:b \"unterminated .\n", encoding="utf-8")
    page.get_by_role("tab", name="Knowledge").click()
    before = page.locator("#graph-summary").inner_text()
    page.locator("#graph-files input[type=file]").set_input_files(str(bad))
    page.locator("#load-graph").click()
    status = page.locator("#load-status")
    status.get_by_text("graph unchanged").wait_for()
    assert "broken.ttl:3" in status.inner_text() and "/tmp/" not in status.inner_text()
    assert page.locator("#graph-summary").inner_text() == before
    page.screenshot(path=str(artifacts / "knowledge_error.png"), full_page=True)
