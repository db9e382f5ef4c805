"""The question's domain types, defined once: an entity `Mention` (a span of the question that names graph
nodes) and the linked `Topic` a plan starts from.

The graph's own types (`Triple`, `Entity`, the retrieval `Hit`) are in `knowledge.terms`; a document's NER
span (`EntitySpan`: an entity class, no graph terms) in `finetune.ner`; answers and turns in
`agents.messages`."""
from __future__ import annotations

from dataclasses import dataclass

from rdflib.term import Node


@dataclass(frozen=True)
class Mention:
    """A span of the question that names an entity of the graph (`nodes`: those it may name, when known)."""

    text: str
    start: int
    end: int
    score: float
    source: str  # "model" | "dictionary" | "partial" | "fuzzy" | "guess"
    nodes: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Topic:
    """A graph entity linked for the question, with the mention and the confidences that led to it."""

    node: Node
    label: str
    mention: str
    span_score: float = 1.0
    link_score: float = 1.0
