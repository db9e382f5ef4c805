"""The chat's example questions follow the graph: after a user's own graph is loaded, questions built from its
relations and entity names come first, and every example offered is one the chat answers with a proof."""
from __future__ import annotations

from pathlib import Path

import pytest

from agents.chat_service import ChatService, ServeOptions
from agents.examples import candidate_question
from tests.knowledge.conftest import MOVIES

DATA = Path(__file__).resolve().parents[1] / "data"
ACME_NAMES = ("Ann Lee", "Dev Patel", "Maria Gomez", "Tom Becker", "Lin Zhou", "Growth Team", "Platform Team",
              "Project Atlas", "Project Beacon", "Project Comet")


@pytest.fixture()
def service(tmp_path: Path) -> ChatService:
    movies = tmp_path / "movies.txt"
    movies.write_text(MOVIES, encoding="utf-8")
    return ChatService(ServeOptions(kg=[str(movies)], cache=str(tmp_path / "cache"), index=False))


def _answered_with_proof(service: ChatService, question: str) -> set[str]:
    turn, _ = service.answer(question)
    assert turn.found and turn.answers, question
    assert all(a.proofs for a in turn.answers), question
    return {a.label for a in turn.answers}


def test_examples_after_loading_an_own_graph_are_about_it_and_answered(service: ChatService) -> None:
    before = service.examples()
    films = {line.split("|")[0] for line in MOVIES.splitlines()}
    assert before and all(any(film in q for film in films) for q in before), before
    service.load([str(DATA / "acme.ttl")])
    after = service.examples()
    own = [q for q in after if any(name in q for name in ACME_NAMES)]
    assert len(own) >= 3 and after[: len(own)] == own, after  # the loaded graph's questions come first
    assert len({q.split(" ", 2)[1] for q in own}) >= 2  # worded from several relations, not one template
    for question in after:
        _answered_with_proof(service, question)
    assert _answered_with_proof(service, next(q for q in own if "works on" in q)) <= set(ACME_NAMES)
    # another graph in another style (snake_case names, an s|p|o file): made the same way
    service.load([str(DATA / "lab_graph.txt")])
    lab = [q for q in service.examples() if "_" in q]
    assert len(lab) >= 2, service.examples()
    for question in service.examples():
        _answered_with_proof(service, question)


def test_a_failed_load_keeps_the_examples(service: ChatService, tmp_path: Path) -> None:
    from knowledge.errors import InputError

    before = service.examples()
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://ex.org/> .\nex:a ex:b \"open .\n", encoding="utf-8")
    with pytest.raises(InputError):
        service.load([str(bad)])
    assert service.examples() == before


@pytest.mark.parametrize("label, subject, obj, who, several, expected", [
    ("works on", "Ann Lee", "Project Atlas", True, False, "who works on Project Atlas"),
    ("based in", "acme_foundation", "london", False, False, "what is acme_foundation based in"),
    ("member of", "Ann Lee", "Growth Team", True, False, "who is a member of Growth Team"),
    ("skill", "alan_turing", "logic", False, True, "what are the skills of alan_turing"),
])
def test_questions_are_worded_from_the_relation_label(label: str, subject: str, obj: str, who: bool, several: bool,
                                                      expected: str) -> None:
    assert candidate_question(label, subject, obj, "", "", who, several) == expected
