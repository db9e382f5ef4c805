"""Turn a question into relation paths: from a question model's path label (via property role words),
or zero-shot by enumerating 1-3 hop paths around the topic entity and scoring them against the question.
Also finds entity mentions by longest match against the graph's own labels."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

import numpy as np
import simplemma
from rapidfuzz import fuzz, process
from scipy.optimize import linear_sum_assignment
from rdflib import URIRef
from rdflib.term import Node

from knowledge.labels import closeness, name_keys, word_spans
from reasoning.graphview import GraphView, role_key
from reasoning.paths import PathStep
from reasoning.relnames import canonical, inverse_pairs, name_words, relation_name, roles, sorted_neighbours
from reasoning.types import Mention

STOPWORDS = frozenset(
    "a an the of in on at to for by with from and or is are was were be been being do does did has have had "
    "what which who whom whose where when how that this these those it its as also same there their they "
    "me my i you your give tell list name show can could please about s whats ? ' , . !".split())
#: personal pronouns: a guessed name (partial or misspelt) neither starts nor ends with one ("he report" is
#: not a typo of the film "The Report")
PRONOUNS = frozenset("i me my mine you your yours he him his she her hers it its we us our ours they them "
                     "their theirs".split())
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)
#: words that ask for a round trip through a property ("films with the same director")
#: words after which the question names what it asks for ("which films", "name a club")
_ASKING = ("what", "which", "who", "name", "list", "give", "show")
#: role words (as `role_key`s) of what "where" and "when" ask for
_PLACE_OR_TIME = {
    "where": frozenset(role_key(w) for w in "place location country nation city town village state province region "
                       "county area continent site venue address birthplace hometown residence headquarters".split()),
    "when": frozenset(role_key(w) for w in "year date time day month decade century period era".split())}
_PLACES_AND_TIMES = _PLACE_OR_TIME["where"] | _PLACE_OR_TIME["when"]
#: words between "what"/"which" and the noun it asks for ("what is the job of ...")
_COPULAS = frozenset("is are was were the a an".split())
#: nouns that ask for a kind of something ("what type of film"): the thing named after them may be the answer
_KIND_NOUNS = frozenset("kind kinds type types sort sorts variety form forms category categories".split())
#: words that ask for a round trip or another entity but name no relation ("other" is not "mother")
_CUES = frozenset("same also other others another too".split())
_SAMENESS = frozenset("same share shares shared sharing also other others another too common co together".split())


@dataclass(frozen=True)
class PlanCandidate:
    """A relation path to follow from the topic, with its score and where it came from."""

    steps: tuple[PathStep, ...]
    label: str
    score: float
    source: str  # "model" | "zero-shot"


# ------------------------------------------------------------------------------------------ path labels
def _name_words(p: URIRef, view: GraphView) -> tuple[str, ...]:
    """Words naming a property, whatever its naming style (`reasoning.relnames.name_words`)."""
    return name_words(view, p)


def _own_words(view: GraphView, p: URIRef) -> tuple[str, ...]:
    """The words of a property's name and of its backwards twin's, not joined up ("plays" is not "playsclub")."""
    partner = inverse_pairs(view).get(p)
    words = relation_name(view, p).words + (relation_name(view, partner).words if partner is not None else ())
    return tuple(dict.fromkeys(words))


def _target_roles(view: GraphView, st: PathStep) -> tuple[str, ...]:
    """Role words of the node a hop reaches (kgo annotations, else read from names and data)."""
    subj, obj = roles(view, st.prop)
    return subj if st.inverse else obj


@lru_cache(maxsize=1 << 18)
def word_sim(a: str, b: str) -> float:
    """Similarity of two words, as written or as English lemmas ("wrote" / "written"): 1 when equal
    (plural-insensitive), 0.9 for a shared stem, 0.85 when one starts (or, 5+ letters, ends) the other,
    0.85 x the fuzzy ratio above 0.8, else 0."""
    return max(_key_sim(role_key(a), role_key(b)), _key_sim(lemma_key(a), lemma_key(b)))


def _key_sim(a: str, b: str) -> float:
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
    short, long = sorted((a, b), key=len)
    if (len(short) >= 3 and long.startswith(short)) or (len(short) >= 5 and long.endswith(short)):
        return 0.85  # "act" / "actor", "writer" / "screenwriter"
    r = fuzz.ratio(a, b) / 100.0
    return 0.85 * r if r >= 0.8 else 0.0


@lru_cache(maxsize=1 << 16)
def _lemma(word: str) -> str:
    """The word's English lemma (simplemma's tables): "parents" -> "parent", "died" -> "die"."""
    return simplemma.lemmatize(word.lower(), lang="en")


@lru_cache(maxsize=1 << 16)
def lemma_key(word: str) -> str:
    """`role_key` of the word's English lemma (simplemma's tables): "wrote", "written" -> "write"."""
    return role_key(_lemma(word))


def role_match(view: GraphView, p: URIRef, role: str, side: str) -> float:
    """How well a role word fits one side ("subject"/"object") of a property."""
    subj, obj = view.roles(p)
    annotated = subj if side == "subject" else obj
    if subj or obj:
        return 1.0 if role_key(role) in annotated else 0.0
    if side == "subject":
        return 0.5  # unannotated: any subject role fits a little
    return max((word_sim(role, w) for w in _name_words(p, view)), default=0.0) * 0.9


def plan_fits(view: GraphView, node: Node, plan: PlanCandidate) -> bool:
    """Whether a topic suits a model plan: its first hop leads somewhere from the topic, or the topic plays the
    plan's starting role (e.g. "movie" for `movie_to_genre`) in some property, judged as `steps_for_label`
    judges roles. A film without genre facts still suits `movie_to_genre` (the honest reply is "no genre
    facts"); a year, only ever the object of "release year", does not."""
    if plan.steps[0].leaves(view, node):
        return True
    start = plan.label.split("_to_", 1)[0]
    node = view.node(node)
    return any((node in view.out[p] and role_match(view, p, start, "subject") > 0)
               or (node in view.inc[p] and role_match(view, p, start, "object") > 0)
               for p in view.fact_properties())


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
def _span_score(n: int) -> float:
    """Confidence of a mention from its length in words (a longer label match is less likely chance)."""
    return min(1.0, 0.55 + 0.15 * n)


class EntityDetector:
    """Mentions of graph entities in a question, whatever the case and naming convention of either: the
    question's word n-grams looked up (longest first) in the view's normalised label index (`by_label`), no
    capital letters needed. When that finds no name (only relation words, or nothing), also partial names (a first name or
    surname naming one or a few longer labels: "ann" -> "Ann Lee") and typos (rapidfuzz ratio of a span to the
    label keys, at least `fuzzy_cutoff`)."""

    def __init__(self, max_tokens: int = 12, fuzzy_cutoff: float = 88.0, max_partial: int = 3) -> None:
        self.max_tokens = max_tokens
        self.fuzzy_cutoff = fuzzy_cutoff
        self.max_partial = max_partial

    def run(self, question: str, view: GraphView, limit: int = 3) -> list[Mention]:
        toks = word_spans(question)
        found = self._exact(question, toks, view)
        if not any(m.score >= _span_score(1) for m in found):  # no name found but relation words, or none
            found = _best_spans(found + self._near(question, toks, view, found))
        found.sort(key=lambda m: (-m.score, -(m.end - m.start), m.start))
        return found[:limit]

    def _exact(self, question: str, toks: Sequence[tuple[str, int, int]], view: GraphView) -> list[Mention]:
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
                if all(w in STOPWORDS for w in words):
                    continue
                nodes = [x for x in view.by_label.get(" ".join(words), ()) if x not in view.out]
                if not nodes:
                    continue
                start, end = toks[i][1], toks[i + n - 1][2]
                start, end, nodes = _as_written(question, start, end, nodes, view)
                score = _span_score(n) * (0.6 if n == 1 and words[0] in STOPWORDS else 1.0)
                if n == 1 and words[0] in relation_words(view):
                    score *= 0.3  # "actors", "director", "year": most likely the relation, not a tag of that name
                found.append(Mention(question[start:end], start, end, score, "dictionary", tuple(nodes)))
                taken.update(range(i, i + n))
        return found

    def _near(self, question: str, toks: Sequence[tuple[str, int, int]], view: GraphView,
              found: Sequence[Mention]) -> list[Mention]:
        """Partial-name and fuzzy mentions over spans of up to four words that start and end with a content
        word (not a stopword nor a word of a relation's name)."""
        rel = relation_words(view)
        content = [w not in STOPWORDS and w not in PRONOUNS and w not in rel and not w.isdigit()
                   for w, _, _ in toks]
        out: list[Mention] = []
        words = label_words(view)
        keys = label_keys(view)
        for n in range(min(4, len(toks)), 0, -1):
            for i in range(len(toks) - n + 1):
                if not (content[i] and content[i + n - 1]):
                    continue
                key = " ".join(t[0] for t in toks[i:i + n])
                start, end = toks[i][1], toks[i + n - 1][2]
                if any(m.start <= start and end <= m.end for m in found):
                    continue
                partial = [k for k in words.get(toks[i][0], ()) if k != key and f" {key} " in f" {k} "]
                if 0 < len(partial) <= self.max_partial:
                    partial.sort(key=lambda k: (not k.startswith(key + " "), len(k), k))
                    nodes = tuple(x for k in partial for x in view.by_label[k] if x not in view.out)
                    if nodes:
                        score = 0.5 * _span_score(n) * (1.0 if len(partial) == 1 else 0.8)
                        out.append(Mention(question[start:end], start, end, score, "partial", nodes))
                if len(key) < 5:
                    continue
                hit = process.extractOne(key, keys, scorer=fuzz.ratio, score_cutoff=self.fuzzy_cutoff)
                if hit is not None and hit[0] != key:
                    nodes = tuple(x for x in view.by_label[hit[0]] if x not in view.out)
                    if nodes:
                        score = 0.9 * _span_score(len(hit[0].split(" "))) * hit[1] / 100.0
                        out.append(Mention(question[start:end], start, end, score, "fuzzy", nodes))
        return out


def _as_written(question: str, start: int, end: int, nodes: list[Node],
                view: GraphView) -> tuple[int, int, list[Node]]:
    """The span widened over the punctuation attached to it when a label is written there with it ("that's
    life!" for "That's Life!", "which way is up?"), and the nodes, those whose label the question writes
    most closely first (`knowledge.labels.closeness`): the words alone also match labels that differ in
    punctuation or accents ("Taxi" for "taxi!", "Brüno" for "bruno")."""
    lo, hi = start, end
    while lo > 0 and not question[lo - 1].isspace() and not question[lo - 1].isalnum():
        lo -= 1
    while hi < len(question) and not question[hi].isspace() and not question[hi].isalnum():
        hi += 1
    best = (0.0, 0, start, end)
    ranked: list[tuple[tuple[float, int], int, Node]] = []
    for k, node in enumerate(nodes):
        label = view.label(node)
        # as written beats up to case beats the key alone; then the label writing more of the text ("Taxi!")
        score, width, s, e = max((closeness(label, question[s:e]), e - s, s, e) for s in range(start, lo - 1, -1)
                                 for e in range(end, hi + 1))
        if score > 0.96 and (score, width) > best[:2]:
            best = (score, width, s, e)
        ranked.append(((score, width) if score > 0.96 else (score, 0), k, node))
    ranked.sort(key=lambda x: (-x[0][0], -x[0][1], x[1]))
    return best[2], best[3], [node for _, _, node in ranked]


def _best_spans(mentions: Sequence[Mention]) -> list[Mention]:
    """Best-scored mentions first, each dropping the lower-scored ones its span overlaps."""
    kept: list[Mention] = []
    for m in sorted(mentions, key=lambda m: (-m.score, -(m.end - m.start), m.start)):
        if not any(m.start < k.end and k.start < m.end for k in kept):
            kept.append(m)
    return kept


def label_words(view: GraphView) -> dict[str, list[str]]:
    """Each word of the label keys -> the keys holding it (memoised on the view; for partial names)."""
    key = ("label_words",)
    found = view.memo.get(key)
    if found is None:
        words: dict[str, list[str]] = {}
        for text in view.by_label:
            for w in set(text.split(" ")):
                if w not in STOPWORDS:
                    words.setdefault(w, []).append(text)
        found = view.memo[key] = words
    return found  # type: ignore[return-value]


def label_keys(view: GraphView) -> list[str]:
    """The view's normalised label keys as a list (memoised; what fuzzy matching searches)."""
    key = ("label_keys",)
    found = view.memo.get(key)
    if found is None:
        found = view.memo[key] = list(view.by_label)
    return found  # type: ignore[return-value]


def relation_words(view: GraphView) -> frozenset[str]:
    """Lower-cased words of the fact properties' names and role words, and their plurals (memoised)."""
    key = ("relation_words",)
    found = view.memo.get(key)
    if found is None:
        words: set[str] = set()
        for p in view.fact_properties():
            subj, obj = roles(view, p)
            words.update(w for w in (*_name_words(p, view), *subj, *obj) if w not in STOPWORDS)
        found = view.memo[key] = frozenset(words | {w + "s" for w in words})
    return found  # type: ignore[return-value]


def specific_words(view: GraphView) -> frozenset[str]:
    """Words of exactly one relation's name (a property and the one holding it backwards are one relation)."""
    key = ("specific_words",)
    found = view.memo.get(key)
    if found is None:
        owners: dict[str, set[URIRef]] = {}
        for p in view.fact_properties():
            base = canonical(view, p, False)[0]
            for w in _name_words(p, view):
                owners.setdefault(w, set()).add(base)
        found = view.memo[key] = frozenset(w for w, ps in owners.items() if len(ps) == 1)
    return found  # type: ignore[return-value]


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
    """Nodes with a label equal to `text` under any of its normalised keys (case, accents, underscores,
    punctuation, camelCase)."""
    out: list[Node] = []
    for key in name_keys(text):
        out.extend(n for n in view.by_label.get(key, ()) if n not in out)
    return tuple(out)


# ------------------------------------------------------------------------------------------ zero-shot
def _asks_person(words: Sequence[str]) -> bool:
    """The question's first question word is "who" / "whom"."""
    first = next((w for w in words if w in _QUESTION_WORDS), "")
    return first in ("who", "whom")


_QUESTION_WORDS = frozenset("what which who whom whose where when how why name list give show tell".split())


def _one_phrase(words: Sequence[str], name: Sequence[str]) -> bool:
    """`words` run, word for word (as written or as lemmas), within the relation name `name`."""
    keys, own = [lemma_key(w) for w in words], [lemma_key(w) for w in name]
    return any(own[k:k + len(keys)] == keys for k in range(len(own) - len(keys) + 1))


def _hop(view: GraphView, st: PathStep) -> tuple[URIRef, bool]:
    """A hop as one relation and direction (`plays_in_club_inverse` forwards = `plays_in_club` backwards)."""
    return canonical(view, st.prop, st.inverse)


def _round_trip(view: GraphView, a: PathStep, b: PathStep) -> bool:
    """`b` follows `a`'s relation back (e.g. directed by, then inverse of directed by)."""
    (pa, ia), (pb, ib) = _hop(view, a), _hop(view, b)
    return pa == pb and ia != ib


@dataclass
class ZeroShotPlanner:
    """Enumerates relation paths (1..max_hops) that exist around the topic and scores them by how well the
    question's words name their hops (as written, as lemmas, and, when an `encode(texts) -> vectors` function
    is given, as close synonyms), what the question asks for ("which films", "the same director") and length."""

    max_hops: int = 3
    sample: int = 25
    encode: Callable[[Sequence[str]], np.ndarray] | None = None
    hop_penalty: float = 0.02
    type_penalty: float = 0.3
    #: added to a one-hop path whose answers are tied to another entity the question names
    join_bonus: float = 0.15
    #: added to a path reaching the kind nearest (in word vectors) the noun a "which ..." question asks for, when
    #: that noun names no kind of the graph ("which team" ~ club): a tie-breaker, not evidence of a relation
    kind_bonus: float = 0.005
    #: with an encoder, word pairs at least this close count as synonyms
    synonym_cosine: float = 0.7
    #: word vectors and word-pair cosines kept (each table is emptied when it reaches this size)
    max_cached: int = 500_000
    _vectors: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _cosines: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)

    def run(self, question: str, view: GraphView, topic: Node, mention: str = "", limit: int = 10,
            others: Sequence[tuple[Node, str]] = (), max_hops: int | None = None) -> list[PlanCandidate]:
        """Paths from `topic` best-first. `others`: the other entities the question names, (node, mention): their
        names are not relation words, a word naming a hop of theirs may describe how the answers are tied to
        them rather than this path ("which player in X plays at position Y"), and a first hop reaching nodes
        tied to one of them is what a question naming both asks for (a small bonus, even unnamed).
        `max_hops`: paths up to this length (default: the planner's)."""
        scored = [(score, path) for path, (score, named, _) in
                  self.scores(question, view, topic, mention, others, max_hops).items()
                  if named]  # a path no word of the question names (nor a tie to another named entity): a guess
        scored.sort(key=lambda x: (-x[0], len(x[1]), [str(s) for s in x[1]]))
        return [PlanCandidate(path, self.describe(view, path), round(max(score, 0.0), 6), "zero-shot")
                for score, path in scored[:limit]]

    def scores(self, question: str, view: GraphView, topic: Node, mention: str = "",
               others: Sequence[tuple[Node, str]] = (), max_hops: int | None = None,
               ) -> dict[tuple[PathStep, ...], tuple[float, bool, bool]]:
        """Every path around `topic` with its score, whether the question names it (its lexical evidence is
        positive) and whether what it reaches fits what the question asks for ("which club", "where", "who"); a
        round trip the question's words do not ask for scores -1 (see `run`). `max_hops` as in `run`."""
        words = self._words_in_order(question, [mention, *(m for _, m in others)])
        qwords = [w for w in words if w not in STOPWORDS and w not in _CUES]
        found = self._enumerate(view, topic, max_hops or self.max_hops)
        joins = self._joins(view, topic, [n for n, _ in others]) if others else set()
        if self.encode is not None:
            self._embed_words(view, qwords, found + [(st,) for n, _ in others for st in self._props_around(view, [n])])
        trips = {p: t for p in found if (t := self._round_trips(words, view, p)) is not None}
        paths = list(trips)
        out: dict[tuple[PathStep, ...], tuple[float, bool, bool]] = {p: (-1.0, False, True) for p in found
                                                                      if p not in trips}
        if not paths:
            return out
        # a hop is described by its property's name, the last one also by the role of what it reaches (the
        # answer type, "which movies ..."): the roles of nodes on the way would let a longer path explain a
        # word with a hop the question does not ask for
        keys = {(st, i == len(path) - 1) for path in paths for i, st in enumerate(path)}
        sims = {key: [self._step_sim(view, *key, q) for q in qwords] for key in keys}
        ties = self._tie_rows(view, [n for n, _ in others], qwords)
        asked = self._answer_type(words, view, paths)
        nearest, not_asked = self._kind_by_vectors(words, view, paths) if not asked else ("", frozenset())
        person = _asks_person(words)
        for path in paths:
            last = len(path) - 1
            # one more column: the way back of a round trip is explained by what asked for it
            rows = [sims[st, i == last] + [trips[path].get(i, 0.0)] for i, st in enumerate(path)]
            named = qwords and any(v > 0 for row in rows for v in row)
            lexical = self._coverage(rows + ties) if named else 0.0
            if len(path) == 1 and path[0] in joins:
                lexical += self.join_bonus
            reached = _target_roles(view, path[-1])
            typed = not (asked and not any(word_sim(a, r) > 0 for a in asked for r in reached))
            # "who" asks for someone: not a place or a time ("who is from club X": its players, not its country)
            typed = typed and not (person and reached and all(role_key(r) in _PLACES_AND_TIMES for r in reached))
            # "which firm has a worker from X": the workers are named as a way to the answer, not as it
            typed = typed and not (reached and set(reached) <= not_asked)
            if not typed:
                lexical -= self.type_penalty
            elif nearest in reached and lexical > 0:  # a tie-breaker: a kind alone names no relation
                lexical += self.kind_bonus
            out[path] = (lexical - self.hop_penalty * len(path), lexical > 0, typed)
        return out

    def fit(self, question: str, view: GraphView, topic: Node, mention: str = "") -> float:
        """How well the question's words name a relation of `topic`'s own: the score of its best one-hop path
        (0 when no word names one). Cheap enough to compare the many entities a mention may name."""
        found = self.run(question, view, topic, mention, limit=1, max_hops=1)
        return found[0].score if found else 0.0

    def _tie_rows(self, view: GraphView, others: Sequence[Node], qwords: Sequence[str]) -> list[list[float]]:
        """For each other named entity whose hops some question word names, one more row for the coverage
        matching: how well each word names a hop of that entity (the tie it asks the answers to have)."""
        rows = []
        for node in others:
            hops = self._props_around(view, [node])
            row = [max((self._step_sim(view, st, False, q) for st in hops), default=0.0) for q in qwords] + [0.0]
            if any(v > 0 for v in row):
                rows.append(row)
        return rows

    @staticmethod
    def _joins(view: GraphView, topic: Node, others: Sequence[Node]) -> set[PathStep]:
        """First hops from the topic that reach a node with a fact tying it to one of the other entities."""
        tied: set[Node] = set()
        for node in others:
            node = view.node(node)
            for p in view.fact_properties():
                tied.update(view.out[p].get(node, ()))
                tied.update(view.inc[p].get(node, ()))
            tied.discard(node)
        found: set[PathStep] = set()
        for st in ZeroShotPlanner._props_around(view, [topic]):
            table = view.inc if st.inverse else view.out
            if any(m in tied for m in table[st.prop].get(topic, ())):
                found.add(st)
        return found

    @staticmethod
    def _coverage(rows: Sequence[Sequence[float]]) -> float:
        """The best one-to-one matching of steps (rows) to question words (columns, a word's similarity to each
        step): each word explains at most one step (scipy's assignment solver; a greedy matching let "artist",
        a word of both `album.artist` and `artist.genre`, take the second hop and leave "genre" unused)."""
        nq = len(rows[0])
        sims = np.clip(np.asarray(rows, dtype=float), 0.0, None)
        r, c = linear_sum_assignment(sims, maximize=True)
        total = float(sims[r, c].sum())
        return 0.6 * total / len(rows) + 0.4 * total / nq

    def describe(self, view: GraphView, path: Sequence[PathStep]) -> str:
        return " / ".join(("inverse of " if st.inverse else "") + view.property_label(st.prop) for st in path)

    def _sim(self, a: str, b: str, synonym_scale: float = 1.0) -> float:
        """`word_sim`, or with an encoder also the embedding cosine of the words or of their lemmas where it is
        high (synonyms: "author" / "writer", "films" / "movie", "father" / "parents" by "parent"), counted at the
        cosine x `synonym_scale` (at the cosine, a "wife" naming `spouse` at 0.82 outweighs a one-hop path that
        leaves the word unexplained)."""
        sim = word_sim(a, b)
        if self.encode is None or sim >= 0.85:
            return sim
        cos = self._cosines.get((a, b))
        if cos is None:
            found = [float(va @ vb) for x, y in {(a, b), (_lemma(a), _lemma(b))}
                     if (va := self._vectors.get(x)) is not None and (vb := self._vectors.get(y)) is not None]
            if not found:
                return sim
            if len(self._cosines) >= self.max_cached:
                self._cosines.clear()  # bounded: a long-running chat meets ever new words
            cos = self._cosines[a, b] = max(found)
        return max(sim, synonym_scale * cos) if cos >= self.synonym_cosine else sim

    def _embed_words(self, view: GraphView, words: Sequence[str], paths: Sequence[Sequence[PathStep]]) -> None:
        """Unit vectors of the question's content words and of the paths' property and role words, and of their
        lemmas (cached)."""
        assert self.encode is not None
        props = {st.prop for path in paths for st in path}
        vocab = set(words)
        for p in props:
            subj, obj = roles(view, p)
            vocab.update(_name_words(p, view), subj, obj)
        vocab.update([_lemma(w) for w in vocab])
        new = sorted(w for w in vocab if w not in self._vectors)
        if new and len(self._vectors) + len(new) > self.max_cached:
            self._vectors.clear()
            new = sorted(vocab)
        if new:
            vecs = np.asarray(self.encode(new), dtype=np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True) + 1e-9
            self._vectors.update(zip(new, vecs))

    def _step_sim(self, view: GraphView, st: PathStep, last: bool, word: str) -> float:
        """How well a question word names a hop: its property's name, or at half weight (a type word alone
        names no relation) the role of what the last hop reaches."""
        sim = max((self._sim(n, word) for n in _name_words(st.prop, view)), default=0.0)
        if last:
            # a role named by a synonym counts as a fuzzy match (0.85 x): a kind word is weak evidence of a hop
            sim = max(sim, 0.5 * max((self._sim(r, word, 0.85) for r in _target_roles(view, st)), default=0.0))
        return sim

    @staticmethod
    def _words_in_order(question: str, mentions: Sequence[str]) -> list[str]:
        """The question's lower-cased words, the entity mentions taken out."""
        text = question.lower()
        for mention in mentions:
            if mention:
                text = text.replace(mention.lower(), " ", 1)
        return [w for w in _WORD.findall(text) if w.isalnum()]

    def _answer_type(self, words: Sequence[str], view: GraphView,
                     paths: Sequence[Sequence[PathStep]]) -> tuple[str, ...]:
        """What the question asks for, when a role some path ends at names it: the first word after "what",
        "which", "who (is/are the)" or an imperative ("which films", "what year", "who are the directors", "name a
        club"), or after "what" / "which" / an imperative the second of two words in a row ("which soccer club");
        "where" / "when" ask for the place / time roles the paths end at (country, city; year, date). Else ().
        Words as written or as lemmas only: a synonym would read a modifier as the answer type ("who are film
        co-directors": "film" ~ "movie")."""
        roles = {r for path in paths for r in _target_roles(view, path[-1])}
        for k, w in enumerate(words):
            if w in _PLACE_OR_TIME:
                return tuple(r for r in roles if r in _PLACE_OR_TIME[w])
            if w not in _ASKING:
                continue
            run: list[str] = []
            for x in words[k + 1:]:
                if x in STOPWORDS:
                    if run:
                        break
                    continue
                run.append(x)
                if len(run) == (1 if w == "who" else 2):
                    break
            found = next((x for x in run if any(word_sim(x, r) > 0 for r in roles)), None)
            return (found,) if found else ()
        return ()

    def _kind_by_vectors(self, words: Sequence[str], view: GraphView,
                         paths: Sequence[Sequence[PathStep]]) -> tuple[str, frozenset[str]]:
        """For a question asking "which/what (is the) <noun phrase>" whose head noun names no kind the paths
        reach ("which organisation", "what is the job of"), the reachable kind nearest that noun in
        word vectors ("company"), and the kinds the rest of the question names (as written, as lemmas or as
        synonyms), other than that one ("... has a worker from X": the workers; "X's kid": children): those are ways
        to the answer, not what is asked for. Nothing without word vectors, nor for "what kind/type/sort of ..."
        (the kind may be the answer or its type)."""
        if self.encode is None:
            return "", frozenset()
        k = next((i for i, w in enumerate(words) if w in _ASKING), -1)
        if k < 0 or words[k] not in ("which", "what"):
            return "", frozenset()
        run: list[str] = []
        rest = list(words[k + 1:])
        while rest and rest[0] in _COPULAS:  # "what is the job of ...", "which are the ..."
            rest.pop(0)
        for w in rest[:3]:
            if w in STOPWORDS:
                break
            run.append(w)
        if not run or run[-1] in _KIND_NOUNS:
            return "", frozenset()
        head = run[-1]
        kinds = sorted({r for path in paths for r in _target_roles(view, path[-1])})
        vh = self._vectors.get(head)
        close = [(float(vh @ v), r) for r in kinds if vh is not None and (v := self._vectors.get(r)) is not None]
        if not close:
            return "", frozenset()
        nearest = max(close)[1]
        after = [w for w in rest[len(run):] if w not in STOPWORDS]
        named = frozenset(r for r in kinds if r != nearest and any(self._sim(w, r) > 0 for w in after))
        return nearest, named

    def _round_trips(self, words: Sequence[str], view: GraphView, path: Sequence[PathStep]) -> dict[int, float] | None:
        """How well the question asks for each round trip of the path (a property followed back: the films
        with the same director), by the index of its way back; None when it does not ask for one of them.
        Asked (1.0): a word like "same"/"share"/"also" within three words of a word naming the property or the
        node it turns at ("share directors", "actors also appear", "the same movie"), and no nearer to it than
        the words naming the path's other hops; or the same thing named twice ("written by the screenwriter
        of"). Allowed without credit (0.0): two different words of it ("the films starred by X actors").
        No hop is both the way back of one round trip and the start of another, and a hop repeated in the same
        direction needs its words twice ("the parent of the parent", not "released in which years")."""
        back = [i for i in range(1, len(path)) if _round_trip(view, path[i - 1], path[i])]
        if any(j == i + 1 for i, j in pairwise(back)):
            return None
        again = [i for i in range(1, len(path)) if _hop(view, path[i]) == _hop(view, path[i - 1])]  # parent of parent
        cues = [i for i, w in enumerate(words) if w in _SAMENESS]
        content = [(i, w) for i, w in enumerate(words) if w not in STOPWORDS]
        asked: dict[int, float] = {}
        for b in back:
            near = self._naming(content, view, path[b - 1])
            others = {i for st in path if _hop(view, st)[0] != _hop(view, path[b])[0]
                      for i in self._naming(content, view, st)}
            cued = any(abs(c - i) <= 3 and all(abs(c - i) <= abs(c - o) for o in others) for c in cues for i in near)
            # two words naming it, not two words of one writing of its name ("cause of death")
            name = _own_words(view, _hop(view, path[b - 1])[0])
            twice = [(i, j) for i in near for j in near if j > i + 1 and not _one_phrase(words[i:j + 1], name)]
            if cued or any(near[i] & near[j] for i, j in twice):
                asked[b] = 1.0
            elif twice:
                asked[b] = 0.0
            else:
                return None
        for b in again:  # the same hop twice needs the same thing named twice ("the parent of the parent")
            near = self._naming(content, view, path[b])
            if not any(j > i + 1 and near[i] & near[j] for i in near for j in near):
                return None
        return asked

    def _naming(self, content: Sequence[tuple[int, str]], view: GraphView, st: PathStep) -> dict[int, set[str]]:
        """Positions of the words that name a hop's property or the node it reaches, with what they match (a
        word of several relations' names, like "plays" in plays_in_club and plays_position, names none; words as
        written or as lemmas only, as for answer types)."""
        members = [w for w in _own_words(view, st.prop) if w not in STOPWORDS and w in specific_words(view)]
        members += list(_target_roles(view, st))
        found = {i: {n for n in members if word_sim(w, n) > 0} for i, w in content}
        return {i: ns for i, ns in found.items() if ns}

    def paths_around(self, view: GraphView, topic: Node) -> list[tuple[PathStep, ...]]:
        """Every 1..max_hops path that reaches something from `topic` (through at most `sample` nodes a hop)."""
        return self._enumerate(view, topic, self.max_hops)

    @staticmethod
    def _props_around(view: GraphView, nodes: Sequence[Node]) -> list[PathStep]:
        """The hops leaving any of `nodes`, one per relation and direction (a property that another holds
        backwards is the same hop as that one)."""
        steps: dict[tuple[URIRef, bool], PathStep] = {}
        for p in view.fact_properties():
            out, inc = view.out[p], view.inc.get(p, {})
            for inverse, table in ((False, out), (True, inc)):
                if any(n in table for n in nodes):
                    key = canonical(view, p, inverse)
                    if key not in steps or key == (p, inverse):  # the relation under its own name first
                        steps[key] = PathStep(p, inverse)
        return list(steps.values())

    def _enumerate(self, view: GraphView, topic: Node, max_hops: int) -> list[tuple[PathStep, ...]]:
        """Every path of 1..max_hops hops that exists from the topic, exploring at most `sample` nodes per hop,
        taken in a fixed order (frontier and neighbours sorted) so results do not depend on the store's order."""
        paths: list[tuple[PathStep, ...]] = []
        layer: list[tuple[tuple[PathStep, ...], list[Node]]] = [((), [topic])]
        for _ in range(max_hops):
            nxt: list[tuple[tuple[PathStep, ...], list[Node]]] = []
            for path, nodes in layer:
                for st in self._props_around(view, nodes):
                    reached: list[Node] = []
                    for n in nodes:
                        for m in sorted_neighbours(view, st.prop, st.inverse, n):
                            if m != topic:
                                reached.append(m)
                        if len(reached) >= self.sample:
                            break
                    if reached:
                        new = path + (st,)
                        paths.append(new)
                        nxt.append((new, sorted(dict.fromkeys(reached), key=str)[: self.sample]))
            layer = nxt
        return paths
