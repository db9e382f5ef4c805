"""One agent per role; each reads the blackboard in `step` and returns its typed message."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from rdflib.term import Node

from agents.messages import Answer, Blackboard, Extraction, Links, Plans, Retrieval
from agents.replies import missing_reply
from agents.runtime import Runtime
from agents.scope import in_scope, model_properties
from agents.session import Session, person_like
from knowledge.labels import closeness
from reasoning.graphview import GraphView
from reasoning.planner import STOPWORDS, PlanCandidate, lookup_label, plan_fits, steps_for_label
from reasoning.proofs import conditions_hold, proof_holds
from reasoning.ranking import RankingResult, named_others, names_entity
from reasoning.types import Mention, Topic


class Agent:
    """One role of the pipeline. It declares the blackboard fields its `step` reads (besides the turn's inputs:
    question, session, parsed, view) and the one its output fills, and summarises its own input and output
    for the trace. `blocking(bb)` says whether this step may wait on a model, an index or a remote store: the
    Coordinator runs such steps on its thread pool under the timeout, the others inline."""

    name = "agent"
    reads: tuple[str, ...] = ()
    writes = ""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def store(self, bb: Blackboard, out: Any) -> None:
        """Put this step's output on the blackboard."""
        setattr(bb, self.writes, out)

    def summarise_input(self, bb: Blackboard) -> str:
        return bb.question[:120]

    def summarise(self, out: Any) -> str:
        return str(out)

    def blocking(self, bb: Blackboard) -> bool:
        return True

    def view(self, bb: Blackboard) -> GraphView:
        """The adjacency view this turn reads (one consistent view per turn)."""
        return bb.view if bb.view is not None else self.rt.view()

    def step(self, bb: Blackboard) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


class Extractor(Agent):
    """Question model span + path labels (or NER spans), plus longest-match mentions of graph labels."""

    name = "extractor"
    writes = "extraction"

    def summarise(self, out: Extraction) -> str:
        return "; ".join([f"mention '{m.text}' ({m.source} {m.score:.2f})" for m in out.mentions[:3]]
                         + [f"path {lab} ({p:.2f})" for lab, p in out.path_labels[:2]]) or "nothing"

    def blocking(self, bb: Blackboard) -> bool:
        return bb.parsed is None and (self.rt.parser is not None or self.rt.ner is not None)

    def step(self, bb: Blackboard) -> Extraction:
        out = Extraction()
        parsed = bb.parsed
        if parsed is None and self.rt.parser is not None:
            parsed = self.rt.parse([bb.question])[0]
        if parsed is not None:
            out.path_labels = list(parsed.paths)
            if parsed.mention and _names_something(parsed.mention, bb):
                out.mentions.append(Mention(parsed.mention, parsed.start, parsed.end, float(parsed.span_score),
                                            "model"))
        elif self.rt.ner is not None:
            for span in self.rt.tag([bb.question])[0]:
                if _names_something(span.text, bb):
                    out.mentions.append(Mention(span.text, span.start, span.end, float(span.score), "model"))
        spans = list(out.mentions)
        weight = 0.5 if spans else 1.0
        for m in self.rt.detector.run(bb.question, self.view(bb)):
            if any(x.text.lower() == m.text.lower() for x in out.mentions):
                continue
            # a graph label that contains the model's span and more is that span completed ("the godfather" for
            # "godfather" in a lower-cased question): it replaces the span, with the span's confidence
            within = [x for x in spans if _inside(x, m)]
            if within:
                out.mentions = [x for x in out.mentions if x not in within]
                out.mentions.insert(0, replace(m, score=max(x.score for x in within)))
            else:
                out.mentions.append(replace(m, score=m.score * weight))
        if not spans:  # no model span: capitalised names the graph does not hold as written (a typo) go to the
            # linker's fuzzy match too, unless a found label covers them; one that covers found labels ("Frank
            # Albrtson" over "Frank") is the longer name, misspelt: it takes their place and confidence
            for g in _name_guesses(bb.question):
                if any(_inside(g, m) for m in out.mentions):
                    continue
                inside = [m for m in out.mentions if _inside(m, g)]
                out.mentions = [m for m in out.mentions if m not in inside]
                out.mentions.append(replace(g, score=max([g.score] + [m.score for m in inside])))
        return out


def _inside(inner: Mention, outer: Mention) -> bool:
    """Whether the words of `inner`'s span of the question lie within `outer`'s (punctuation at its ends aside:
    a model span "life!" lies within "that's life" found as a label)."""
    words = [i for i, ch in enumerate(inner.text) if ch.isalnum()]
    start, end = (inner.start + words[0], inner.start + words[-1] + 1) if words else (inner.start, inner.end)
    return outer.start <= start and end <= outer.end


