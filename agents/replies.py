"""How a turn that found nothing is worded: what was linked, which question words name no relation of the
graph, or which earlier answers a pronoun could mean."""
from __future__ import annotations

import re
from collections.abc import Sequence

from rdflib import RDF

from agents.messages import Blackboard
from agents.session import ANAPHOR as _ANAPHORS
from reasoning.graphview import GraphView
from reasoning.planner import STOPWORDS, word_sim
from reasoning.ranking import NO_PATH

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
#: question words that name no relation whatever the graph (asking, counting, pronouns)
_ASKING = frozenset("many much else all any some one ones get got see know find".split())
#: at least this similar to a property's or role's word counts as naming it (word_sim's shared-stem level)
_NAMES = 0.85


def join_names(names: Sequence[str], last: str = "or") -> str:
    """'A', 'A or B', 'A, B or C'."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {last} " + names[-1]


def kind_of(view: GraphView, node: object) -> str:
    """The class labels of a node, for a reply ("a movie"); empty when untyped."""
    types = view.out.get(RDF.type, {}).get(view.node(node)) or []  # type: ignore[arg-type]
    return ", ".join(sorted({view.label(t) for t in types})[:2])


def unnamed_words(question: str, mentions: Sequence[str], view: GraphView) -> list[str]:
    """Content words of the question (entity mentions taken out) that name no relation or role of the graph."""
    text = question
    for m in sorted(mentions, key=len, reverse=True):
        text = re.sub(re.escape(m), " ", text, flags=re.IGNORECASE)
    # capitalised words after the first are names the linker did not find, not relation words
    first, _, rest = text.strip().partition(" ")
    text = (first + " " + " ".join(w for w in rest.split() if not w[:1].isupper())).lower()
    vocab: set[str] = set()
    for p in view.fact_properties():
        vocab.update(w for w in _WORD.findall(view.property_label(p).lower()))
        for roles in view.roles(p):
            vocab.update(w for r in roles for w in _WORD.findall(r.lower()))
    out = []
    for w in _WORD.findall(text):
        if w in STOPWORDS or w in _ASKING or len(w) < 3 or w in out:
            continue
        if not any(word_sim(w, v) >= _NAMES for v in vocab):
            out.append(w)
    return out


def missing_reply(bb: Blackboard, view: GraphView) -> str:
    """The reply when no answer was found, saying what the question was taken to be about and what is missing."""
    links = bb.links
    if links is not None and links.ambiguous and not links.topics:
        pronoun, names = links.ambiguous
        if names:
            return (f"I cannot tell whom '{pronoun}' means: the last answer named {join_names(names, 'and')}. "
                    "Ask again with one of these names.")
        if not (bb.extraction and bb.extraction.mentions):
            return (f"I cannot tell what '{pronoun}' means here: nothing earlier in this conversation fits it. "
                    "Ask again with a name.")
    if links is None or not links.topics:
        unresolved = links.unresolved if links else []
        mentions = unresolved or ([m.text for m in bb.extraction.mentions] if bb.extraction else [])
        if mentions:
            return f"I found no entity named '{mentions[0]}' in the graph."
        return "I found no entity of the graph in the question."
    topic = (bb.ranking.topic if bb.ranking is not None and bb.ranking.topic is not None else links.topics[0])
    same = [t for t in links.topics if t.mention == topic.mention][:3] or [topic]
    named = join_names([t.label + (f" ({kind})" if (kind := kind_of(view, t.node)) else "") for t in same])
    took = (f"I took '{topic.mention}' to be {named}." if topic.mention and not topic.mention.startswith("(")
            else f"I took the question to be about {named}.")
    why = bb.ranking.missing if bb.ranking is not None and bb.ranking.missing else \
        f"I could not plan a path from {topic.label}"
    mentions = [t.mention for t in links.topics] + ([m.text for m in bb.extraction.mentions] if bb.extraction else [])
    mentions += [m.group(0) for m in _ANAPHORS.finditer(bb.question)]
    # a plan that was tried and failed says more ("Kismet has no 'has genre' facts") than the words
    words = unnamed_words(bb.question, mentions, view) if why.startswith(NO_PATH) else []
    if words:
        quoted = join_names([f"'{w}'" for w in words])
        names = sorted({view.property_label(p) for p in view.fact_properties()})
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        return (f"No answer: {took} The graph has no relation named like {quoted}; its relations are {shown}.")
    return f"No answer: {took} {why[0].upper()}{why[1:]}."
