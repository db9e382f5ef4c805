"""Relation names as words, whatever their style, and the text of a relation path that the pair model reads.

Training (questions synthesised from a graph) and run time (paths enumerated around a linked topic) both go
through `path_text`, so a model sees the same wording for the same path."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_ALNUM = re.compile(r"[^0-9a-zA-Z]+")
#: words that end a relation name without naming what it reaches ("plays_in_club_inverse", "member_of")
_NOT_A_TYPE = frozenset("inverse of by in on at to for from with is has have was the a an and or as".split())


def name_words(name: str) -> list[str]:
    """Lower-cased words of a relation or entity name in any naming style: an IRI's local name, snake_case,
    camelCase, `__film__cinematographer__film`, percent-encoding ("directedBy" -> directed, by)."""
    text = unquote(name.strip())
    if "/" in text or "#" in text:
        text = re.split(r"[/#]", text.rstrip("/#"))[-1] or text
    words: list[str] = []
    for w in _NON_ALNUM.split(_CAMEL.sub(" ", text)):
        if w and (not words or words[-1] != w.lower()):
            words.append(w.lower())
    return words


def type_word(relation: str) -> str:
    """What the object of a relation probably is, read off the name's last word ("plays_in_club" -> "club",
    "directed_by" -> ""): used as an answer-type word when the graph declares no role or class."""
    words = name_words(relation)
    if len(words) < 2 or words[-1] in _NOT_A_TYPE or words[-1].isdigit():
        return ""
    return words[-1]


@dataclass(frozen=True)
class Hop:
    """One step of a path as words: the relation's name, whether it is followed backwards, and words for what
    it reaches and what it starts from ("" when unknown)."""

    relation: str
    inverse: bool = False
    target: str = ""
    source: str = ""  # a word for what it starts from (not part of the path text)


def hop_text(hop: Hop) -> str:
    words = " ".join(name_words(hop.relation)) or hop.relation.lower()
    text = f"inverse of {words}" if hop.inverse else words
    return f"{text} ({hop.target})" if hop.target else text


def path_text(hops: Sequence[Hop]) -> str:
    """"plays in club / is in country (country)": what the pair model compares a question with."""
    return " / ".join(hop_text(h) for h in hops)