def _names_something(text: str, bb: Blackboard) -> bool:
    """A model span can name an entity: it has a letter or digit, and in a conversation it is not a
    pronoun or "that film" (those mean the previous turn's entities)."""
    if not any(ch.isalnum() for ch in text):
        return False
    return not (bb.session is not None and bb.session.history and Session.is_anaphor(text))


_PROPER = re.compile(r"(?<![\w'])(?:[A-Z0-9][\w'&.-]*)(?:\s+(?:[A-Z0-9][\w'&.-]*|of|the|de|and))*(?:\s+[A-Z0-9][\w'&.-]*)?")


def _name_guesses(question: str) -> list[Mention]:
    """Capitalised word runs (not the first word) as last-resort mentions, so a reply can name what is missing."""
    out = []
    for m in _PROPER.finditer(question):
        text = m.group().strip(" ?.!,")
        if m.start() == 0:
            first, _, rest = text.partition(" ")
            if not rest:
                continue
            text = rest if first.lower() in STOPWORDS else text
        if text:
            out.append(Mention(text, question.find(text), question.find(text) + len(text), 0.3, "guess"))
    return out


class Linker(Agent):
    """Mentions -> graph entities (exact label, then the knowledge linker's partial and fuzzy matches); among
    the entities one name stands for, those whose relations the question names are preferred (`SenseChooser`:
    "Dev Patel" of the company graph for "which team does Dev Patel belong to", not the actor); follow-ups
    add the previous turn's entities."""

    name = "linker"
    reads = ("extraction",)
    writes = "links"
    #: candidates kept per mention from the knowledge linker
    per_mention = 3
    #: how many people a first name shared by several ("Tom") is checked against the question
    partial_pool = 200

    def summarise_input(self, bb: Blackboard) -> str:
        return f"{len(bb.extraction.mentions) if bb.extraction else 0} mentions"

    def summarise(self, out: Links) -> str:
        return ", ".join(f"{t.label} ({t.link_score:.2f})" for t in out.topics[:4]) or "no entity"

    def blocking(self, bb: Blackboard) -> bool:
        # on the pool (under the timeout) only when an index is configured; the linker itself matches labels in
        # memory (the runtime gives it no index)
        return self.rt.index is not None

    def step(self, bb: Blackboard) -> Links:
        view = self.view(bb)
        mentions = bb.extraction.mentions if bb.extraction else self.rt.detector.run(bb.question, view)
        links = Links()
        seen: set = set()
        for m in mentions:
            if not any(ch.isalnum() for ch in m.text):
                continue  # punctuation alone would match every punctuation-only label
            nodes = m.nodes or lookup_label(m.text, view)
            # the label as written beats one that only matches case-insensitively ("Hotel" vs the tag "hotel"),
            # and that one a label differing in accents or punctuation ("Bruno" vs "Brüno" for "bruno")
            scored = [(n, closeness(view.label(n), m.text)) for n in nodes]
            if not scored:
                result = self.rt.linker.run(m.text, k=self.per_mention)
                candidates = result.candidates
                if result.ambiguous and result.method == "partial":  # a first name: which of them is meant
                    candidates = [c for c in self.rt.linker.run(m.text, k=self.partial_pool).candidates
                                  if c.method == "partial"]
                scored = [(c.iri, float(c.score)) for c in candidates]
                scored = self.rt.senses.run(bb.question, view, m.text, scored)[: self.per_mention]
            elif len(scored) > 1:
                scored = self.rt.senses.run(bb.question, view, m.text, scored)
            if not scored:
                links.unresolved.append(m.text)
            for node, score in scored:
                if node not in seen:
                    seen.add(node)
                    links.topics.append(Topic(node, view.label(node), m.text, m.score, score))
        if bb.session is not None and bb.session.is_follow_up(bb.question):
            meant = bb.session.referents(bb.question, lambda node: person_like(view, node))
            links.ambiguous = (meant.pronoun, meant.ambiguous) if meant.pronoun and not meant.topics else None
            if links.ambiguous and links.ambiguous[1]:
                # "who does he report to" after three people: it is about one of them (the reply asks which),
                # not about what a word of it also names (the film "The Report" for "report")
                links.topics = [t for t in links.topics if names_entity(t)]
            for t in meant.topics:
                if t.node not in seen:
                    seen.add(t.node)
                    links.topics.append(t)
        links.topics.sort(key=lambda t: -t.span_score * t.link_score)  # stable: mention order breaks ties
        return links


