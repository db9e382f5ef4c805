"""Conversation state: follow-up questions ("who directed it?") resolve to the previous turn's entities, of
the kind the pronoun asks for ("he" a person, "it" a thing)."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rdflib import RDF
from rdflib.term import Node

from knowledge.labels import normalise
from reasoning.graphview import GraphView, iri_tail
from reasoning.types import Topic

ANAPHOR = re.compile(r"\b(it|its|that (?:film|movie|one|person|place|company|city)|this (?:film|movie|one)|"
                      r"he|she|him|her|his|they|them|their|there)\b", re.IGNORECASE)
_PERSON_WORDS = frozenset({"he", "she", "him", "her", "his", "that person"})
_PLURAL_WORDS = frozenset({"they", "them", "their"})
#: class names (label or IRI tail, normalised) whose members are people (foaf:Person, schema:Person, ...)
_PERSON_CLASSES = frozenset({"person", "people", "human", "persons", "humans"})

#: is this node a person? True, False, or None when the graph does not say
PersonTest = Callable[[Node], "bool | None"]


def person_like(view: GraphView, node: Node) -> bool | None:
    """Whether the graph types `node` as a person (a class named person/human); None when it has no type."""
    types = view.out.get(RDF.type, {}).get(view.node(node)) or []
    if not types:
        return None
    return any(normalise(view.label(t)) in _PERSON_CLASSES or normalise(iri_tail(t)) in _PERSON_CLASSES
               for t in types)


@dataclass
class Turn:
    question: str
    topic: Topic | None
    answers: list[Topic]


@dataclass
class Referents:
    """What a follow-up's pronoun may mean: topics to try, or (when several fit equally) their names."""

    topics: list[Topic] = field(default_factory=list)
    pronoun: str = ""
    ambiguous: list[str] = field(default_factory=list)


@dataclass
class Session:
    """Remembers the topic and answers of recent turns."""

    history: list[Turn] = field(default_factory=list)
    max_turns: int = 20

    def remember(self, question: str, topic: Topic | None, answers: list[Topic]) -> None:
        self.history.append(Turn(question, topic, answers))
        del self.history[: -self.max_turns]

    @staticmethod
    def is_anaphor(text: str) -> bool:
        """Whether `text` is only a pronoun or "that film"-like phrase (it names no entity itself)."""
        return bool(ANAPHOR.fullmatch(text.strip(" ?.!,").lower()))

    @staticmethod
    def is_follow_up(question: str) -> bool:
        return bool(ANAPHOR.search(question)) or question.strip().lower().startswith(("and ", "what about "))

    def referents(self, question: str = "", is_person: PersonTest | None = None) -> Referents:
        """Entities a follow-up may mean, from the last turn that had a topic or answers.

        "he"/"she" mean a person, "it"/"that film" a thing (`is_person` tells; answers to a "who" question
        count as people when the graph does not type them); the last topic comes first, then a single last
        answer (lower score), or, when the topic does not fit, every answer that does: one is taken, several
        are returned as `ambiguous` (the reply asks which one). "they" and "and ..." keep the topic first."""
        turns = [t for t in self.history if t.topic is not None or t.answers]
        match = ANAPHOR.search(question)
        pronoun = match.group(0).lower() if match else ""
        if not turns:
            return Referents(pronoun=pronoun)
        turn = turns[-1]
        topic, answers = turn.topic, turn.answers
        if topic is not None and any(a.node == topic.node for a in answers):
            answers = [a for a in answers if a.node != topic.node]
        want = None if not pronoun or pronoun in _PLURAL_WORDS else pronoun in _PERSON_WORDS
        asked_who = turn.question.strip().lower().startswith("who")

        def fits(t: Topic, answer: bool) -> bool:
            if want is None or is_person is None:
                return True
            person = is_person(t.node)
            if person is None and answer and asked_who:
                person = True
            return person is None or person == want

        out: list[Topic] = []
        if topic is not None and fits(topic, False):
            out.append(Topic(topic.node, topic.label, "(previous topic)", 1.0, 0.9))
            if len(answers) == 1 and fits(answers[0], True):
                out.append(Topic(answers[0].node, answers[0].label, "(previous answer)", 1.0, 0.85))
            return Referents(out, pronoun)
        fitting = [a for a in answers if fits(a, True)]
        if len(fitting) == 1:
            a = fitting[0]
            return Referents([Topic(a.node, a.label, "(previous answer)", 1.0, 0.85)], pronoun)
        return Referents([], pronoun, [a.label for a in fitting] if want is not None else [])
