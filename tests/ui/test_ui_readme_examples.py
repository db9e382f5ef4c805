"""Every `kgreason ask` / `entities` / `index search` example of the README gives the answer the README implies.

The expected answers of the movie examples are read from the bundled graph with SPARQL (values bound), so the
test checks the pipeline against the graph, not against a remembered list."""
from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from rdflib import URIRef
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
P = "http://kgreason.org/data/p/"
COMMAND = re.compile(r'^kgreason (ask|entities|index search) ("[^"]+")(.*)$')


def readme_commands() -> list[tuple[str, str, list[str]]]:
    """(verb, text, options) of each example command line in the README's bash blocks; [optional] parts and
    comments dropped, --json added."""
    out, in_bash = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_bash = line.strip() == "```bash"
            continue
        m = COMMAND.match(line.strip()) if in_bash else None
        if m is None:
            continue
        rest = re.sub(r"\[[^\]]*\]", " ", m.group(3).split(" #")[0])
        options = [o for o in shlex.split(rest) if o != "--json"] + ["--json"]
        out.append((m.group(1), shlex.split(m.group(2))[0], options))
    return out


def _movie_answers(sparql: str, **names: str) -> Callable[[object], set[str]]:
    def expected(kg) -> set[str]:  # type: ignore[no-untyped-def]
        bindings = {k: kg.labels().exact(v)[0] for k, v in names.items()}
        return {str(kg.label(row[0])) for row in kg.query(sparql, bindings).rows}
    return expected


# what each README example means, as a query of the bundled graph (or, for your own graph, its answer)
ASK: dict[str, Callable[[object], set[str]]] = {
    "who directed Kismet": _movie_answers(f"SELECT ?x WHERE {{ ?m <{P}directed_by> ?x }}", m="Kismet"),
    "the films written by Anthony Mann were released in which years": _movie_answers(
        f"SELECT DISTINCT ?y WHERE {{ ?m <{P}written_by> ?w . ?m <{P}release_year> ?y }}", w="Anthony Mann"),
    "which movies did Tom Hanks and Meg Ryan star in": _movie_answers(
        f"SELECT ?m WHERE {{ ?m <{P}starred_actors> ?a . ?m <{P}starred_actors> ?b }}", a="Tom Hanks",
        b="Meg Ryan"),
    "films directed by Clint Eastwood and released in 2006": _movie_answers(
        f"SELECT ?m WHERE {{ ?m <{P}directed_by> ?d . ?m <{P}release_year> ?y }}", d="Clint Eastwood", y="2006"),
    "where does Ann work": lambda kg: {"Acme Corp"},  # examples/people.ttl: Ann Lee works for Acme Corp
}
#: the README's prose examples of conjunctive questions, run like the commands
PROSE = ["which movies did Tom Hanks and Meg Ryan star in", "films directed by Clint Eastwood and released in 2006"]
ENTITIES = {"Gregoire Colin": "Grégoire Colin"}  # the accent-less name finds the accented one
SEARCH = {"Temura Morison": "Temuera Morrison"}


def test_every_readme_example_has_its_expected_answer_here() -> None:
    commands = readme_commands()
    assert {t for v, t, _ in commands if v == "ask"} >= {"who directed Kismet", "where does Ann work"}
    for verb, text, _ in commands:
        known = {"ask": ASK, "entities": ENTITIES, "index search": SEARCH}[verb]
        assert text in known, f"README example `kgreason {verb} \"{text}\"` has no expected answer in this test"
    readme = " ".join(README.read_text(encoding="utf-8").split())  # prose wraps lines
    assert all(f'"{q}"' in readme for q in PROSE)


@pytest.fixture(scope="module")
def movies():  # type: ignore[no-untyped-def]
    from knowledge.demo import demo_graph_path
    from knowledge.graph import KnowledgeGraph

    kg = KnowledgeGraph.open()
    kg.load([demo_graph_path()])
    return kg


def _run(args: list[str]) -> dict:
    from ui.cli import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{"):])


@pytest.mark.slow
@pytest.mark.parametrize("question", sorted(set(ASK)))
def test_readme_questions_get_the_implied_answers_with_proofs(question: str, movies) -> None:  # type: ignore[no-untyped-def]
    options = next((o for v, t, o in readme_commands() if v == "ask" and t == question), ["--json"])
    options = [str(ROOT / o) if o.endswith(".ttl") else o for o in options]
    expected = ASK[question](movies)
    assert expected, f"the graph holds no answer to {question!r}: the example is wrong"
    data = _run(["ask", question, *options])
    assert data["found"] and {a["label"] for a in data["answers"]} == expected, data["reply"]
    assert all(a["proofs"] for a in data["answers"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ENTITIES))
def test_readme_entity_lookup_finds_the_entity_first(name: str) -> None:
    data = _run(["entities", name, "--json"])
    assert data["candidates"][0]["label"] == ENTITIES[name]


@pytest.mark.slow
@pytest.mark.parametrize("text", sorted(SEARCH))
def test_readme_index_search_finds_the_misspelt_name_first(text: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGREASON_CACHE", str(tmp_path))  # built here from nothing: the README's first run
    data = _run(["index", "search", text, "--kind", "entity", "--json"])
    hits = data["hits"] if isinstance(data, dict) else data
    assert hits[0]["label"] == SEARCH[text]
