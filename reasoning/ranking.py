"""Rank answer candidates from (topic, path) plans; say what is missing when none hold."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rdflib.term import Node

from knowledge.labels import word_spans
from reasoning.graphview import GraphView, Triple
from reasoning.paths import PathReasoner, PathStep, Proof
from reasoning.planner import PlanCandidate
from reasoning.provenance import Derivation
from reasoning.types import Topic

#: `RankingResult.missing` when no plan was tried at all
NO_PATH = "I found no relation path around the entities in the question"


@dataclass
class RankedAnswer:
    node: Node
    label: str
    score: float
    proofs: list[Proof]
    via: str  # the path label
    #: facts tying the answer to another entity the question names ("... starring Meg Ryan")
    conditions: list[Triple] = field(default_factory=list)


@dataclass
class RankingResult:
    answers: list[RankedAnswer] = field(default_factory=list)
    reached: int = 0  # answers the path reached, before the `max_answers` cut
    topic: Topic | None = None
    plan: PlanCandidate | None = None
    missing: str | None = None
    explanations: dict[Triple, Derivation] = field(default_factory=dict)
    constraints: list[Topic] = field(default_factory=list)  # other named entities the answers were narrowed to


class AnswerRanker:
    """Tries (topic, plan) pairs best-first (score = span x link x path confidence) and keeps the first that
    reaches answers, narrowed to those tied to any other entity the question names (preferring the first plan
    such an entity narrows). Ordering is deterministic. Every answer comes from a path with its proof: a fact
    the retrieval index finds is not an answer (one about the topic need not answer the question asked)."""

    def __init__(self, path_reasoner: PathReasoner | None = None, max_tries: int = 8,
                 max_answers: int = 200) -> None:
        self.path_reasoner = path_reasoner or PathReasoner()
        self.max_tries = max_tries
        self.max_answers = max_answers

    def run(self, view: GraphView, plans: Sequence[tuple[Topic, PlanCandidate]]) -> RankingResult:
        pairs = sorted(plans, key=lambda tp: (-tp[0].span_score * tp[0].link_score * tp[1].score,
                                              len(tp[1].steps), tp[1].label, str(tp[0].node)))
        first_failure: str | None = None
        first: RankingResult | None = None  # the best plan with answers, kept while looking for a narrowed one
        for topic, plan in pairs[: self.max_tries]:
            found = self.path_reasoner.run_view(view, topic.node, plan.steps)
            if found.answers:
                score = topic.span_score * topic.link_score * plan.score
                answers = [RankedAnswer(n, view.label(n), round(score, 6), proofs, plan.label)
                           for n, proofs in found.answers.items()]
                answers.sort(key=lambda a: (-a.score, a.label, str(a.node)))
                others = named_others(topic, [t for t, _ in pairs])
                answers, narrowed_by = self._constrain(view, answers, others)
                here = RankingResult(answers[: self.max_answers], len(answers), topic, plan,
                                     explanations=found.explanations, constraints=narrowed_by)
                # a question naming another entity ("... directed by X and released in 2006") is answered by the
                # best plan whose answers that entity narrows, else by the best plan
                if narrowed_by or not others:
                    return here
                first = first or here
            elif first_failure is None:
                first_failure = self._why(view, topic, plan.steps, found.stopped_at or 0)
        if first is not None:
            return first
        return RankingResult(missing=first_failure or NO_PATH)

    @staticmethod
    def _constrain(view: GraphView, answers: list[RankedAnswer],
                   others: Sequence[Topic]) -> tuple[list[RankedAnswer], list[Topic]]:
        """Narrow the answers to those with a fact tying them to each other named entity, where that keeps
        some but not all of them; the tying facts become the answers' conditions."""
        narrowed_by: list[Topic] = []
        for other in others:
            ties = {a.node: _tie(view, a.node, other.node) for a in answers}
            kept = [a for a in answers if ties[a.node]]
            if 0 < len(kept) < len(answers):
                answers = [RankedAnswer(a.node, a.label, a.score, a.proofs, a.via, [*a.conditions, ties[a.node]])
                           for a in kept]  # type: ignore[list-item]
                narrowed_by.append(other)
        return answers, narrowed_by

    @staticmethod
    def _why(view: GraphView, topic: Topic, steps: Sequence[PathStep], hop: int) -> str:
        st = steps[hop]
        prop = view.property_label(st.prop)
        if hop == 0:
            if st.inverse:
                return f"nothing in the graph has '{prop}' {topic.label}"
            return f"{topic.label} has no '{prop}' facts"
        before = " then ".join(view.property_label(s.prop) for s in steps[:hop])
        return f"following {before} from {topic.label}, none of the entities reached has '{prop}' facts"


_NAME_LIKE = re.compile(r"[A-Z0-9]")
#: a mention found with at least this confidence names an entity even in lower case: a label of two or more
#: words (`reasoning.planner.EntityDetector`); one lower-case word that is a label is often a common word
#: ("together", "stars" are film titles too)
NAME_SCORE = 0.85


def names_entity(t: Topic) -> bool:
    """Whether a linked mention names an entity as a name: written like one (a capital or a digit: "Meg Ryan",
    "Mexico", "1994") or a lower-case name of several words found with a name's confidence ("meg ryan", "tigres
    uanl"); not a common or relation word that is also a label, nor a pronoun standing for an earlier answer."""
    return bool(_NAME_LIKE.search(t.mention)) or (t.span_score >= NAME_SCORE and len(word_spans(t.mention)) > 1)


def named_others(topic: Topic, topics: Sequence[Topic]) -> list[Topic]:
    """Other linked entities the question names as a name, not within the topic's own mention, one per node."""
    seen = {topic.node}
    out = []
    for t in topics:
        if t.node not in seen and names_entity(t) and not _overlaps(t.mention, topic.mention):
            seen.add(t.node)
            out.append(t)
    return out


def _overlaps(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    return a in b or b in a


def _tie(view: GraphView, a: Node, b: Node) -> Triple | None:
    """A fact (either direction, any fact property) between two nodes of the view."""
    a, b = view.node(a), view.node(b)
    for p in view.fact_properties():
        if view.has(a, p, b):
            return (a, p, b)
        if view.has(b, p, a):
            return (b, p, a)
    return None
