"""A question model from the graph alone: questions synthesised from relation paths that exist in the graph
(gold answers computed from it), a path-pair model trained on them, and the planner that uses such a model.

`GraphQuestionSynthesiser` walks the adjacency view (candidate paths are the zero-shot planner's enumeration, so
training sees the candidates the run-time planner sees); `train_graph_model` trains and saves the model folder;
`PairPlanner` ranks the paths around a linked topic with it."""
from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Literal
from rdflib.term import Node

from finetune.pathpairs import PairExample, PairTrainer, PathScorer, mask_mention
from finetune.pathtext import Hop, path_text, type_word
from finetune.synth import synthesise
from finetune.train import TrainingArguments
from reasoning.graphview import GraphView
from reasoning.paths import PathStep
from reasoning.planner import PlanCandidate, ZeroShotPlanner

Path_ = tuple[PathStep, ...]


def hops_of(view: GraphView, path: Sequence[PathStep]) -> list[Hop]:
    """The words of a path's hops: property label, direction, and words for what each hop reaches and starts from."""
    return [Hop(view.property_label(st.prop), st.inverse, target_type(view, st),
                target_type(view, PathStep(st.prop, not st.inverse))) for st in path]


def target_type(view: GraphView, st: PathStep, sample: int = 50) -> str:
    """A word for what a hop reaches: its kgo role annotation, else the word most of a sample of the nodes it
    reaches are named by as objects of forward relations ("plays_in_club" -> "club": the subjects of
    "is_in_country" are clubs), when at least half of them agree; "" otherwise (memoised on the view)."""
    key = ("target_type", st)
    found = view.memo.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    subj, obj = view.roles(st.prop)
    roles = subj if st.inverse else obj
    if roles:
        found = roles[0]
    else:
        table = (view.inc if st.inverse else view.out).get(st.prop, {})
        targets = list(dict.fromkeys(n for ns in list(table.values())[:sample] for n in ns))[:sample]
        votes: dict[str, int] = {}
        for n in targets:
            words = {w for q in view.fact_properties() if n in view.inc.get(q, {})
                     if (w := type_word(view.property_label(q)))}
            for w in words:
                votes[w] = votes.get(w, 0) + 1
        best = max(votes.items(), key=lambda kv: (kv[1], kv[0]), default=("", 0))
        found = best[0] if targets and best[1] >= 0.5 * len(targets) else ""
    view.memo[key] = found
    return found


def describe(view: GraphView, path: Sequence[PathStep]) -> str:
    """The text the pair model compares questions with (memoised on the view)."""
    key = ("pair_text", tuple(path))
    found = view.memo.get(key)
    if found is None:
        found = view.memo[key] = path_text(hops_of(view, path))
    return found  # type: ignore[return-value]


def relations_of(view: GraphView) -> list[str]:
    """The fact properties' labels: what a graph model was trained on (its scope)."""
    return sorted({view.property_label(p) for p in view.fact_properties()})


def _reach(view: GraphView, start: set[Node], st: PathStep, topic: Node, cap: int) -> set[Node] | None:
    """Nodes one hop from `start` (the topic left out); None when more than `cap`."""
    table = (view.inc if st.inverse else view.out).get(st.prop, {})
    found: set[Node] = set()
    for n in start:
        found.update(table.get(n, ()))
        if len(found) > cap:
            return None
    found.discard(topic)
    return found


@dataclass
class SynthesisReport:
    """What a synthesis produced, for the model card."""

    questions: int = 0
    topics: int = 0
    by_hops: dict[int, int] = field(default_factory=dict)
    conditioned: int = 0
    seconds: float = 0.0
    sha256: str = ""