class Retriever(Agent):
    """Facts and passages similar to the question from the vector index, for the trace (skipped when no index
    is configured); answers come from paths only."""

    name = "retriever"
    writes = "retrieval"

    def summarise(self, out: Retrieval) -> str:
        return f"{len(out.facts)} facts, {len(out.passages)} passages" if out.searched else "no index (yet)"

    def blocking(self, bb: Blackboard) -> bool:
        return self.rt.index is not None

    def step(self, bb: Blackboard) -> Retrieval:
        index = self.rt.index
        if index is None:
            return Retrieval()
        out = Retrieval(searched=True)
        for hit in index.search(bb.question, k=10):
            if hit.triple:
                out.facts.append(hit)
            elif hit.kind == "passage" and hit.text:
                out.passages.append(hit.text)  # entity hits are names, not passages: the linker has those
        return out


class Planner(Agent):
    """(topic, path) pairs: the question model's labels mapped through role words, else zero-shot paths."""

    name = "planner"
    reads = ("links", "extraction")
    writes = "plans"
    max_topics = 4
    #: path labels the model gives less than this probability are not tried (the top one always is)
    min_path_prob = 0.05

    def summarise_input(self, bb: Blackboard) -> str:
        return f"{len(bb.links.topics) if bb.links else 0} topics"

    def summarise(self, out: Plans) -> str:
        several = len({t.node for t, _ in out.pairs}) > 1  # then each plan says which topic it starts from
        return ", ".join(f"{p.label} ({p.score:.2f})" + (f" from {t.label}" if several else "")
                         for t, p in out.pairs[:3]) or "no plan"

    def blocking(self, bb: Blackboard) -> bool:
        return self.rt.graph_planner is not None  # a graph model scores paths; else in-memory work

    def step(self, bb: Blackboard) -> Plans:
        view = self.view(bb)
        topics = bb.links.topics[: self.max_topics] if bb.links else []
        labels = bb.extraction.path_labels if bb.extraction else []
        model_plans = []
        for i, (label, prob) in enumerate(labels):
            if i and prob < self.min_path_prob:
                continue
            steps = steps_for_label(label, view)
            if steps:
                model_plans.append(PlanCandidate(steps, label, float(prob), "model"))
        # a question about a relation the model was not trained for ("which films came out in 1994") gets
        # model plans that suit none of its topics, and a topic of another graph loaded beside the model's has
        # none of the model's relations: those are planned by the graph model or zero-shot instead
        if model_plans:
            scope = model_properties(view, self.rt.parser.paths) if self.rt.parser is not None else frozenset()
            known = [t for t in topics if in_scope(view, t.node, scope)]
            if any(plan_fits(view, t.node, plan) for t in known for plan in model_plans):
                pairs = [(topic, p) for topic in known for p in model_plans]
                pairs += self._conditioned(bb, view, known, min(p.score for p in model_plans))
                # the topics of another graph are planned as if there were no model, and the ranker weighs
                # every plan by its topic's confidence: "Tom" of a company graph beside the movie graph is
                # meant in "who does Tom report to", not the film "The Report" that the word "report" names
                return Plans(pairs + self._plan_each(bb, view, [t for t in topics if t not in known]))
        return Plans(self._plan_each(bb, view, topics))

    def _plan_each(self, bb: Blackboard, view: GraphView, topics: list) -> list:
        """(topic, plan) pairs of each of `topics` by the graph model where it fits the topic, else zero-shot
        (the other entities the question names, among all its topics, count as in `ZeroShotPlanner.run`)."""
        graph_planner = self.rt.graph_planner
        everyone = bb.links.topics[: self.max_topics] if bb.links else []
        pairs = []
        for topic in topics:
            others = [(o.node, o.mention) for o in _named_in_question(bb.question, topic, everyone)]
            if graph_planner is not None and graph_planner.fits(view, topic.node):
                found = graph_planner.run(bb.question, view, topic.node, topic.mention, limit=6, others=others)
            else:
                found = self.rt.zero_shot.run(bb.question, view, topic.node, topic.mention, limit=6, others=others)
            pairs += [(topic, p) for p in found]
        return pairs

    def _conditioned(self, bb: Blackboard, view: Any, known: list, floor: float) -> list:
        """A question naming a second entity ("films directed by X and released in 2006") may need a path the
        model ranks low (it read "X ... 2006" as X's films' years): the zero-shot paths of the first topic are
        tried after every model plan (scored below them), and the ranker keeps the first plan that entity
        narrows."""
        others = _named_in_question(bb.question, known[0], bb.links.topics)
        if not others:
            return []
        found = self.rt.zero_shot.run(bb.question, view, known[0].node, known[0].mention, limit=3,
                                      others=[(o.node, o.mention) for o in others])
        return [(known[0], replace(p, score=p.score * floor * 0.5)) for p in found]



