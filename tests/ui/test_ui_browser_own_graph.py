"""A second journey in a real browser: start on the bundled movie graph, upload a small company graph with its
own vocabulary (tests/data/acme.ttl), ask about it as a person would (first names, follow-ups, two hops) and
get right answers with proofs, while movie questions still work; the load indexes only what it adds."""
from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.test_ui_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.integration

ACME = Path(__file__).resolve().parents[1] / "data" / "acme.ttl"
SHOTS = Path("/work/shots")
INDEX_WAIT_S = 1800.0


def index_line(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator("#index-status").inner_text()


def wait_index(page, grown_from: str = "", timeout: float = INDEX_WAIT_S) -> str:  # type: ignore[no-untyped-def]
    """The chat's retrieval-index line once it reads ready (and, given `grown_from`, holds more entities than
    that line: a start-up reopen of the same index is not the load's update)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = index_line(page)
        ready = "ready" in line or "not available" in line
        if ready and (not grown_from or counts(line).get("entity", 0) > counts(grown_from).get("entity", 0)):
            return line
        time.sleep(1)
    pytest.fail(f"retrieval index not ready after {timeout:.0f} s: {index_line(page)}")


def counts(line: str) -> dict[str, int]:
    return {kind: int(n.replace(",", "")) for n, kind in re.findall(r"([\d,]+) (entity|fact|passage)", line)}


@pytest.fixture(scope="module")
def page(serve_url_indexed: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1280, "height": 1100})
        page = context.new_page()
        page.set_default_timeout(180_000)
        page.goto(serve_url_indexed)
        page.wait_for_selector("#question textarea")
        yield page
        context.close()


def ask(page, question: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Ask in the chat; the reply (last message of the conversation) and the answer panel once it is done."""
    panel = page.locator("#answer")
    before = panel.inner_text()
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    # done: the panel names this question, ends its header with the turn's ms, and shows no pending timer
    page.wait_for_function(
        "([before, q]) => { const t = document.querySelector('#answer').innerText;"
        " return t !== before && t.includes('“' + q + '”') && / ms\\b/.test(t)"
        " && !/^\\s*(processing|[\\d.]+s\\b)/.test(t); }", arg=[before, question])
    reply = page.locator("#chatbot .message-row").last.inner_text()
    return reply, panel.inner_text()


def new_conversation(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="New conversation").click()
    page.wait_for_function("() => document.querySelector('#answer').innerText.trim() === ''")


def shot(page, artifacts: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(artifacts / name), full_page=True)
    if SHOTS.is_dir():
        shutil.copy(artifacts / name, SHOTS / name)


def test_movie_graph_first(page, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    assert "ready" in wait_index(page)
    reply, panel = ask(page, "which films did the director of Kismet direct")
    assert "Jewel Robbery" in panel and "proof:" in panel and "directed by" in panel
    assert "retriever: " in panel and " facts, " in panel  # what the retriever found is shown
    page.locator("#subgraph svg").wait_for()
    assert "answers drawn" in page.locator("#subgraph").inner_html()  # 17 films: a note says what is drawn
    page.get_by_text("Trace (agent, what it did, ms)").click()
    shot(page, artifacts, "chat_two_hop_movies.png")


def test_upload_own_graph_shows_its_vocabulary_and_indexes_only_what_it_adds(page,  # type: ignore[no-untyped-def]
                                                                             artifacts: Path) -> None:
    before = wait_index(page)
    page.get_by_role("tab", name="Knowledge").click()
    page.locator("#graph-files input[type=file]").set_input_files(str(ACME))
    t0 = time.monotonic()
    page.locator("#load-graph").click()
    status = page.locator("#load-status")
    status.get_by_text("Loaded").wait_for()
    assert "entities: 10" in status.inner_text()  # people, teams, projects: what `kgreason stats` counts
    summary = page.locator("#graph-summary").inner_text()
    assert "ObjectProperty" not in summary and "Class," not in summary and "Class)" not in summary
    member = page.get_by_role("row").filter(has_text="memberOf").first.inner_text().split("\n")
    works = page.get_by_role("row").filter(has_text="worksOn").first.inner_text().split("\n")
    assert member[-2:] == ["person", "team"] and works[-2:] == ["person", "project"]  # rdfs:domain / range
    shot(page, artifacts, "knowledge_after_upload.png")
    after = wait_index(page, grown_from=before)
    seconds = time.monotonic() - t0
    assert "ready" in after, after
    embedded = re.search(r"([\d,]+) texts? embedded", after)
    assert embedded and int(embedded.group(1).replace(",", "")) < 1000, f"the load re-embedded: {after}"
    assert counts(after)["entity"] >= counts(before)["entity"] + 10
    print(f"load + incremental index: {seconds:.1f} s; {after}")


def test_example_questions_follow_the_uploaded_graph(page) -> None:  # type: ignore[no-untyped-def]
    """After the upload, the chat's examples include questions about the company graph; one, clicked, is answered
    with a proof."""
    page.get_by_role("tab", name="Chat").click()
    examples = page.locator("#examples")
    examples.get_by_text("Project").first.wait_for()
    own = [b for b in examples.get_by_role("button").all() if "Team" in b.inner_text() or "Project" in b.inner_text()]
    assert own, examples.inner_text()
    question = own[0].inner_text().strip()
    new_conversation(page)
    own[0].click()
    page.wait_for_function("(q) => document.querySelector('#question textarea').value === q", arg=question)
    reply, panel = ask(page, question)
    assert "(score" in panel and "proof:" in panel, reply


@pytest.mark.parametrize("question, expected", [
    ("which team is Ann in", {"Growth Team"}),  # a first name, a class word
    ("who works on Project Atlas", {"Ann Lee", "Dev Patel"}),
    ("who does Tom report to", {"Maria Gomez"}),  # a first name shared with movie people (Tom Dey, Tom Bell)
    ("which team does Dev Patel belong to", {"Growth Team"}),  # a name shared with the movie graph's actor
    ("who works on projects owned by Growth Team", {"Ann Lee", "Dev Patel", "Lin Zhou"}),  # two hops
])
def test_questions_about_the_uploaded_graph(page, question: str, expected: set[str],  # type: ignore[no-untyped-def]
                                            artifacts: Path) -> None:
    page.get_by_role("tab", name="Chat").click()
    new_conversation(page)
    reply, panel = ask(page, question)
    names = {n for n in ("Ann Lee", "Dev Patel", "Maria Gomez", "Tom Becker", "Lin Zhou", "Growth Team",
                         "Platform Team", "Project Atlas", "Project Beacon", "Project Comet")
             if f"{n} (score" in panel}
    assert names == expected, f"{question!r}: {reply}"
    assert panel.count("proof:") >= len(expected)
    for banned in ("starred actors", "imdb", "directed by"):  # the movie model's relations do not leak in
        assert banned not in panel
    if len(expected) == 3:
        page.locator("#subgraph svg").wait_for()
        shot(page, artifacts, "chat_two_hop_own_graph.png")


def test_follow_ups_on_the_uploaded_graph(page) -> None:  # type: ignore[no-untyped-def]
    new_conversation(page)
    ask(page, "what does Maria work on")
    reply, panel = ask(page, "which team owns it")  # "it": the project, not Maria
    assert "Platform Team (score" in panel and "Project Beacon" in panel
    ask(page, "who works on projects owned by Growth Team")
    reply, panel = ask(page, "who does he report to")  # "he": three people could be meant, not the team
    assert "Ann Lee, Dev Patel and Lin Zhou" in reply and "(score" not in panel


def test_movie_questions_still_work_after_the_upload(page) -> None:  # type: ignore[no-untyped-def]
    new_conversation(page)
    reply, panel = ask(page, "who directed Kismet")
    assert "William Dieterle (score" in panel and "proof:" in panel
    reply, panel = ask(page, "when was it released")
    assert "1944 (score" in panel


def conll(person: str, org: str, place: str) -> str:
    """A tiny CoNLL file: one sentence four times, its three names tagged as given."""
    return ("-DOCSTART- -X- -X- O\n\n" + f"Ann NNP B-NP B-{person}\nLee NNP I-NP I-{person}\n"
            f"works VBZ B-VP O\non IN B-PP O\nAtlas NNP B-NP B-{org}\nin IN B-PP O\n"
            f"London NNP B-NP B-{place}\n. . O O\n\n") * 4


def test_finetune_tab_after_a_run(page, artifacts: Path,  # type: ignore[no-untyped-def]
                                  tmp_path: Path) -> None:
    """Retrain the NER extractor on a tiny file in the page: progress, one metrics row per epoch, a warning
    for a weak model; the uploaded files are deleted once the job ends (a second start asks for them)."""
    train, dev = tmp_path / "train.conll", tmp_path / "dev.conll"
    train.write_text(conll("PER", "ORG", "LOC"), encoding="utf-8")
    dev.write_text(conll("PER", "LOC", "ORG"), encoding="utf-8")  # two of three names tagged otherwise: weak
    page.get_by_role("tab", name="Finetune").click()
    page.get_by_role("radio", name="ner", exact=True).check()
    page.locator("#train-file input[type=file]").set_input_files(str(train))
    page.locator("#dev-file input[type=file]").set_input_files(str(dev))
    page.locator("#start-training").click()
    page.locator("#train-message").get_by_text("Training the ner model").wait_for()
    ended = re.compile("is trained|failed|cancelled")
    page.locator("#train-status").get_by_text(ended).wait_for(timeout=600_000)
    assert "is trained" in page.locator("#train-status").inner_text()
    header = page.locator("#train-metrics thead").inner_text()
    assert "f1" in header and "metric" not in header  # one column per metric
    page.locator("#use-model").click()
    page.locator("#train-message").get_by_text("Warning:").wait_for()  # F1 under the floor: not switched yet
    assert "NER model: none" in page.locator("#active-models").inner_text()
    shot(page, artifacts, "finetune_after_run.png")
    page.locator("#start-training").click()
    page.locator("#train-message").get_by_text("Choose the files again").wait_for()
