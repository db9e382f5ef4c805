"""Questions written from a relation path, for training a question model from a graph alone.

Generic English for any domain: a path's hops are phrased from their relation names (as written, as lemmas,
without the type word they end with) and answer-type words, nested hop by hop ("the club of X" -> "which country
is the club of X in"); round trips ("the same director as X"), a second named entity ("... and is in Y") and
entity names as people type them (any case, with or without underscores, small typos) are mixed in.
The topic's span is returned so the trainer can mask it as the run-time linker's mention is masked."""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import simplemma

from finetune.pathtext import Hop, name_words, type_word

SLOT = "\x00"  # where the topic entity's name goes
_AUX = frozenset("has have had is are was were be being been does do did".split())
_PLACES = frozenset("country city place location town region nation state birthplace venue".split())
_TIMES = frozenset("year date time day month decade".split())
#: general English for two kinds of relation, by the words of their names: a classification (asked as "what kind
#: of ...") and descriptive keywords (asked as "describe ...", "what is ... about")
_CLASSES = frozenset("genre genres type types kind kinds category categories class classes style styles sort "
                     "variety varieties".split())
_CLASS_NOUNS = ("kind", "type", "sort", "category", "style", "class")
_KEYWORDS = frozenset("tag tags keyword keywords label labels topic topics subject subjects theme themes "
                      "descriptor descriptors".split())
_KEYWORD_NOUNS = ("terms", "keywords", "themes", "subjects", "topics", "labels")
_PREPOSITIONS = frozenset("in at on from for of".split())
_NOT_A_VERB = frozenset("by of in on at to for from with".split())
_PEOPLE = frozenset("person people player actor director writer author artist member spouse parent child "
                    "employee manager founder creator coach producer singer composer".split())


@dataclass(frozen=True)
class Synthetic:
    """A synthesised question and the character span of its topic entity's name."""

    text: str
    start: int
    end: int


class _Words:
    """Ways to say one hop's relation."""

    def __init__(self, hop: Hop, rng: random.Random) -> None:
        self.hop, self.rng = hop, rng
        words = name_words(hop.relation) or [hop.relation.lower()]
        if words[-1] == "inverse" and len(words) > 1:
            words = words[:-1]  # an explicit inverse relation ("plays_in_club_inverse") reads as its base
        self.full = words
        core = [w for w in words if w != hop.target] if hop.target else list(words)
        while core and core[0] in _AUX:
            core = core[1:]
        self.core = core or words
        named = set(words) | {hop.target}
        # what kind of relation it is, said in general English (followed forwards only)
        self.concept = "" if hop.inverse else ("class" if named & _CLASSES else "keywords" if named & _KEYWORDS else "")

    def source(self, plural: bool = False) -> str:
        """A word for what the hop starts from ("film", "one")."""
        s = self.hop.source or self.rng.choice(["one", "thing"])
        return s + "s" if plural and not s.endswith("s") else s

    def asked(self, inner: str) -> str:
        """The relation asked for in general English ("what kind of film is X", "describe X", "in which country
        is X"), or "" when the relation is of no such kind."""
        r = self.rng
        if self.concept == "class":
            n = r.choice(_CLASS_NOUNS)
            return r.choice([f"what {n} of {self.source()} is {inner}", f"what {n} is {inner}",
                             f"{inner} is what {n} of {self.source()}", f"which {n} does {inner} belong to",
                             f"what {_plural(n)} of {self.source(True)} are {inner}", f"how would you classify {inner}"])
        if self.concept == "keywords":
            n = r.choice(_KEYWORD_NOUNS)
            return r.choice([f"describe {inner}", f"how would you describe {inner}", f"what is {inner} about",
                             f"what are {inner} about", f"which {n} describe {inner}", f"{inner} is about what",
                             f"how is {inner} described", f"what {n} go with {inner}", f"what {n} fit {inner}",
                             f"what describes {inner}"])
        words = self.full
        if not self.hop.inverse and len(words) >= 2 and words[-2] in _PREPOSITIONS and self.hop.target:
            # a relation named by a preposition and what it reaches ("in language", "plays in club")
            verbs = [simplemma.lemmatize(v, lang="en") for v in words[:-2] if v not in _AUX]
            prep, what = words[-2], r.choice(["what", "which"])
            if verbs:
                return r.choice([f"{prep} {what} {words[-1]} does {inner} {' '.join(verbs)}",
                                 f"{inner} {' '.join(words[:-2])} {prep} {what} {words[-1]}"])
            return r.choice([f"{prep} {what} {words[-1]} is {inner}", f"{inner} is {prep} {what} {words[-1]}"])
        return ""

    def verb(self) -> str:
        """The relation as written or lemmatised ("plays in club", "play in club", "plays in")."""
        words = list(self.full)
        if self.hop.target and words[-1] == self.hop.target and len(words) > 1 and self.rng.random() < 0.5:
            words = words[:-1]
        if self.rng.random() < 0.5:
            words = [simplemma.lemmatize(w, lang="en") if w not in _AUX else w for w in words]
        return " ".join(words)

    def passive(self) -> str:
        """An inverse hop's relation read backwards: its words without the noun it ends with, plus "by"
        ("starred actors" -> "starred by", "directed by" stays)."""
        words = list(self.full)
        if words[-1] in _NOT_A_VERB:
            return " ".join(words)
        if len(words) > 1 and type_word(" ".join(words)):
            words = words[:-1]
        return " ".join(words + ["by"])

    def noun(self) -> str:
        """A noun for what the hop reaches: the type word, else the relation's core words."""
        if self.hop.target and self.rng.random() < 0.7:
            return self.hop.target
        return " ".join(self.core)

    def kind(self, plural: bool = False) -> str:
        """An answer-type word ("club", "people", "things")."""
        t = self.hop.target
        if t:
            return t + "s" if plural and not t.endswith("s") else t
        return self.rng.choice(["ones", "things", "entities"] if plural else ["one", "thing", "entity"])

    def wh(self) -> str:
        t = self.hop.target
        r = self.rng.random()
        if t in _PLACES and r < 0.3:
            return "where"
        if t in _TIMES and r < 0.3:
            return "when"
        if t and r < 0.75:
            return self.rng.choice(["which", "what"]) + " " + self.kind(self.rng.random() < 0.3)
        if t in _PEOPLE or (not t and r < 0.85):
            return self.rng.choice(["who", "what", "which"])
        return self.rng.choice(["what", "which"])