@dataclass
class GraphQuestionSynthesiser:
    """Questions with gold paths from a graph: a relation (and direction) is drawn, then a topic that has it,
    then up to `per_topic` paths of 1..max_hops hops from that topic starting with it; positives are the
    candidate paths that reach exactly the same answers (explicit inverse relations give several)."""

    max_hops: int = 3
    per_topic: int = 3
    max_answers: int = 100
    cap: int = 3000
    condition_share: float = 0.15
    hop_weights: tuple[float, ...] = (0.4, 0.35, 0.25)
    seed: int = 0

    def run(self, view: GraphView, n: int, max_seconds: float = 0.0,
            on_progress: Callable[[dict], None] | None = None) -> tuple[list[PairExample], SynthesisReport]:
        """`on_progress` hears {"stage": "synthesising", "done", "total"} every 200 draws (it may raise to stop)."""
        rng = random.Random(self.seed)
        t0 = time.perf_counter()
        planner = ZeroShotPlanner(max_hops=self.max_hops)
        starts: list[PathStep] = []
        for p in view.fact_properties():
            starts.append(PathStep(p, False))
            starts.append(PathStep(p, True))
        # sorted, so that one seed draws the same topics in every process (the store's order follows hashes)
        tables = {st: sorted((x for x in (view.inc if st.inverse else view.out)[st.prop] if not isinstance(x, Literal)),
                             key=str) for st in starts}
        starts = sorted((st for st in starts if tables[st]), key=lambda st: (str(st.prop), st.inverse))
        examples: list[PairExample] = []
        report = SynthesisReport()
        digest = hashlib.sha256()
        tries = 0
        while starts and len(examples) < n and tries < 20 * n:
            tries += 1
            if max_seconds and time.perf_counter() - t0 > max_seconds:
                break
            if on_progress is not None and tries % 200 == 0:
                on_progress({"stage": "synthesising", "done": len(examples), "total": n})
            first = rng.choice(starts)
            topic = rng.choice(tables[first])
            name = view.label(topic)
            if not any(ch.isalnum() for ch in name):
                continue
            paths = planner.paths_around(view, topic)
            reach = self._reach_all(view, topic, paths)
            if first not in {p[0] for p in reach}:
                continue
            texts = {p: describe(view, p) for p in reach}
            shortest: dict[frozenset[Node], int] = {}
            for p, r in reach.items():
                shortest[r] = min(shortest.get(r, 9), len(p))
            report.topics += 1
            # the shortest paths to an answer set (a round trip back to the same answers is no reading)
            own = [p for p in reach if p[0] == first and len(p) == shortest[reach[p]]]
            for _ in range(self.per_topic):
                hops = rng.choices(range(1, self.max_hops + 1), self.hop_weights[: self.max_hops])[0]
                pool = [p for p in own if len(p) == hops] or own
                if not pool:
                    break
                path = rng.choice(pool)
                gold = reach[path]
                if not gold or len(gold) > self.max_answers:
                    continue
                # paths reaching the same answers: positives when as short, left out when longer
                same = {texts[p] for p, r in reach.items() if r == gold and len(p) == len(path)}
                longer = {texts[p] for p, r in reach.items() if r == gold and len(p) != len(path)} - same
                candidates = [t for t in dict.fromkeys(texts.values()) if t not in longer]
                positives = frozenset(i for i, t in enumerate(candidates) if t in same)
                condition = self._condition(view, topic, path, gold, rng) if len(path) == 1 else None
                q = synthesise(hops_of(view, path), name, rng, condition)
                question = mask_mention(q.text, q.start, q.end) if rng.random() < 0.9 else q.text
                examples.append(PairExample(question, candidates, positives))
                digest.update(f"{question}\t{texts[path]}\n".encode())
                report.by_hops[len(path)] = report.by_hops.get(len(path), 0) + 1
                report.conditioned += condition is not None
        report.questions = len(examples)
        report.seconds = round(time.perf_counter() - t0, 1)
        report.sha256 = digest.hexdigest()
        return examples, report

    def _reach_all(self, view: GraphView, topic: Node, paths: Sequence[Path_]) -> dict[Path_, frozenset[Node]]:
        """Answer sets of the enumerated paths (prefixes first), skipping those that fan out past `cap`."""
        sets: dict[Path_, set[Node]] = {(): {topic}}
        out: dict[Path_, frozenset[Node]] = {}
        for path in sorted(paths, key=len):
            prev = sets.get(path[:-1])
            if prev is None:
                continue
            found = _reach(view, prev, path[-1], topic, self.cap)
            if found:
                sets[path] = found
                out[path] = frozenset(found)
        return out

    def _condition(self, view: GraphView, topic: Node, path: Path_, gold: frozenset[Node],
                   rng: random.Random) -> tuple[Hop, str] | None:
        """Sometimes, a second entity that some but not all answers have a fact with ("... and is from Y")."""
        if len(gold) < 2 or rng.random() >= self.condition_share:
            return None
        answer = rng.choice(sorted(gold, key=str))
        options = []
        for p in view.fact_properties():
            if p == path[0].prop:
                continue
            for other in view.out[p].get(answer, ()):
                options.append((PathStep(p, False), other))
            for other in view.inc.get(p, {}).get(answer, ()):
                options.append((PathStep(p, True), other))
        options.sort(key=lambda o: (str(o[0].prop), o[0].inverse, str(o[1])))  # one seed, one draw in every process
        rng.shuffle(options)
        for st, other in options[:10]:
            if other == topic or not any(ch.isalnum() for ch in view.label(other)):
                continue
            table = (view.inc if st.inverse else view.out)[st.prop]
            tied = sum(other in table.get(a, ()) for a in gold)
            if 0 < tied < len(gold):
                return hops_of(view, [st])[0], view.label(other)
        return None


