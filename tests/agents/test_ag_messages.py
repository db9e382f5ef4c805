"""The one serialisation of a finished turn: proofs, conditions and derivations, as IRIs or as labels."""
from __future__ import annotations

from rdflib import URIRef

from agents.messages import Answer, StepRecord, TurnResult
from reasoning.provenance import Derivation

EX = "http://example.org/"
FILM, DIRECTED, TOM, STARRED = (URIRef(EX + n) for n in ("Kismet", "directed_by", "Tom", "starred"))
DIETERLE = URIRef(EX + "William_Dieterle")


def _turn() -> TurnResult:
    answer = Answer(DIETERLE, "William Dieterle", 0.9, [((FILM, DIRECTED, DIETERLE),)],
                    conditions=[(FILM, STARRED, TOM)])
    derived = {(FILM, DIRECTED, DIETERLE): Derivation("rule1", ((FILM, STARRED, TOM),))}
    return TurnResult("who directed Kismet", [answer], "William Dieterle", True,
                      [StepRecord("Linker", "Kismet", "1 topic", 1.5, "ok")], derivations=derived)


def test_turn_to_dict_keeps_conditions_and_trace() -> None:
    data = _turn().to_dict()
    answer = data["answers"][0]
    assert answer["proofs"] == [[[EX + "Kismet", EX + "directed_by", EX + "William_Dieterle"]]]
    assert answer["conditions"] == [[EX + "Kismet", EX + "starred", EX + "Tom"]]
    assert data["derivations"][0]["premises"] == [[EX + "Kismet", EX + "starred", EX + "Tom"]]
    assert data["trace"] == [{"agent": "Linker", "input_summary": "Kismet", "output_summary": "1 topic", "ms": 1.5,
                              "status": "ok"}]


def test_turn_to_dict_names_terms_with_the_given_labels() -> None:
    names = {FILM: "Kismet", DIRECTED: "directed by", DIETERLE: "William Dieterle", STARRED: "starred", TOM: "Tom"}
    answer = _turn().to_dict(names.__getitem__)["answers"][0]
    assert answer["proofs"] == [[["Kismet", "directed by", "William Dieterle"]]]
    assert answer["conditions"] == [["Kismet", "starred", "Tom"]]
    assert answer["iri"] == EX + "William_Dieterle"
