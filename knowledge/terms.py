"""The graph's basic terms, defined once: a `Triple` and an IRI's readable tail (`iri_tail`).

Every layer above (reasoning, agents) imports these from here rather than defining its own."""
from __future__ import annotations

from urllib.parse import unquote

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
