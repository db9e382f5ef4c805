"""Turn a question into relation paths: from a question model's path label (via property role words),
or zero-shot by enumerating 1-3 hop paths around the topic entity and scoring them against the question.
Also finds entity mentions by longest match against the graph's own labels."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz
from rdflib import URIRef
from rdflib.term import Node

from reasoning.graphview import GraphView, iri_tail, normalize, role_key
from reasoning.paths import PathStep

STOPWORDS = frozenset(
    "a an the of in on at to for by with from and or is are was were be been being do does did has have had "
    "what which who whom whose where when how that this these those it its as also same there their they "
    "me my i you your give tell list name show can could please about s whats ? ' , . !".split())
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Mention:
    """A span of the question that names an entity of the graph."""

    text: str
    start: int
    end: int
    score: float
    source: str  # "model" | "dictionary" | "context"
    nodes: tuple[Node, ...] = ()


@dataclass(frozen=True)
class PlanCandidate:
    """A relation path to follow from the topic, with its score and where it came from."""

    steps: tuple[PathStep, ...]
    label: str
    score: float
    source: str  # "model" | "zero-shot"


# ------------------------------------------------------------------------------------------ path labels
def _name_words(p: URIRef, view: GraphView) -> list[str]:
    words = [w for w in re.split(r"[^a-z0-9]+", view.property_label(p).lower() + " " + iri_tail(p).lower()) if w]
    joined = "".join(w for w in words if w not in ("has", "is", "in", "by", "of"))
    return list(dict.fromkeys(words + ([joined] if joined else [])))


def word_sim(a: str, b: str) -> float:
    """1 for equal words (plural-insensitive), 0.9 for a shared stem, fuzzy ratio above 0.8, else 0."""
    a, b = role_key(a), role_key(b)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    if n >= 4 and n >= 0.6 * min(len(a), len(b)):
        return 0.9
    r = fuzz.ratio(a, b) / 100.0
    return 0.85 * r if r >= 0.8 else 0.0


def role_match(view: GraphView, p: URIRef, role: str, side: str) -> float:
    """How well a role word fits one side ("subject"/"object") of a property."""
    subj, obj = view.roles(p)
    annotated = subj if side == "subject" else obj
    if subj or obj:
        return 1.0 if role_key(role) in annotated else 0.0
    if side == "subject":
        return 0.5  # unannotated: any subject role fits a little
    return max((word_sim(role, w) for w in _name_words(p, view)), default=0.0) * 0.9


def steps_for_label(label: str, view: GraphView) -> tuple[PathStep, ...] | None:
    """`movie_to_director_to_movie` -> (directed_by, ^directed_by) using kgo role words (or property names).

    Memoised on the view (the answer only depends on the view's properties and role annotations)."""
    key = ("steps_for_label", label)
    if key not in view.memo:
        view.memo[key] = _steps_for_label(label, view)
    return view.memo[key]  # type: ignore[return-value]


def _steps_for_label(label: str, view: GraphView) -> tuple[PathStep, ...] | None:
    roles = [r for r in label.split("_to_") if r]
    if len(roles) < 2:
        return None
    steps: list[PathStep] = []
    props = view.fact_properties()
    for a, b in zip(roles, roles[1:]):
        best: tuple[float, PathStep] | None = None
        for p in props:
            fwd = role_match(view, p, a, "subject") * role_match(view, p, b, "object")
            inv = role_match(view, p, b, "subject") * role_match(view, p, a, "object")
            for score, step in ((fwd, PathStep(p, False)), (inv, PathStep(p, True))):
                if score > 0 and (best is None or score > best[0]):
                    best = (score, step)
        if best is None:
            return None
        steps.append(best[1])
    return tuple(steps)


# ------------------------------------------------------------------------------------------ mentions
class EntityDetector:
    """Longest-match dictionary of the graph's labels over the question's word tokens."""

    def __init__(self, max_tokens: int = 12) -> None:
        self.max_tokens = max_tokens

    def run(self, question: str, view: GraphView, limit: int = 3) -> list[Mention]:
        toks = [(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(question)]
        starts = label_starts(view)
        found: list[Mention] = []
        taken: set[int] = set()
        for n in range(min(self.max_tokens, len(toks)), 0, -1):
            for i in range(len(toks) - n + 1):
                lengths = starts.get(toks[i][0])
                if lengths is None or n not in lengths:
                    continue  # no label starts with this word and has n words
                if any(j in taken for j in range(i, i + n)):
                    continue
                words = [t[0] for t in toks[i:i + n]]
                if all(w in STOPWORDS or not w.isalnum() for w in words):
                    continue
                nodes = [x for x in view.by_label.get(" ".join(words), ()) if x not in view.out]
                if not nodes:
                    continue
                start, end = toks[i][1], toks[i + n - 1][2]
                score = min(1.0, 0.55 + 0.15 * n) * (0.6 if n == 1 and words[0] in STOPWORDS else 1.0)
                found.append(Mention(question[start:end], start, end, score, "dictionary", tuple(nodes)))
                taken.update(range(i, i + n))
        found.sort(key=lambda m: (-m.score, -(m.end - m.start), m.start))
        return found[:limit]


def label_starts(view: GraphView) -> dict[str, frozenset[int]]:
    """First word of every label -> the word counts of labels starting with it (memoised on the view)."""
    key = ("label_starts",)
    found = view.memo.get(key)
    if found is None:
        lengths: dict[str, set[int]] = {}
        for text in view.by_label:
            words = text.split(" ")
            lengths.setdefault(words[0], set()).add(len(words))
        found = view.memo[key] = {w: frozenset(n) for w, n in lengths.items()}
    return found  # type: ignore[return-value]


def lookup_label(text: str, view: GraphView) -> tuple[Node, ...]:
    """Nodes whose label equals `text` (case/spacing-insensitive)."""
    return tuple(view.by_label.get(normalize(text), ()))


# ------------------------------------------------------------------------------------------ zero-shot
@dataclass
class ZeroShotPlanner:
    """Enumerates relation paths (1..max_hops) that exist around the topic and scores them by label overlap
    with the question, plus embedding similarity when an `encode(texts) -> vectors` function is given."""

    max_hops: int = 3
    sample: int = 25
    encode: Callable[[Sequence[str]], np.ndarray] | None = None
    embed_weight: float = 0.5
    hop_penalty: float = 0.02

    def run(self, question: str, view: GraphView, topic: Node, mention: str = "",
            limit: int = 10) -> list[PlanCandidate]:
        qwords = self._question_words(question, mention)
        paths = self._enumerate(view, topic)
        if not paths:
            return []
        step_words = {st: self._step_words(view, st) for path in paths for st in path}
        sims = {st: [max((word_sim(w, q) for w in ws), default=0.0) for q in qwords]
                for st, ws in step_words.items()}
        scored: list[tuple[float, tuple[PathStep, ...]]] = []
        for path in paths:
            lexical = self._coverage(path, sims, len(qwords)) if qwords else 0.0
            scored.append((lexical - self.hop_penalty * len(path), path))
        if self.encode is not None:
            scored = self._add_embedding(question, mention, view, scored)
        scored.sort(key=lambda x: (-x[0], len(x[1]), [str(s) for s in x[1]]))
        return [PlanCandidate(path, self.describe(view, path), round(max(score, 0.0), 6), "zero-shot")
                for score, path in scored[:limit]]

    @staticmethod
    def _coverage(path: Sequence[PathStep], sims: dict[PathStep, list[float]], nq: int) -> float:
        """Greedy one-to-one matching of steps to question words: each word explains at most one step."""
        pairs = sorted(((sims[st][q], i, q) for i, st in enumerate(path) for q in range(nq)), reverse=True)
        used_steps: set[int] = set()
        used_words: set[int] = set()
        total = 0.0
        for sim, i, q in pairs:
            if sim <= 0 or i in used_steps or q in used_words:
                continue
            used_steps.add(i)
            used_words.add(q)
            total += sim
        return 0.6 * total / len(path) + 0.4 * total / nq

    def describe(self, view: GraphView, path: Sequence[PathStep]) -> str:
        return " / ".join(("inverse of " if st.inverse else "") + view.property_label(st.prop) for st in path)

    def _question_words(self, question: str, mention: str) -> list[str]:
        skip = set(_WORD.findall(mention.lower()))
        return [w for w in _WORD.findall(question.lower()) if w.isalnum() and w not in STOPWORDS and w not in skip]

    def _step_words(self, view: GraphView, st: PathStep) -> list[str]:
        subj, obj = view.roles(st.prop)
        target = subj if st.inverse else obj
        return _name_words(st.prop, view) + list(target)

    def _props_around(self, view: GraphView, nodes: Sequence[Node]) -> list[PathStep]:
        steps: list[PathStep] = []
        for p in view.fact_properties():
            out, inc = view.out[p], view.inc.get(p, {})
            if any(n in out for n in nodes):
                steps.append(PathStep(p, False))
            if any(n in inc for n in nodes):
                steps.append(PathStep(p, True))
        return steps

    def _enumerate(self, view: GraphView, topic: Node) -> list[tuple[PathStep, ...]]:
        paths: list[tuple[PathStep, ...]] = []
        layer: list[tuple[tuple[PathStep, ...], list[Node]]] = [((), [topic])]
        for _ in range(self.max_hops):
            nxt: list[tuple[tuple[PathStep, ...], list[Node]]] = []
            for path, nodes in layer:
                for st in self._props_around(view, nodes):
                    table = view.inc if st.inverse else view.out
                    reached: list[Node] = []
                    for n in nodes:
                        for m in table[st.prop].get(n, ()):
                            if m != topic:
                                reached.append(m)
                        if len(reached) >= self.sample:
                            break
                    if reached:
                        new = path + (st,)
                        paths.append(new)
                        nxt.append((new, list(dict.fromkeys(reached))[: self.sample]))
            layer = nxt
        return paths

    def _add_embedding(self, question: str, mention: str, view: GraphView,
                       scored: list[tuple[float, tuple[PathStep, ...]]]) -> list[tuple[float, tuple[PathStep, ...]]]:
        assert self.encode is not None
        texts = [self.describe(view, path).replace(" / ", ", then ") for _, path in scored]
        q = question.replace(mention, "something") if mention else question
        vecs = np.asarray(self.encode([q] + texts), dtype=np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True) + 1e-9
        cos = vecs[1:] @ vecs[0]
        w = self.embed_weight
        return [((1 - w) * s + w * float(c), path) for (s, path), c in zip(scored, cos)]
