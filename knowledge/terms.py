"""The knowledge layer's domain types, defined once: a `Triple`, an IRI's readable tail (`iri_tail`), a graph
`Entity` (what label indexes and the linker return) and a retrieval `Hit` (an entity, fact or passage found by
the vector index).

Every layer above (reasoning, agents) imports these from here rather than defining its own. The question's
own types (a `Mention` of an entity in the question, the linked `Topic`) are in `reasoning.types`; a
document's NER span (`EntitySpan`, no graph terms) in `finetune.ner`."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote

from rdflib import URIRef
from rdflib.term import BNode, Literal, Node

Triple = tuple[Node, Node, Node]
"""(subject, predicate, object) as rdflib terms."""


def iri_tail(node: Node) -> str:
    """Readable last segment of an IRI (`.../e/Gr%C3%A9goire_Colin` -> `Grégoire_Colin`); a literal's text;
    `_:id` for a blank node."""
    if isinstance(node, BNode):
        return f"_:{node}"
    text = str(node)
    if isinstance(node, Literal):
        return text
    for sep in ("#", "/"):
        if sep in text.rstrip(sep):
            text = text.rstrip(sep).rsplit(sep, 1)[1]
            break
    return unquote(text)


@dataclass(frozen=True)
class Entity:
    """A graph resource and one of its labels; from the linker also how well it matched a mention (`score`,
    `method`: "exact" | "normalised" | "partial" | "fuzzy" | a fallback's name). A label index's entries keep
    the defaults."""

    iri: URIRef
    label: str
    score: float = 1.0
    method: str = "label"

    def to_dict(self) -> dict[str, Any]:
        return {"iri": str(self.iri), "label": self.label, "score": round(self.score, 4),
                "method": self.method}


@dataclass(frozen=True)
class Hit:
    """A search result of the retrieval index: cosine score, kind ("entity" | "fact" | "passage"), the label
    shown, the graph IRI (entity, fact subject or passage) as text, and the fact or passage it stands for."""

    score: float
    kind: str
    label: str
    iri: str | None
    text: str
    triple: tuple[str, str, str] | None = None
    source: str | None = None
    types: tuple[str, ...] = ()
    start: int | None = None
    end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["score"] = round(self.score, 4)
        return {k: v for k, v in d.items() if v not in (None, ())}
