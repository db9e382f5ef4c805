"""Which of the entities a mention may name the question means: the one whose own relations its words name.

A name can stand for several entities: "Dev Patel" the actor of the movie graph and the employee of a company
graph loaded beside it, or "Tom", the first name of a hundred people. Among the candidates the linker found
equally well, those with a relation the question's words name ("which *team* does Dev Patel belong to": the
employee's "member of" reaches a team) are preferred, and those with none are dropped, when some candidate has
one; when no candidate's relations are named, all are kept as they came."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rdflib.term import Node

from reasoning.graphview import GraphView
from reasoning.planner import ZeroShotPlanner


@dataclass
class SenseChooser:
    """Orders one mention's candidate entities by how well the question names their relations
    (`ZeroShotPlanner.fit`) among those whose link scores are within `tie` of the best."""

    planner: ZeroShotPlanner
    #: link scores this close to the best count as an equally good match of the name
    tie: float = 0.05

    def run(self, question: str, view: GraphView, mention: str,
            candidates: Sequence[tuple[Node, float]]) -> list[tuple[Node, float]]:
        """`candidates` (node, link score) of `mention`, best first: the equally well linked ones whose
        relations the question names, by how well (link order breaks ties), then the less well linked ones."""
        ranked = sorted(candidates, key=lambda c: -c[1])  # stable: the linker's order breaks ties
        if len(ranked) < 2:
            return ranked
        group = [c for c in ranked if c[1] >= ranked[0][1] - self.tie]
        if len(group) < 2:
            return ranked
        fits = [self.planner.fit(question, view, node, mention) for node, _ in group]
        if max(fits) <= 0:
            return ranked
        order = sorted(range(len(group)), key=lambda i: -fits[i])
        return [group[i] for i in order if fits[i] > 0] + ranked[len(group):]
