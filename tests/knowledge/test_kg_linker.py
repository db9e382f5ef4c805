"""Entity linking: exact, accent/case/punctuation-insensitive, typo-tolerant, ambiguity, fallback hook."""
from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import RDFS, Literal, URIRef

from knowledge.graph import KnowledgeGraph
from knowledge.labels import normalise
from knowledge.linker import EntityLinker
from knowledge.terms import Entity
from knowledge.namespaces import entity_iri


@pytest.fixture()
def linker(movies_file: Path) -> EntityLinker:
    kg = KnowledgeGraph.open()
    kg.load(movies_file)
    return EntityLinker(kg)


def test_normalise() -> None:
    assert normalise("  Grégoire   COLIN! ") == "gregoire colin"
    assert normalise("Jean-Pierre Jeunet") == "jean pierre jeunet"


def test_exact_then_normalised(linker: EntityLinker) -> None:
    res = linker.run("Heat")
    assert res.best.iri == entity_iri("Heat") and res.best.method == "exact" and res.best.score == 1.0
    res = linker.run("Gregoire Colin")
    assert res.best.label == "Grégoire Colin" and res.best.method == "normalised"
    assert linker.run("temuera morrison").best.label == "Temuera Morrison"
    assert linker.run("marlene-dietrich!").best.label == "Marlene Dietrich"


def test_fuzzy_tolerates_typos_and_rejects_noise(linker: EntityLinker) -> None:
    res = linker.run("Temuera Morison")
    assert res.best.label == "Temuera Morrison" and res.best.method == "fuzzy"
    assert res.best.score < 0.95
    assert linker.run("qqqzzzxxx").candidates == []
    assert linker.run("   ").candidates == []


def test_ambiguous_names_return_every_entity(movies_file: Path) -> None:
    kg = KnowledgeGraph.open()
    kg.load(movies_file)
    other = URIRef("http://ex.org/heat-1986")
    kg.add([(other, RDFS.label, Literal("Heat"))])
    res = EntityLinker(kg).run("Heat", k=1)
    assert {c.iri for c in res.candidates} == {entity_iri("Heat"), other}
    assert res.ambiguous


def test_fallback_hook_used_only_when_labels_fail(linker: EntityLinker) -> None:
    calls: list[str] = []

    def fallback(mention: str, k: int) -> list[Entity]:
        calls.append(mention)
        return [Entity(entity_iri("Kismet"), "Kismet", 0.5, "embedding")]

    linker.fallback = fallback
    assert linker.run("Heat").best.method == "exact"
    assert calls == []
    res = linker.run("the 1944 Dieterle picture")
    assert calls == ["the 1944 Dieterle picture"]
    assert res.best.method == "embedding" and res.best.iri == entity_iri("Kismet")


@pytest.mark.slow
def test_demo_graph_links_accented_names() -> None:
    kg = KnowledgeGraph.demo()
    linker = EntityLinker(kg)
    assert linker.run("Gregoire Colin").best.label == "Grégoire Colin"
    assert linker.run("temuera morrison").best.label == "Temuera Morrison"
