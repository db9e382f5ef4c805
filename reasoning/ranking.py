"""Rank answer candidates from (topic, path) plans and retrieved facts; say what is missing when none hold."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rdflib.term import Node

from reasoning.graphview import GraphView, Triple
from reasoning.paths import PathReasoner, PathStep, Proof
from reasoning.planner import PlanCandidate
from reasoning.provenance import Derivation


@dataclass(frozen=True)
class Topic:
    """A linked topic entity with the confidences that led to it."""

    node: Node
    label: str
    mention: str
    span_score: float = 1.0
    link_score: float = 1.0


@dataclass(frozen=True)
class FactHit:
    """A retrieved fact (from the vector index) with its similarity."""

    triple: Triple
    score: float


@dataclass
class RankedAnswer:
    node: Node
    label: str
    score: float
    proofs: list[Proof]
    via: str  # the path or "retrieved fact"


@dataclass
class RankingResult:
    answers: list[RankedAnswer] = field(default_factory=list)
    reached: int = 0  # answers the path reached, before the `max_answers` cut
    topic: Topic | None = None
    plan: PlanCandidate | None = None
    missing: str | None = None
    tried: list[str] = field(default_factory=list)
    explanations: dict[Triple, Derivation] = field(default_factory=dict)


class AnswerRanker:
    """Tries (topic, plan) pairs best-first (score = span x link x path confidence) and keeps the first that
    reaches answers; retrieved facts touching a topic are the fallback. Ordering is deterministic."""

    def __init__(self, reasoner: PathReasoner | None = None, max_tries: int = 8, max_answers: int = 200,
                 fact_weight: float = 0.5) -> None:
        self.reasoner = reasoner or PathReasoner()
        self.max_tries = max_tries
        self.max_answers = max_answers
        self.fact_weight = fact_weight

    def run(self, view: GraphView, plans: Sequence[tuple[Topic, PlanCandidate]],
            facts: Sequence[FactHit] = ()) -> RankingResult:
        pairs = sorted(plans, key=lambda tp: (-tp[0].span_score * tp[0].link_score * tp[1].score,
                                              len(tp[1].steps), tp[1].label, str(tp[0].node)))
        result = RankingResult()
        first_failure: str | None = None
        for topic, plan in pairs[: self.max_tries]:
            result.tried.append(f"{topic.label}: {plan.label}")
            found = self.reasoner.run_view(view, topic.node, plan.steps)
            if found.answers:
                score = topic.span_score * topic.link_score * plan.score
                answers = [RankedAnswer(n, view.label(n), round(score, 6), proofs, plan.label)
                           for n, proofs in found.answers.items()]
                answers.sort(key=lambda a: (-a.score, a.label, str(a.node)))
                result.answers, result.reached = answers[: self.max_answers], len(answers)
                result.topic, result.plan, result.explanations = topic, plan, found.explanations
                return result
            if first_failure is None:
                first_failure = self._why(view, topic, plan.steps, found.stopped_at or 0)
        topics = {t.node: t for t, _ in pairs}
        fact_answers: dict[Node, RankedAnswer] = {}
        for hit in facts:
            s, p, o = hit.triple
            if not view.has(s, p, o):
                continue
            for here, there in ((s, o), (o, s)):
                if here in topics and there not in topics:
                    t = topics[here]
                    score = round(self.fact_weight * hit.score * t.link_score, 6)
                    prev = fact_answers.get(there)
                    if prev is None or prev.score < score:
                        fact_answers[there] = RankedAnswer(there, view.label(there), score, [(hit.triple,)],
                                                           "retrieved fact")
                        result.topic = t
        if fact_answers:
            result.answers = sorted(fact_answers.values(), key=lambda a: (-a.score, a.label, str(a.node)))
            result.reached = len(result.answers)
            return result
        result.missing = first_failure or "I found no relation path around the entities in the question"
        return result

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
