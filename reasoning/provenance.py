"""Why a derived triple holds: the rule that produced it and the premises it matched."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reasoning.graphview import Triple


@dataclass(frozen=True)
class Derivation:
    """`rule` (e.g. "co_star @ movies.rules:4") derived a triple from `premises` (graph or derived triples)."""

    rule: str
    premises: tuple[Triple, ...]


def explain(triples: Iterable[Triple], derivations: Mapping[Triple, Derivation],
            limit: int = 64) -> dict[Triple, Derivation]:
    """The derivations of every derived triple among `triples`, recursively through their premises."""
    found: dict[Triple, Derivation] = {}
    todo = [t for t in triples if t in derivations]
    while todo and len(found) < limit:
        t = todo.pop()
        if t in found:
            continue
        d = derivations[t]
        found[t] = d
        todo.extend(p for p in d.premises if p in derivations and p not in found)
    return found
