"""Which topics a question model may plan for: a model trained on one graph does not claim the entities of
another loaded beside it (a movie model's "starred actors" path for a company graph's project)."""
from __future__ import annotations

from collections.abc import Iterable

from rdflib import URIRef
from rdflib.term import Node

from reasoning.graphview import GraphView
from reasoning.planner import steps_for_label


def model_properties(view: GraphView, labels: Iterable[str]) -> frozenset[URIRef]:
    """The properties a path-label model's labels map to in this view (memoised on the view)."""
    labels = tuple(labels)
    key = ("model_properties", labels)
    found = view.memo.get(key)
    if found is None:
        props: set[URIRef] = set()
        for label in labels:
            props.update(st.prop for st in steps_for_label(label, view) or ())
        found = view.memo[key] = frozenset(props)
    return found  # type: ignore[return-value]


def in_scope(view: GraphView, node: Node, props: frozenset[URIRef]) -> bool:
    """Whether `node` has a fact through one of `props` (the relations a model knows), either way."""
    node = view.node(node)
    return any(node in view.out.get(p, {}) or node in view.inc.get(p, {}) for p in props)
