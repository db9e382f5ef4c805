"""Reading relation names whatever their style, for zero-shot planning.

A property's words come from its label and IRI local name split at underscores, punctuation and camelCase
(`plays_in_club`, `placeOfBirth`; of Freebase's `domain.type.property` only the property: `film.film.genre` is
"genre", its type the subject's role); a final "inverse" / "reverse"
(or a leading "inverse of") marks a relation read backwards. Two properties holding the same facts in opposite
directions (`plays_in_club` / `plays_in_club_inverse`, Freebase's paired properties) are found from the data
and read as one relation, so a path does not count them as two hops or miss a round trip through them.
Role words (what the subject and object of a property are: "club", "country") come from kgo annotations, else
from the name (its last word; a leading active verb's lemma for the subject, "plays_in_club" -> "play", which
"player" matches; a Freebase name's type and property segments), else from the data: a side whose
nodes are mostly on a named side of another property takes that side's roles. Everything is memoised on the view.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import simplemma
from rdflib import URIRef
from rdflib.term import Node

from knowledge.labels import normalise, split_camel
from reasoning.graphview import GraphView, iri_tail, role_key

#: words that mark a property as another one read backwards
INVERSE_WORDS = frozenset({"inverse", "reverse", "inv", "rev"})
#: words that say nothing about a role: a name ending in one has no object role from its name
_FUNCTION_WORDS = frozenset("a an the of in on at to for by with from and or is are was were be has have had "
                            "as into onto about s".split())
#: words that, after a relation name's first word ending in "s", show that word is a verb ("plays_in", "works_for")
_VERB_PARTICLES = frozenset("in for at on to from with into".split())
#: Freebase-style segment separators in a local name (`film.film.directed_by`, `__film__cinematographer__film`)
_SEGMENTS = re.compile(r"__+|\.")


@dataclass(frozen=True)
class RelationName:
    """How a property's name reads: its words (inverse marker taken out), whether it is marked as read
    backwards, and the role words of its subject and object that its name gives."""

    words: tuple[str, ...]
    inverse: bool
    subject: tuple[str, ...]
    object: tuple[str, ...]


def relation_name(view: GraphView, p: URIRef) -> RelationName:
    """The words and name roles of one property (memoised on the view)."""
    key = ("relation_name", p)
    found = view.memo.get(key)
    if found is None:
        found = view.memo[key] = _read_name(view.property_label(p), iri_tail(p))
    return found  # type: ignore[return-value]


def _words(text: str) -> list[str]:
    return normalise(split_camel(text)).split()


def _read_name(label: str, tail: str) -> RelationName:
    segments = [s for s in _SEGMENTS.split(tail) if _words(s)]
    if len(segments) >= 3 and _words(label) == _words(tail):  # the label is the name itself, not a given one
        # domain / type / property: the relation is the property (`film.film.genre` is "genre"); the type is
        # its subject's role, which would otherwise name every `music.artist.*` relation when "artist" is asked
        label = " ".join(_words(segments[-1]))
    words = list(dict.fromkeys(_words(label) + (_words(tail) if len(segments) < 3 else [])))
    own = _words(tail) or _words(label)
    inverse = False
    if own and own[-1] in INVERSE_WORDS:
        inverse, own = True, own[:-1]
    elif len(own) > 2 and own[0] in INVERSE_WORDS and own[1] == "of":
        inverse, own = True, own[2:]
    if inverse:
        words = [w for w in words if w not in INVERSE_WORDS and w != "of"] + [w for w in own if w == "of"]
        words = list(dict.fromkeys(words))
    subject: tuple[str, ...] = ()
    if len(segments) >= 3:  # domain / type / property: the type names the subject
        subject = (role_key(_words(segments[-2])[-1]),)
        last = _words(segments[-1])
    else:
        last = own
    obj = (role_key(last[-1]),) if last and last[-1] not in _FUNCTION_WORDS else ()
    if not subject and len(own) > 1 and own[0] not in _FUNCTION_WORDS and own[1] in _VERB_PARTICLES \
            and own[0].endswith("s") and not own[0].endswith("ss") and "by" not in own:
        # a present-tense verb first ("plays_in_club", "works_for"; not "based_in"): its subject is who does it
        # ("play", which "player" matches)
        subject = (role_key(simplemma.lemmatize(own[0], lang="en")),)
    if inverse:
        subject, obj = obj, subject
    return RelationName(tuple(words), inverse, subject, obj)


def inverse_pairs(view: GraphView, sample: int = 8) -> dict[URIRef, URIRef]:
    """Property -> the property holding the same facts backwards, for both of each pair (from the data: every
    sampled fact of each is in the other reversed)."""
    key = ("inverse_pairs",)
    found = view.memo.get(key)
    if found is None:
        props = view.fact_properties()
        facts = {p: _facts_sample(view, p, sample) for p in props}
        pairs: dict[URIRef, URIRef] = {}
        for p in props:
            if p in pairs or not facts[p]:
                continue
            for q in props:
                if q != p and q not in pairs and facts[q] and all(view.has(o, q, s) for s, o in facts[p]) \
                        and all(view.has(o, p, s) for s, o in facts[q]):
                    pairs[p], pairs[q] = q, p
                    break
        found = view.memo[key] = pairs
    return found  # type: ignore[return-value]


def _facts_sample(view: GraphView, p: URIRef, n: int) -> list[tuple[Node, Node]]:
    """The facts (subject, object) of a property about up to `n` sampled subjects, up to `n` objects each (in
    sorted order: the same sample whatever order the graph lists its triples in)."""
    out = []
    for s in view.subjects_sample(p, n):
        out.extend((s, o) for o in sorted_neighbours(view, p, False, s)[:n])
    return out


def _side_sample(view: GraphView, p: URIRef, side: str, n: int) -> list[Node]:
    """Up to `n` subjects ("s") or objects ("o") of a property."""
    if side == "s":
        return view.subjects_sample(p, n)
    return list(dict.fromkeys(objs[0] for s in view.subjects_sample(p, n) if (objs := sorted_neighbours(view, p, False, s))))


def canonical(view: GraphView, p: URIRef, inverse: bool) -> tuple[URIRef, bool]:
    """One name for a hop and the hops equal to it: a property that another holds backwards (or that its name
    marks as read backwards) becomes that other property (or itself) in the opposite direction."""
    partner = inverse_pairs(view).get(p)
    if partner is not None:
        mine, theirs = relation_name(view, p), relation_name(view, partner)
        if (mine.inverse, str(p)) > (theirs.inverse, str(partner)):
            return partner, not inverse
        return p, inverse
    if relation_name(view, p).inverse:
        return p, not inverse
    return p, inverse


def name_words(view: GraphView, p: URIRef) -> tuple[str, ...]:
    """Words naming a property: its own and those of the property holding its facts backwards, plus them
    joined ("directed by" -> directed, by, directedby)."""
    key = ("name_words", p)
    found = view.memo.get(key)
    if found is None:
        words = list(relation_name(view, p).words)
        partner = inverse_pairs(view).get(p)
        if partner is not None:
            words += relation_name(view, partner).words
        joined = "".join(w for w in relation_name(view, p).words if w not in ("has", "is", "in", "by", "of"))
        found = view.memo[key] = tuple(dict.fromkeys(words + ([joined] if joined else [])))
    return found  # type: ignore[return-value]


def roles(view: GraphView, p: URIRef) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(subject role keys, object role keys): kgo annotations, else read from names and data."""
    subj, obj = view.roles(p)
    if subj or obj:
        return subj, obj
    return _inferred_roles(view).get(p, ((), ()))