def _plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    return word + "es" if word.endswith(("s", "x", "ch", "sh")) else word + "s"


def _np(hops: Sequence[_Words], i: int, rng: random.Random) -> str:
    """A noun phrase for what the path's first i+1 hops reach from the topic (SLOT)."""
    if i < 0:
        return SLOT
    w = hops[i]
    if i >= 1 and _is_back(hops, i) and rng.random() < 0.6:  # else nested: "the films by the director of X"
        base, turn = _np(hops, i - 2, rng), hops[i - 1]
        return rng.choice([f"the {w.kind(True)} with the same {turn.noun()} as {base}",
                           f"{w.kind(True)} that share {turn.noun()} with {base}",
                           f"the other {w.kind(True)} that {turn.verb()} the same {turn.noun()} as {base}",
                           f"{w.kind(True)} having the same {turn.noun()} as {base}"])
    inner = _np(hops, i - 1, rng)
    if not w.hop.inverse:
        forms = [f"the {' '.join(w.full)} of {inner}", f"the {w.noun()} of {inner}",
                 f"the {w.kind()} that {inner} {w.verb()}", f"{inner}'s {w.noun()}", f"the {w.kind()} {inner} {w.verb()}"]
        if i == 0:  # the name as a modifier: "the Casablanca director"
            forms += [f"the {inner} {w.noun()}", f"{inner} {w.kind(True)}"]
        if w.concept:
            forms += [f"the {rng.choice(_CLASS_NOUNS if w.concept == 'class' else _KEYWORD_NOUNS)} of {inner}"]
        return rng.choice(forms)
    forms = [f"the {w.kind(True)} that {w.verb()} {inner}", f"{w.kind(True)} {w.verb()} {inner}",
             f"the {w.kind()} which {w.verb()} {inner}", f"those {w.verb()} {inner}",
             f"the {w.kind(True)} with {w.verb()} {inner}", f"{w.kind(True)} {w.passive()} {inner}"]
    if i == 0:  # "Ada Lovelace projects"
        forms += [f"{inner} {w.kind(True)}", f"the {inner} {w.kind(True)}"]
    return rng.choice(forms)


def _is_back(hops: Sequence[_Words], i: int) -> bool:
    a, b = hops[i - 1].hop, hops[i].hop
    return _base(a) == _base(b) and _flip(a) != _flip(b)


def _base(h: Hop) -> str:
    words = name_words(h.relation)
    return " ".join(words[:-1] if words and words[-1] == "inverse" else words)


def _flip(h: Hop) -> bool:
    words = name_words(h.relation)
    return h.inverse != bool(words and words[-1] == "inverse")


