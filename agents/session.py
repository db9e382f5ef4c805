"""Conversation state: follow-up questions ("who directed it?") resolve to the previous turn's entities."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from reasoning.ranking import Topic

_ANAPHOR = re.compile(r"\b(it|its|that (?:film|movie|one|person|place|company|city)|this (?:film|movie|one)|"
                      r"he|she|him|her|his|they|them|their|there)\b", re.IGNORECASE)


@dataclass
class Session:
    """Remembers the topic and answers of recent turns."""

    history: list[tuple[str, Topic | None, list[Topic]]] = field(default_factory=list)
    max_turns: int = 20

    def remember(self, question: str, topic: Topic | None, answers: list[Topic]) -> None:
        self.history.append((question, topic, answers))
        del self.history[: -self.max_turns]

    @staticmethod
    def is_anaphor(text: str) -> bool:
        """Whether `text` is only a pronoun or "that film"-like phrase (it names no entity itself)."""
        return bool(_ANAPHOR.fullmatch(text.strip(" ?.!,").lower()))

    @staticmethod
    def is_follow_up(question: str) -> bool:
        return bool(_ANAPHOR.search(question)) or question.strip().lower().startswith(("and ", "what about "))

    def referents(self) -> list[Topic]:
        """Entities a follow-up may mean: the last topic first, then a single last answer (lower score).
        A turn that linked no topic (e.g. "and its language?" that found nothing) is skipped."""
        turns = [(t, a) for _, t, a in self.history if t is not None or a]
        if not turns:
            return []
        topic, answers = turns[-1]
        out: list[Topic] = []
        if topic is not None:
            out.append(Topic(topic.node, topic.label, "(previous topic)", 1.0, 0.9))
        if len(answers) == 1 and (topic is None or answers[0].node != topic.node):
            a = answers[0]
            out.append(Topic(a.node, a.label, "(previous answer)", 1.0, 0.85))
        return out
