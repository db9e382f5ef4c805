"""Typed messages the agents exchange on the blackboard, and what a turn returns."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rdflib.term import Node

from knowledge.terms import Hit
from reasoning.graphview import Triple
from reasoning.planner import PlanCandidate
from reasoning.provenance import Derivation
from reasoning.ranking import RankingResult
from reasoning.types import Mention, Topic


@dataclass
class Extraction:
    """Extractor -> Linker: entity mentions and (when a question model ran) its ranked path labels."""

    mentions: list[Mention] = field(default_factory=list)
    path_labels: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Links:
    """Linker -> Planner: linked topic entities; mentions that matched nothing."""

    topics: list[Topic] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    #: a follow-up's pronoun no earlier entity was taken for, and the previous answers it could equally mean
    ambiguous: tuple[str, list[str]] | None = None


@dataclass
class Plans:
    """Planner -> Reasoner: (topic, path) pairs to try."""

    pairs: list[tuple[Topic, PlanCandidate]] = field(default_factory=list)


@dataclass
class Retrieval:
    """Retriever: what the vector index finds for the question (empty when no index is configured); shown in
    the trace, never taken as answers (a fact about the topic need not answer the question)."""

    facts: list[Hit] = field(default_factory=list)
    passages: list[str] = field(default_factory=list)
    searched: bool = False  # False: no index yet (off, or still being built)


@dataclass
class Answer:
    iri: Node
    label: str
    score: float
    proofs: list[tuple[Triple, ...]]
    #: facts tying the answer to other entities the question names (checked like the proofs)
    conditions: list[Triple] = field(default_factory=list)

    def to_dict(self, name: Callable[[Node], str] = str) -> dict[str, Any]:
        """JSON-ready; `name` writes each term of the proofs and conditions (default: its IRI)."""
        return {"iri": str(self.iri), "label": self.label, "score": float(self.score),
                "proofs": [_terms(proof, name) for proof in self.proofs],
                "conditions": _terms(self.conditions, name)}


def _terms(triples: Iterable[Triple], name: Callable[[Node], str]) -> list[list[str]]:
    return [[name(x) for x in t] for t in triples]


@dataclass
class StepRecord:
    agent: str
    input_summary: str
    output_summary: str
    ms: float
    status: str  # "ok" | "error" | "timeout" | "skipped" (the question's time budget was spent)

    def to_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "input_summary": self.input_summary, "output_summary": self.output_summary,
                "ms": self.ms, "status": self.status}


@dataclass
class Blackboard:
    """Everything one turn knows; each agent reads some fields and its output fills one."""

    question: str
    session: Any = None  # agents.session.Session
    parsed: Any = None  # a ParsedQuestion computed ahead (batched runs)
    view: Any = None  # the reasoning.graphview.GraphView the whole turn reads
    extraction: Extraction | None = None
    links: Links | None = None
    plans: Plans | None = None
    retrieval: Retrieval | None = None
    ranking: RankingResult | None = None
    answers: list[Answer] = field(default_factory=list)
    reply: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class TurnResult:
    question: str
    answers: list[Answer]
    reply: str
    found: bool
    trace: list[StepRecord]
    topic: str | None = None
    path: str | None = None
    derivations: dict[Triple, Derivation] = field(default_factory=dict)
    ms: float = 0.0

    def to_dict(self, name: Callable[[Node], str] = str) -> dict[str, Any]:
        """The one serialisation of a finished turn (CLI `--json`); `name` writes the terms of proofs,
        conditions and derivations (default: IRIs; the chat passes the graph's labels)."""
        return {"question": self.question, "found": self.found, "reply": self.reply, "topic": self.topic,
                "path": self.path, "answers": [a.to_dict(name) for a in self.answers],
                "derivations": [{"triple": [name(x) for x in t], "rule": d.rule, "premises": _terms(d.premises, name)}
                                for t, d in self.derivations.items()],
                "trace": [s.to_dict() for s in self.trace], "ms": round(self.ms, 3)}