@dataclass
class GraphModelRun:
    out: Path
    card: dict


def train_graph_model(view: GraphView, out: str | Path, *, max_seconds: float = 600.0, seed: int = 0,
                      questions: int = 0, base: str | Path | None = None, max_hops: int = 3,
                      fingerprint: dict | None = None, command: str = "",
                      on_progress: Callable[[dict], None] | None = None,
                      args: TrainingArguments | None = None) -> GraphModelRun:
    """Synthesise questions from `view` (a quarter of the budget at most), train a path-pair model in the
    rest, and save it to `out` with its card (synthesis record and hash, dev accuracy, seconds, command).

    `questions`: how many to synthesise (0: as many as the budget's training steps can use)."""
    t0 = time.perf_counter()
    a = args or TrainingArguments(lr=2e-3, batch_size=256, max_length=48, epochs=40, seed=seed,
                                  max_seconds=max_seconds)
    target = questions or max(200, int(max_seconds * 100))  # synthesis stops at its share of the budget first
    synth = GraphQuestionSynthesiser(max_hops=max_hops, seed=seed)
    if on_progress is not None:
        on_progress({"stage": "synthesising", "questions": target})
    examples, report = synth.run(view, target, max_seconds * 0.15 if max_seconds else 0.0, on_progress)
    rng = random.Random(seed)
    rng.shuffle(examples)
    ndev = min(300, len(examples) // 20)
    dev, train = examples[:ndev], examples[ndev:]
    labels = {"relations": relations_of(view), "fingerprint": fingerprint or {}, "max_hops": max_hops}
    data = {"synthesis": report.__dict__ | {"train": len(train), "dev": len(dev)}}

    def progress(info: dict) -> None:
        if on_progress is not None:
            on_progress({"stage": "training", **info})

    run = PairTrainer(a, base).run(train, dev, out, labels=labels, data=data, command=command,
                                   extra_seconds=time.perf_counter() - t0, on_progress=progress)
    return GraphModelRun(run.out, run.card)


class PairPlanner:
    """Ranks the relation paths around a topic (the zero-shot planner's enumeration) by the zero-shot planner's
    lexical evidence plus a path-pair model's probability that the question, its mention masked, asks for them:
    where some word names a path, the model (x `weight`) only breaks the lexical planner's ties; where none does
    ("how old ...") or the best lexical score stays below `named_floor` (only a type word, at half weight, names
    a path: "what kind of film is X"), it chooses (x `unnamed_weight`) among the paths whose target fits what
    the question asks for (a round trip the question does not ask for stays out of reach). The model may lengthen
    the chosen path by hops no word named when it finds the longer one `extend_ratio` times likelier. The
    defaults were chosen on the first 3,000 questions of the MetaQA dev split's tuning part."""

    def __init__(self, scorer: PathScorer, max_hops: int = 3, weight: float = 0.001, unnamed_weight: float = 1.0,
                 named_floor: float = 0.2, extend_ratio: float = 100.0,
                 zero_shot: ZeroShotPlanner | None = None) -> None:
        self.scorer = scorer
        self.weight = weight
        self.named_floor = named_floor
        self.extend_ratio = extend_ratio
        self.unnamed_weight = unnamed_weight
        self.unnamed_scale = 0.1
        self.enumerate = zero_shot or ZeroShotPlanner(max_hops=max_hops)

    def model_weight(self, lexical: dict[Path_, tuple[float, bool, bool]], typed: set[Path_]) -> float:
        """The model's weight: where the question names some path, a tie-breaker (`weight`); where it names
        none, or only weakly (no word names a relation, only the kind of thing a path reaches: the best typed
        lexical score is below `named_floor`), the judge (`unnamed_weight`)."""
        named = any(n for _, n, _ in lexical.values())
        strong = named and max(lexical[p][0] for p in typed) >= self.named_floor
        return self.weight if strong else self.unnamed_weight

    def _lengthened(self, ranked: Sequence[Path_], texts: dict[Path_, str], probs: dict[str, float]) -> Path_ | None:
        """A path continuing the best one by hops no question word named ("what kinds are the films by the
        director of X": the lexical evidence stops at the films) when the model finds it `extend_ratio` times
        likelier than the best; else None."""
        if not ranked:
            return None
        best = ranked[0]
        longer = [p for p in ranked if len(p) > len(best) and p[:len(best)] == best]
        if not longer:
            return None
        top = max(longer, key=lambda p: probs[texts[p]])
        return top if probs[texts[top]] > self.extend_ratio * max(probs[texts[best]], 1e-6) else None

    def fits(self, view: GraphView, topic: Node) -> bool:
        """The model was trained on some relation the topic has (a model of another graph does not claim it)."""
        known = set(self.scorer.labels.get("relations", ()))
        node = view.node(topic)
        return any(view.property_label(p) in known and (node in view.out[p] or node in view.inc.get(p, {}))
                   for p in view.fact_properties())

    def prepare(self, questions: Sequence[str], mentions: Sequence[Sequence[str]]) -> None:
        """Encode a batch's questions ahead, masked as each of their likely mentions will be (`run` then finds
        them encoded; a mention not foreseen is encoded on its own)."""
        self.scorer.prepare([_masked(q, m) for q, ms in zip(questions, mentions) for m in ms])

    def run(self, question: str, view: GraphView, topic: Node, mention: str = "", limit: int = 6,
            others: Sequence[tuple[Node, str]] = ()) -> list[PlanCandidate]:
        """Best-first plans; `others` are the other entities the question names (see `ZeroShotPlanner.run`).
        Plan scores are the combined scores (scaled by `unnamed_scale` where the question names no path)."""
        lexical = self.enumerate.scores(question, view, topic, mention, others)
        if not lexical:
            return []
        texts = {p: describe(view, p) for p in lexical}
        unique = list(dict.fromkeys(texts.values()))
        probs = dict(zip(unique, self.scorer.run(_masked(question, mention), unique)))
        # what the question asks for ("which club", "who") rules paths out before the model is asked to choose
        typed = {p for p, (_, _, fits) in lexical.items() if fits} or set(lexical)
        named = any(n for _, n, _ in lexical.values())
        weight = self.model_weight(lexical, typed)
        combined = {p: lexical[p][0] + weight * probs[t] for p, t in texts.items() if p in typed}
        ranked = sorted(combined, key=lambda p: (-combined[p], len(p), texts[p]))
        # a round trip the question does not ask for (scored -1 by the zero-shot planner) is no continuation
        open_ = [p for p in ranked if lexical[p][0] > -1.0]
        longer = self._lengthened(open_, texts, probs) if open_ and open_[0] == ranked[0] else None
        if longer is not None:
            ranked.remove(longer)
            ranked.insert(0, longer)
            combined[longer] = combined[ranked[1]] + 1e-6
        # scores comparable across topics, as the zero-shot planner's: a topic whose relations the question
        # does not name ranks below one whose it does
        scale = 1.0 if named else self.unnamed_scale
        return [PlanCandidate(p, texts[p], round(scale * max(combined[p], 1e-6), 6), "graph model")
                for p in ranked[:limit]]


def _masked(question: str, mention: str) -> str:
    if mention:
        i = question.lower().find(mention.lower())
        if i >= 0:
            return mask_mention(question, i, i + len(mention))
    return question
