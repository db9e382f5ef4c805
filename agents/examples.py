"""Example questions for a graph: one per frequent relation, worded from its label and role words, and kept
only when the pipeline answers it with the fact it was made from (so every example shown works)."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from rdflib import Literal

from agents.session import person_like

#: words a relation label may start with that a question leaves out ("has genre" -> "genre")
_LEADING = ("has ", "in ", "is ", "hasa ")
#: the last words of "based in"-like relation labels: the question ends with the label
_PREPOSITIONS = frozenset("in on at from to for with into under".split())


def candidate_question(label: str, subject: str, obj: str, subject_role: str, object_role: str, who: bool,
                       several: bool) -> str | None:
    """A question whose answer is `obj` (or, for "... by" / verb relations, `subject`), or None."""
    words = label.split()
    if not words:
        return None
    if label.endswith(" by") and subject_role:  # "directed by": which movies were directed by X
        return f"which {subject_role}s were {label} {obj}"
    if label.endswith(" of") and len(words) >= 2:  # "member of": who is a member of X
        return f"who is a {label} {obj}" if who else None
    if len(words) >= 2 and words[0].endswith("s") and not words[0].endswith("ss") and words[0] != "has":
        return f"who {label} {obj}" if who else None  # "works on": who works on X
    if len(words) >= 2 and words[0].endswith("ed") and words[-1] in _PREPOSITIONS:  # "based in": what is X based in
        return f"{'who' if who else 'what'} {'are' if several else 'is'} {subject} {label}"
    noun = label
    for lead in _LEADING:
        noun = noun.removeprefix(lead)
    if object_role and noun.split()[0].endswith("ed"):  # "starred actors": the actors
        noun = object_role
    wh = "who" if who else "what"
    return f"{wh} {'are' if several else 'is'} the {noun}{'s' if several and not noun.endswith('s') else ''} of " \
           f"{subject}"


def example_questions(coordinator: Any, n: int = 4, relations: Collection[Any] | None = None) -> list[str]:
    """Up to `n` questions the coordinator answers right (the answer they were made from, with a proof), one per
    relation, most used relations first; `relations`: only these property IRIs (what a load brought)."""
    graph = coordinator.graph
    view = coordinator.runtime.view()
    out: list[str] = []
    for info in sorted(graph.properties(), key=lambda i: -i.count):
        if relations is not None and info.iri not in relations:
            continue
        forward = view.out.get(view.node(info.iri))
        if not forward or info.iri not in view.fact_properties():
            continue
        # a subject with a name, one to three values, and a named first value
        for s, objects in list(forward.items())[:200]:
            o = objects[0]
            if s in view.labels and 1 <= len(objects) <= 3 and (isinstance(o, Literal) or o in view.labels):
                break
        else:
            continue
        subject_is_person = person_like(view, s)
        label = view.property_label(info.iri)
        by_subject = label.endswith(" by") or label.endswith(" of") or (
            len(label.split()) >= 2 and label.split()[0].endswith("s") and label.split()[0] != "has")
        question = candidate_question(label, view.label(s), view.label(o), (info.subject_roles or [""])[0],
                                      (info.object_roles or [""])[0],
                                      bool(subject_is_person if by_subject else person_like(view, o)),
                                      len(objects) > 1)
        if question is None:
            continue
        expected = s if by_subject else o
        result = coordinator.run(question)
        if any(a.iri == expected and a.proofs for a in result.answers):
            out.append(question)
            if len(out) >= n:
                break
    return out


def still_answered(coordinator: Any, questions: Sequence[str]) -> list[str]:
    """The questions the coordinator still answers with a proof (earlier examples, after the graph changed)."""
    return [q for q in questions if any(a.proofs for a in coordinator.run(q).answers)]
