"""Entity linking: a mention -> ranked graph entities, by exact label, normalised label, then fuzzy match.

An optional `fallback` (mention, k) -> candidates hook, or a retrieval index, covers mentions that no label
matches (e.g. embedding search)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process
from rdflib import URIRef

from knowledge.labels import LabelIndex, closeness, normalise
from knowledge.terms import Entity

if TYPE_CHECKING:
    from knowledge.graph import KnowledgeGraph

#: score given to each kind of match (fuzzy scores are scaled into [0, FUZZY_MAX])
EXACT_SCORE = 1.0
CASE_SCORE = 0.97  # the label as written up to case
NORMALISED_SCORE = 0.95
PARTIAL_SCORE = 0.85  # a unique partial name ("Ann" for "Ann Lee"); shared by several: 0.8
FUZZY_MAX = 0.9


@dataclass
class LinkResult:
    """Entitys for one mention, best first; `ambiguous` when several share the top score."""

    mention: str
    candidates: list[Entity] = field(default_factory=list)

    @property
    def best(self) -> Entity | None:
        return self.candidates[0] if self.candidates else None

    @property
    def method(self) -> str | None:
        return self.candidates[0].method if self.candidates else None

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1 and self.candidates[1].score >= self.candidates[0].score

    def to_dict(self) -> dict[str, Any]:
        return {"mention": self.mention, "ambiguous": self.ambiguous,
                "candidates": [c.to_dict() for c in self.candidates]}


Fallback = Callable[[str, int], list[Entity]]


class EntityLinker:
    """Link mentions to entities of a KnowledgeGraph.

    Order: exact label -> normalised label (case, accents, underscores, punctuation, camelCase, spaces) ->
    partial name (a first name or surname of a longer label) -> rapidfuzz over normalised labels (score >=
    `fuzzy_cutoff`). Lower stages fill the list up to `k`; every entity sharing the best
    exact/normalised label is returned, even past `k`. When nothing matches, `fallback` (or `index`, a
    KnowledgeIndex searched for kind "entity") is asked."""

    def __init__(self, graph: "KnowledgeGraph", index: Any | None = None, *, fallback: Fallback | None = None,
                 fuzzy_cutoff: float = 80.0) -> None:
        self.graph = graph
        self.index = index
        self.fallback = fallback
        self.fuzzy_cutoff = fuzzy_cutoff

    def run(self, mention: str, k: int = 10) -> LinkResult:
        """Entitys for `mention`, best first."""
        text = mention.strip()
        result = LinkResult(mention=mention)
        if not text:
            return result
        labels = self.graph.labels()
        seen: set[URIRef] = set()

        def push(iri: URIRef, label: str, score: float, method: str) -> None:
            if iri not in seen:
                seen.add(iri)
                result.candidates.append(Entity(iri, label, score, method))

        for iri in labels.exact(text):
            push(iri, text, EXACT_SCORE, "exact")
        for entry in labels.normalised(text):  # the same words up to case first ("bruno": Bruno, then Brüno)
            same_case = closeness(entry.label, text) >= CASE_SCORE
            push(entry.iri, entry.label, CASE_SCORE if same_case else NORMALISED_SCORE, "normalised")
        if not result.candidates:
            partial = labels.partial(text)[:k]
            for entry in partial:
                push(entry.iri, entry.label, PARTIAL_SCORE if len(partial) == 1 else PARTIAL_SCORE - 0.05, "partial")
        if len(result.candidates) < k:
            self._fuzzy(labels, text, k, push)
        if not result.candidates:
            for cand in self._fallback(text, k):
                push(cand.iri, cand.label, cand.score, cand.method)
        strong = sum(1 for c in result.candidates if c.method in ("exact", "normalised"))
        result.candidates.sort(key=lambda c: -c.score)
        del result.candidates[max(k, strong):]
        return result

    def _fuzzy(self, labels: LabelIndex, text: str, k: int, push: Callable[..., None]) -> None:
        key = normalise(text)
        if not key:
            return
        # a persistent label index (knowledge.label_store) narrows the keys by shared trigrams first
        keys = labels.fuzzy_keys(key) if hasattr(labels, "fuzzy_keys") else labels.keys
        matches = process.extract(key, keys, scorer=fuzz.token_sort_ratio, limit=k, score_cutoff=self.fuzzy_cutoff)
        for found, score, _ in matches:
            if found == key:
                continue
            for entry in labels.entries(found):
                push(entry.iri, entry.label, FUZZY_MAX * score / 100.0, "fuzzy")

    def _fallback(self, text: str, k: int) -> list[Entity]:
        if self.fallback is not None:
            return list(self.fallback(text, k))
        if self.index is not None:
            from knowledge.retrieval import as_linker_fallback  # numpy stays unloaded until needed

            return as_linker_fallback(self.index)(text, k)
        return []