def _named_in_question(question: str, topic: Topic, topics: list[Topic]) -> list[Topic]:
    """The other entities (`named_others`) that this question names itself, not an earlier turn's."""
    lowered = question.lower()
    return [o for o in named_others(topic, topics) if o.mention and o.mention.lower() in lowered]

class Reasoner(Agent):
    """Executes plans best-first over the graph (rule-derived triples included) and ranks what they reach."""

    name = "reasoner"
    reads = ("plans",)
    writes = "ranking"

    def summarise_input(self, bb: Blackboard) -> str:
        return f"{len(bb.plans.pairs) if bb.plans else 0} plans"

    def summarise(self, out: RankingResult) -> str:
        if not out.answers:
            return f"no answer: {out.missing or 'no plan held'}"
        return f"{len(out.answers)} answers via {out.plan.label if out.plan else 'no plan'}"

    def blocking(self, bb: Blackboard) -> bool:
        return False  # in-memory work over the adjacency view

    def step(self, bb: Blackboard) -> RankingResult:
        return self.rt.ranker.run(self.view(bb), bb.plans.pairs if bb.plans else [])


class Answerer(Agent):
    """Verifies every answer's proof triples against the graph and writes the reply with the proof."""

    name = "answerer"
    reads = ("ranking", "links", "extraction")
    writes = "answers"  # and the reply
    shown = 10

    def store(self, bb: Blackboard, out: tuple[list[Answer], str]) -> None:
        bb.answers, bb.reply = out

    def summarise_input(self, bb: Blackboard) -> str:
        return f"{len(bb.ranking.answers) if bb.ranking else 0} candidates"

    def summarise(self, out: tuple[list[Answer], str]) -> str:
        return f"{len(out[0])} verified answers"

    def blocking(self, bb: Blackboard) -> bool:
        return False

    def step(self, bb: Blackboard) -> tuple[list[Answer], str]:
        ranking = bb.ranking
        if ranking is None or not ranking.answers:
            return [], self._missing(bb)
        view = self.view(bb)
        topic = ranking.topic.node if ranking.topic is not None else None
        answers: list[Answer] = []
        for a in ranking.answers:
            proofs = [p for p in a.proofs if proof_holds(view, p, topic, a.node)]
            if proofs and conditions_hold(view, a.conditions, a.node):
                answers.append(Answer(a.node, a.label, a.score, proofs, conditions=list(a.conditions)))
        if not answers:
            return [], "I found candidate answers but none of their proofs hold in the graph."
        names = ", ".join(a.label for a in answers[: self.shown])
        more = f" (and {len(answers) - self.shown} more)" if len(answers) > self.shown else ""
        total = len(answers) + max(ranking.reached - len(ranking.answers), 0)  # verified, plus those cut
        count = f"{total}: " if _HOW_MANY.match(bb.question) else ""
        lines = [f"{count}{names}{more}."]
        if ranking.reached > len(ranking.answers):
            lines.append(f"The path reaches {ranking.reached} answers; the first {len(ranking.answers)} are kept "
                         "(max_answers).")
        if ranking.constraints:
            lines.append("Only those tied to " + " and ".join(t.label for t in ranking.constraints) + ".")
        for a in answers[: min(3, self.shown)]:
            chain = "; ".join(f"{view.label(s)} —{view.property_label(p)}→ {view.label(o)}"
                              for s, p, o in (*a.proofs[0], *a.conditions))
            lines.append(f"  {a.label}: {chain}")
        for t, d in list(ranking.explanations.items())[:3]:
            lines.append(f"  ({view.label(t[0])} {view.property_label(t[1])} {view.label(t[2])} by rule {d.rule})")
        if topic is not None and (merged := merged_note(view, topic)):
            lines.append(merged)
        return answers, "\n".join(lines)

    def _missing(self, bb: Blackboard) -> str:
        return missing_reply(bb, self.view(bb))


_HOW_MANY = re.compile(r"\s*how\s+many\b", re.IGNORECASE)


def merged_note(view: GraphView, node: Node) -> str | None:
    """A warning when `node` has several values of a property that is otherwise single-valued (several films
    titled "King Kong" merged into one node): the answers may then mix facts of different things."""
    for p in view.single_valued():
        values = view.out[p].get(node) or []
        if len(values) > 1:
            shown = ", ".join(sorted(view.label(v) for v in values)[:5])
            return (f"  Note: {view.label(node)} has {len(values)} values of {view.property_label(p)} ({shown}); "
                    "the name may stand for several things whose facts are merged here, so the answers may mix them.")
    return None