def _question(hops: Sequence[_Words], rng: random.Random) -> str:
    """The question for the last hop, asked about the noun phrase of the hops before it."""
    last = len(hops) - 1
    w = hops[last]
    if last >= 1 and _is_back(hops, last) and rng.random() < 0.6:  # else nested, as any other hop
        base, turn = _np(hops, last - 2, rng), hops[last - 1]
        return rng.choice([f"{w.wh()} share the same {turn.noun()} as {base}",
                           f"{w.wh()} has the same {turn.noun()} as {base}",
                           f"who else {turn.verb()} the same {turn.noun()} as {base}",
                           f"which other {w.kind(True)} {turn.verb()} the same {turn.noun()} as {base}",
                           f"list {w.kind(True)} with the same {turn.noun()} as {base}"])
    inner = _np(hops, last - 1, rng)
    asked = w.asked(inner) if rng.random() < 0.5 else ""
    if asked:
        return asked
    if not w.hop.inverse:
        return rng.choice([f"what is the {' '.join(w.full)} of {inner}", f"what is {inner}'s {w.noun()}",
                           f"{w.wh()} does {inner} {w.verb()}", f"{inner} {w.verb()} {w.wh()}",
                           f"tell me the {w.noun()} of {inner}", f"the {w.noun()} of {inner} is what",
                           f"{w.wh()} is {inner} {w.verb()}", f"name the {w.noun()} of {inner}",
                           f"{' '.join(w.full)} of {inner}", f"{inner} {' '.join(w.full)}",
                           f"give me {inner}'s {w.noun()}", f"{w.wh()} is the {w.noun()} of {inner}"])
    return rng.choice([f"{w.wh()} {w.verb()} {inner}", f"{w.wh()} {w.verb()} {inner}",
                       f"{inner} is the {' '.join(w.core)} of {w.wh()}", f"list the {w.kind(True)} that {w.verb()} {inner}",
                       f"{w.wh()} has {w.verb()} {inner}", f"name {w.kind(True)} {w.verb()} {inner}",
                       f"which {w.kind(True)} {w.verb()} {inner}", f"{w.wh()} are the {w.kind(True)} that {w.verb()} {inner}",
                       f"{w.verb()} {inner}", f"show {w.kind(True)} with {' '.join(w.core)} {inner}",
                       f"which {w.kind(True)} are {w.passive()} {inner}", f"{w.kind(True)} {w.passive()} {inner}"])


def _condition(hop: Hop, other: str, rng: random.Random) -> str:
    """A clause tying the answers to a second named entity ("and is in country Y")."""
    w = _Words(hop, rng)
    if hop.inverse:
        return rng.choice([f"and {other} {w.verb()} it", f"where {other} {w.verb()} them"])
    return rng.choice([f"and {w.verb()} {other}", f"that {w.verb()} {other}", f"with {w.noun()} {other}",
                       f"and whose {w.noun()} is {other}", f"from {other}", f"in {other}"])


def typed_name(name: str, rng: random.Random, typo: float = 0.1) -> str:
    """A graph name as people type it: underscores or not, any case, sometimes with a one-letter typo."""
    text = name
    if "_" in text and rng.random() < 0.6:
        text = text.replace("_", " ")
    r = rng.random()
    if r < 0.3:
        text = text.lower()
    elif r < 0.45:
        text = " ".join(p[:1].upper() + p[1:].lower() for p in text.split(" "))
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) >= 5 and rng.random() < typo:
        i = rng.choice(letters[1:])
        op = rng.randrange(3)
        if op == 0:
            text = text[:i] + text[i + 1:]
        elif op == 1 and i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        else:
            text = text[:i] + rng.choice("aeiourstln") + text[i + 1:]
    return text


def synthesise(hops: Sequence[Hop], topic: str, rng: random.Random, condition: tuple[Hop, str] | None = None,
               typo: float = 0.1) -> Synthetic:
    """One question asking for the end of `hops` from the entity named `topic`, optionally narrowed by
    `condition` (a hop from the answers to a second entity, and that entity's name)."""
    words = [_Words(h, rng) for h in hops]
    text = _question(words, rng)
    if condition is not None:
        text += " " + _condition(condition[0], typed_name(condition[1], rng, typo), rng)
    text = " ".join(text.split())
    end = rng.choice(["?", "?", " ?", "", "."])
    if rng.random() < 0.5:
        text = text[0].upper() + text[1:] if text[0] != SLOT else text
    name = typed_name(topic, rng, typo)
    start = text.index(SLOT)
    text = text[:start] + name + text[start + 1:] + end
    return Synthetic(text, start, start + len(name))
