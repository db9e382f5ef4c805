"""Follow-ups and honest "no answer" replies on a user's own graph (tests/data/acme.ttl, zero-shot)."""
from __future__ import annotations

from pathlib import Path

import pytest

from agents.config import GraphSource, KGReasonConfig
from agents.coordinator import Coordinator
from agents.session import Session

ACME = Path(__file__).resolve().parents[1] / "data" / "acme.ttl"


@pytest.fixture(scope="module")
def coord():
    with Coordinator(KGReasonConfig(graph=GraphSource("files", (ACME,)), question_model=None)) as c:
        yield c


def converse(coord: Coordinator, *questions: str):
    session = Session()
    return [coord.run(q, session) for q in questions]


def test_he_means_the_person_not_the_team(coord: Coordinator) -> None:
    # the topic is a person, the previous answer a team: "he" is the person
    first, second = converse(coord, "who does Tom Becker report to", "what does he work on")
    assert {a.label for a in first.answers} == {"Maria Gomez"}
    # "he" is Tom Becker (the topic) or Maria Gomez (the single answer, a person): both are people
    assert second.found and {a.label for a in second.answers} <= {"Project Beacon"}


def test_he_after_a_team_topic_with_several_people_asks_which(coord: Coordinator) -> None:
    first, second = converse(coord, "who works on projects owned by Growth Team", "who does he report to")
    assert {a.label for a in first.answers} == {"Ann Lee", "Dev Patel", "Lin Zhou"}
    assert not second.found and not second.answers
    assert "'he'" in second.reply and "Ann Lee, Dev Patel and Lin Zhou" in second.reply
    assert "Growth Team" not in second.reply


def test_it_means_the_thing_not_the_person(coord: Coordinator) -> None:
    first, second = converse(coord, "what does Maria Gomez work on", "which team owns it")
    assert [a.label for a in first.answers] == ["Project Beacon"]
    assert [a.label for a in second.answers] == ["Platform Team"]
    label = coord.graph.label
    assert [tuple(map(label, t)) for t in second.answers[0].proofs[0]] == [("Project Beacon", "owned by",
                                                                              "Platform Team")]


def test_a_pronoun_nothing_fits_is_said_so(coord: Coordinator) -> None:
    result = converse(coord, "who does he report to")[0]
    assert not result.found and "'he'" in result.reply


def test_no_answer_names_the_linked_entity_and_the_missing_relation(coord: Coordinator) -> None:
    result = coord.run("what is the salary of Dev Patel")
    assert not result.found
    assert "Dev Patel (person)" in result.reply
    assert "no relation named like 'salary'" in result.reply and "reports to" in result.reply
