"""A company graph (tests/data/acme.ttl) loaded beside a movie graph answered by the shipped movie question
model: names the two graphs share ("Dev Patel") or first names of many people ("Tom", "Ann", "Maria") mean the
entity whose relations the question names, and the movie model does not claim the company's questions."""
from __future__ import annotations

from pathlib import Path

import pytest

from agents.config import GraphSource, KGReasonConfig
from agents.coordinator import Coordinator
from agents.session import Session
from finetune.questions import SHIPPED_QUESTIONS

pytestmark = pytest.mark.skipif(not (SHIPPED_QUESTIONS / "model_card.json").is_file(),
                                reason="no shipped model")
ACME = Path(__file__).resolve().parents[1] / "data" / "acme.ttl"
#: movie people who share the company people's names or first names (and shorter, so a name index lists
#: them first)
MOVIES = """Heat Wave|starred_actors|Dev Patel
Heat Wave|starred_actors|Ann Hu
Heat Wave|directed_by|Tom Dey
Heat Wave|release_year|1999
Cold Snap|starred_actors|Tom Bell
Cold Snap|starred_actors|Maria Cina
Cold Snap|starred_actors|Tom Ewell
Heat Wave|written_by|Tom Baker
Heat Wave|written_by|Maria Blom
Cold Snap|directed_by|Ann Hui
Cold Snap|written_by|Maria Yi
Cold Snap|release_year|2004
The Report|directed_by|Abbas Kiarostami
"""


@pytest.fixture(scope="module")
def coord(tmp_path_factory: pytest.TempPathFactory):
    movies = tmp_path_factory.mktemp("movies") / "movies.txt"
    movies.write_text(MOVIES, encoding="utf-8")
    with Coordinator(KGReasonConfig(graph=GraphSource("files", (movies, ACME)))) as c:
        yield c


def labels(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {a.label for a in result.answers}


@pytest.mark.parametrize("question, expected", [
    ("which team is Ann in", {"Growth Team"}),  # a first name; "team" is a class's label and a range's role
    ("who does Tom report to", {"Maria Gomez"}),  # Tom Dey and Tom Bell have no "reports to"
    ("which team does Dev Patel belong to", {"Growth Team"}),  # the actor Dev Patel is in the model's scope
    ("what does Maria work on", {"Project Beacon"}),
    ("who works on Project Atlas", {"Ann Lee", "Dev Patel"}),
    ("who works on projects owned by Growth Team", {"Ann Lee", "Dev Patel", "Lin Zhou"}),
])
def test_company_questions_mean_the_company_entities(coord: Coordinator, question: str,
                                                     expected: set[str]) -> None:
    result = coord.run(question)
    assert labels(result) == expected, result.reply
    label = coord.graph.label
    for answer in result.answers:  # proofs through the company's relations only
        props = {label(p) for proof in answer.proofs for _, p, _ in proof}
        assert props and props <= {"member of", "reports to", "works on", "owned by"}, props


def test_movie_questions_still_mean_the_movie_entities(coord: Coordinator) -> None:
    assert labels(coord.run("which films did Dev Patel star in")) == {"Heat Wave"}
    assert labels(coord.run("who directed Heat Wave")) == {"Tom Dey"}
    assert labels(coord.run("when was Cold Snap released")) == {"2004"}


def test_a_follow_up_after_a_first_name_follows_the_company_entity(coord: Coordinator) -> None:
    session = Session()
    first = coord.run("what does Maria work on", session)
    second = coord.run("which team owns it", session)
    assert labels(first) == {"Project Beacon"} and labels(second) == {"Platform Team"}, second.reply


def test_he_after_three_people_asks_which_one_and_is_no_misspelt_film(coord: Coordinator) -> None:
    session = Session()
    first = coord.run("who works on projects owned by Growth Team", session)
    second = coord.run("who does he report to", session)  # not "The Report" misspelt as "he report"
    assert labels(first) == {"Ann Lee", "Dev Patel", "Lin Zhou"}
    assert not second.answers and "Ann Lee, Dev Patel and Lin Zhou" in second.reply, second.reply


def test_a_name_no_relation_of_which_is_named_stays_ambiguous(coord: Coordinator) -> None:
    # nothing in the question names a relation of either Dev Patel: no answer is guessed for one of them
    result = coord.run("what is the salary of Dev Patel")
    assert not result.found and "Dev Patel" in result.reply