def _inferred_roles(view: GraphView, sample: int = 10) -> dict[URIRef, tuple[tuple[str, ...], tuple[str, ...]]]:
    key = ("inferred_roles",)
    found = view.memo.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    pairs = inverse_pairs(view)
    props = [p for p in view.fact_properties() if not any(view.roles(p))]
    named: dict[tuple[URIRef, str], set[str]] = {}
    for p in props:
        name = relation_name(view, p)
        named.setdefault((p, "s"), set()).update(name.subject)
        named.setdefault((p, "o"), set()).update(name.object)
        if p in pairs:
            other = relation_name(view, pairs[p])
            named[p, "s"].update(other.object)
            named[p, "o"].update(other.subject)
    known = {k: frozenset(v) for k, v in named.items() if v}
    out: dict[URIRef, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for p in props:
        sides = []
        for side in ("s", "o"):
            got = set(named[p, side])
            if not got:
                nodes = _side_sample(view, p, side, sample)
                for (q, qside), words in known.items():
                    members = view.out[q] if qside == "s" else view.inc[q]
                    if nodes and sum(n in members for n in nodes) * 2 >= len(nodes):
                        got.update(words)
            sides.append(tuple(sorted(got)))
        out[p] = (sides[0], sides[1])
    view.memo[key] = out
    return out


def sorted_neighbours(view: GraphView, p: URIRef, inverse: bool, node: Node) -> list[Node]:
    """A node's neighbours over one hop in a fixed order (by IRI/text), whatever order the store gave them:
    paths sampled through them are the same in every process (long lists memoised on the view)."""
    table = view.inc if inverse else view.out
    found = table[p].get(node)
    if not found or len(found) == 1:
        return found or []
    if len(found) <= 64:
        return sorted(found, key=str)
    key = ("sorted_neighbours", p, inverse, node)
    done = view.memo.get(key)
    if done is None:
        done = view.memo[key] = sorted(found, key=str)
    return done  # type: ignore[return-value]
