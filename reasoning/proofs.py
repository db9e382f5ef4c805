"""Checking an answer's support against the graph: the project's promise that no answer comes without a chain
of facts that really holds."""
from __future__ import annotations

from collections.abc import Sequence

from rdflib.term import Node

from reasoning.graphview import GraphView, Triple


def proof_holds(view: GraphView, proof: Sequence[Triple], start: Node | None, end: Node) -> bool:
    """A proof holds when every triple is in the graph (or was derived by a rule or closure) according to
    the view and the triples form a chain from `start` (the topic; any node when None) to `end`."""
    if not proof:
        return False
    cur = end
    for s, p, o in reversed(proof):
        if not view.has(s, p, o):
            return False
        if o is cur or o == cur:
            cur = s
        elif s is cur or s == cur:
            cur = o
        else:
            return False
    return start is None or cur is start or cur == start


def conditions_hold(view: GraphView, conditions: Sequence[Triple], answer: Node) -> bool:
    """Every condition (a fact tying the answer to another entity the question names) is in the graph and
    touches the answer."""
    return all(view.has(*t) and answer in (t[0], t[2]) for t in conditions)
