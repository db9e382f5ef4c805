"""Execute a relation path from a topic entity; every answer comes with proofs (chains of triples)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rdflib import URIRef
from rdflib.term import Node

from reasoning.graphview import GraphView, Triple, ViewCache
from reasoning.provenance import Derivation, explain

Proof = tuple[Triple, ...]


@dataclass(frozen=True)
class PathStep:
    """One hop: follow `prop` from subject to object, or from object to subject when `inverse`."""

    prop: URIRef
    inverse: bool = False

    def leaves(self, view: GraphView, node: Node) -> bool:
        """Whether this hop reaches anything from `node` in the view."""
        return bool((view.inc if self.inverse else view.out).get(self.prop, {}).get(view.node(node)))

    def __str__(self) -> str:
        tail = str(self.prop).rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        return f"^{tail}" if self.inverse else tail


@dataclass
class PathResult:
    """Answers reached along the path, each with up to `max_proofs` proofs from the topic entity.

    `stopped_at` is the index of the first hop that reached nothing (None when answers were found);
    `explanations` expands every derived triple used in a proof into its rule and premises."""

    answers: dict[Node, list[Proof]] = field(default_factory=dict)
    stopped_at: int | None = None
    explanations: dict[Triple, Derivation] = field(default_factory=dict)


class PathReasoner:
    """Follows a list of PathSteps breadth-first over a cached adjacency view (MetaQA semantics:
    the topic entity is removed from the reached set at every hop)."""

    def __init__(self, views: ViewCache | None = None, derivations: Mapping[Triple, Derivation] | None = None,
                 max_proofs: int = 3, max_frontier: int = 200_000) -> None:
        self._views = views or ViewCache()
        self._derivations = derivations or {}
        self.max_proofs = max_proofs
        self.max_frontier = max_frontier

    def run(self, graph: object, topic: URIRef, steps: Sequence[PathStep]) -> PathResult:
        return self.run_view(self._views.get(graph), topic, steps)

    def run_view(self, view: GraphView, topic: Node, steps: Sequence[PathStep]) -> PathResult:
        """Same as `run` over an already built view."""
        if not steps:
            return PathResult(stopped_at=0)
        # parents[h][node] = list of (previous node, triple) that reached node at hop h
        topic = view.node(topic)  # interned: neighbours are compared by identity below
        parents: list[dict[Node, list[tuple[Node, Triple]]]] = []
        frontier: list[Node] = [topic]
        for h, step in enumerate(steps):
            table = view.inc if step.inverse else view.out
            adj = table.get(step.prop, {})
            reached: dict[Node, list[tuple[Node, Triple]]] = {}
            for node in frontier:
                for nxt in adj.get(node, ()):
                    if nxt is topic:
                        continue
                    triple: Triple = (nxt, step.prop, node) if step.inverse else (node, step.prop, nxt)
                    slot = reached.get(nxt)
                    if slot is None:
                        reached[nxt] = [(node, triple)]
                    elif len(slot) < self.max_proofs:
                        slot.append((node, triple))
                if len(reached) > self.max_frontier:
                    break
            if not reached:
                return PathResult(stopped_at=h)
            parents.append(reached)
            frontier = list(reached)
        answers = {node: self._proofs(parents, node) for node in parents[-1]}
        used = {t for proofs in answers.values() for proof in proofs for t in proof}
        return PathResult(answers=answers, explanations=explain(used, self._derivations))

    def _proofs(self, parents: list[dict[Node, list[tuple[Node, Triple]]]], node: Node) -> list[Proof]:
        """Up to max_proofs chains ending at `node`, rebuilt backwards through the parent tables."""
        chains: list[tuple[Node, Proof]] = [(node, ())]
        for hop in range(len(parents) - 1, -1, -1):
            nxt: list[tuple[Node, Proof]] = []
            for cur, tail in chains:
                for prev, triple in parents[hop].get(cur, ()):
                    nxt.append((prev, (triple,) + tail))
                    if len(nxt) >= self.max_proofs:
                        break
                if len(nxt) >= self.max_proofs:
                    break
            chains = nxt
        return [proof for _, proof in chains]
