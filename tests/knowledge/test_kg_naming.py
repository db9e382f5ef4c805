"""Linking names written in any convention (underscores, ALL-CAPS surnames, camelCase, IRI local names,
percent-encoding, accents), from questions in any case, with or without underscores, with typos or partial names."""
from __future__ import annotations

import pytest
import rdflib
from rdflib import RDFS, Literal, URIRef

from knowledge.labels import LabelIndex, closeness, name_keys, normalise, word_spans
from knowledge.terms import iri_tail
from knowledge.linker import EntityLinker
from reasoning.graphview import GraphView
from reasoning.planner import EntityDetector, lookup_label

EX = "http://example.org/people/"
LABELLED = {"alan": "Alan_PULIDO", "maria": "maria_victoria_al_pozzo_della_cisterna", "ann": "Ann Lee",
            "camel": "JohnSmithJr", "accent": "Zoë Ångström", "lamp": "Lamp"}


def people_graph() -> rdflib.Graph:
    g = rdflib.Graph()
    knows = URIRef(EX + "knows")
    for key, label in LABELLED.items():
        g.add((URIRef(EX + key), RDFS.label, Literal(label)))
        g.add((URIRef(EX + key), knows, URIRef(EX + "alan")))
    # no label at all: found by the IRI's percent-decoded local name
    g.add((URIRef(EX + "Jos%C3%A9_Mar%C3%ADa"), knows, URIRef(EX + "alan")))
    g.add((URIRef(EX + "bobTheBuilder"), knows, URIRef(EX + "ann")))
    return g


class _KG:
    """The slice of KnowledgeGraph the linker reads."""

    def __init__(self, g: rdflib.Graph) -> None:
        self._labels = LabelIndex.from_graph(g)

    def labels(self) -> LabelIndex:
        return self._labels


@pytest.mark.parametrize("name, key", [
    ("Alan_PULIDO", "alan pulido"), ("alan pulido", "alan pulido"), ("ALAN-PULIDO", "alan pulido"),
    ("maria_victoria_al_pozzo_della_cisterna", "maria victoria al pozzo della cisterna"),
    ("Zoë Ångström", "zoe angstrom"), ("  Grégoire   COLIN! ", "gregoire colin"),
])
def test_normalise_reads_every_convention_alike(name: str, key: str) -> None:
    assert normalise(name) == key


def test_camel_case_gets_a_split_key_and_iri_names_are_decoded() -> None:
    assert name_keys("placeOfBirth") == ("placeofbirth", "place of birth")
    assert name_keys("HTMLParser") == ("htmlparser", "html parser")
    assert name_keys("Ann Lee") == ("ann lee",)
    assert iri_tail(URIRef(EX + "Jos%C3%A9_Mar%C3%ADa")) == "José_María"
    assert name_keys(iri_tail(URIRef("http://ex.org/onto#birthPlace"))) == ("birthplace", "birth place")
    assert [w for w, _, _ in word_spans("who is alan_pulido's club?")] == ["who", "is", "alan", "pulido", "s", "club"]


@pytest.mark.parametrize("mention, label", [
    ("Alan_PULIDO", "Alan_PULIDO"), ("alan pulido", "Alan_PULIDO"), ("ALAN PULIDO", "Alan_PULIDO"),
    ("Maria Victoria al Pozzo della Cisterna", "maria_victoria_al_pozzo_della_cisterna"),
    ("john smith jr", "JohnSmithJr"), ("johnsmithjr", "JohnSmithJr"), ("zoe angstrom", "Zoë Ångström"),
])
def test_linker_finds_names_in_any_convention(mention: str, label: str) -> None:
    res = EntityLinker(_KG(people_graph())).run(mention)  # type: ignore[arg-type]
    assert res.best is not None and res.best.label == label and res.best.score >= 0.95


def test_linker_partial_names_typos_and_refusals() -> None:
    linker = EntityLinker(_KG(people_graph()))  # type: ignore[arg-type]
    res = linker.run("Ann")
    assert res.best.label == "Ann Lee" and res.best.method == "partial" and res.best.score < 0.95
    assert linker.run("pulido").best.label == "Alan_PULIDO"
    res = linker.run("alan pulldo")
    assert res.best.label == "Alan_PULIDO" and res.best.method == "fuzzy"
    assert linker.run("qqqzzzxxx").candidates == []


@pytest.mark.parametrize("question, node", [
    ("what is the nationality of Alan_PULIDO ?", "alan"),
    ("what is the nationality of alan pulido", "alan"),
    ("WHAT IS THE NATIONALITY OF ALAN PULIDO", "alan"),
    ("maria_victoria_al_pozzo_della_cisterna 's darling", "maria"),
    ("who is maria victoria al pozzo della cisterna married to", "maria"),
    ("who does jose maria know", "Jos%C3%A9_Mar%C3%ADa"),  # unlabelled IRI, percent-encoded, accents
    ("who does José_María know", "Jos%C3%A9_Mar%C3%ADa"),
    ("whom does bob the builder know", "bobTheBuilder"),  # unlabelled camelCase IRI
    ("where does zoe angstrom live", "accent"),
])
def test_detector_needs_no_capitals_or_underscores(question: str, node: str) -> None:
    found = EntityDetector().run(question, GraphView.build(people_graph()))
    assert found and found[0].nodes == (URIRef(EX + node),), found


def test_detector_typos_and_partial_names_only_when_no_name_is_found() -> None:
    view = GraphView.build(people_graph())
    found = EntityDetector().run("what club does alan pulldo play for", view)
    assert found[0].source == "fuzzy" and found[0].nodes == (URIRef(EX + "alan"),)
    found = EntityDetector().run("where does ann work", view)
    assert found[0].source == "partial" and found[0].nodes == (URIRef(EX + "ann"),)
    # a full name found: no partial or fuzzy guesses besides it
    found = EntityDetector().run("does ann lee know alan pulido", view)
    assert {m.source for m in found} == {"dictionary"}
    # nothing close to any name: nothing found, not a guess
    assert EntityDetector().run("what is the capital of freedonia", view) == []
    assert lookup_label("ALAN pulido", view) == (URIRef(EX + "alan"),)


def test_view_graph_and_label_index_give_a_node_one_name() -> None:
    """One list of name predicates, best first (rdfs:label, skos:prefLabel, schema:name, foaf:name, ...): the
    adjacency view, `KnowledgeGraph.label` and the label index name every node alike, whatever the triple
    order."""
    from rdflib.namespace import FOAF, SKOS

    from knowledge.graph import KnowledgeGraph

    knows = URIRef(EX + "knows")
    pref, http_name, both = URIRef(EX + "pref"), URIRef(EX + "httpName"), URIRef(EX + "both")
    kg = KnowledgeGraph.open("memory")
    kg.add([(pref, FOAF.name, Literal("Foaf Name")), (pref, SKOS.prefLabel, Literal("Preferred Name")),
            (http_name, URIRef("http://schema.org/name"), Literal("Http Schema Name")),
            (both, SKOS.prefLabel, Literal("Second Best")), (both, RDFS.label, Literal("Best")),
            (pref, knows, http_name), (http_name, knows, both)])
    view = GraphView.build(kg)
    index = kg.labels()
    nodes = (pref, http_name, both)
    assert [view.label(n) for n in nodes] == ["Preferred Name", "Http Schema Name", "Best"]
    assert [kg.label(n) for n in nodes] == [view.label(n) for n in nodes]
    assert [index.label_of(n) for n in nodes] == [view.label(n) for n in nodes]
    # a name predicate is a name, not a relation to walk
    assert set(view.out) == {knows}


def _films_graph() -> rdflib.Graph:
    """Titles that differ only in accents or punctuation (as MetaQA's "Bruno" / "Brüno", "Taxi" / "Taxi!")."""
    g = rdflib.Graph()
    by = URIRef(EX + "directed_by")
    for key, title in {"bruno": "Bruno", "bruno2": "Brüno", "taxi": "Taxi", "taxi2": "Taxi!", "life": "Life",
                       "thatslife": "That's Life!", "up": "Up", "wayup": "Which Way Is Up?"}.items():
        g.add((URIRef(EX + key), RDFS.label, Literal(title)))
        g.add((URIRef(EX + key), by, URIRef(EX + "someone")))
    return g


def test_closeness_prefers_the_label_written_as_in_the_question() -> None:
    assert closeness("Bruno", "Bruno") == 1.0
    assert closeness("Bruno", "bruno") > closeness("Brüno", "bruno")
    assert closeness("Taxi!", "taxi!") > closeness("Taxi", "taxi!")
    linker = EntityLinker(_KG(_films_graph()))  # type: ignore[arg-type]
    assert [c.label for c in linker.run("bruno").candidates] == ["Bruno", "Brüno"]
    assert [c.label for c in linker.run("brüno").candidates] == ["Brüno", "Bruno"]
    assert linker.run("taxi!").best.label == "Taxi!"


@pytest.mark.parametrize("question, text, first", [
    ("who directed bruno", "bruno", "bruno"),
    ("who directed brüno", "brüno", "bruno2"),
    ("who directed taxi!", "taxi!", "taxi2"),
    ("who directed taxi", "taxi", "taxi"),
    ("who directed that's life!", "that's life!", "thatslife"),  # punctuation ending the label and the question
    ("who directed which way is up?", "which way is up?", "wayup"),
    ("who directed up?", "up", "up"),  # "?" only ends the question
])
def test_detector_widens_a_span_over_the_label_punctuation(question: str, text: str, first: str) -> None:
    found = EntityDetector().run(question, GraphView.build(_films_graph()))
    assert found[0].text == text and found[0].nodes[0] == URIRef(EX + first), found


def test_a_model_span_with_punctuation_lies_within_the_label_found() -> None:
    from agents.roles import _inside
    from reasoning.types import Mention

    q = "what films share actors with that's life!"
    model = Mention("life!", q.index("life!"), len(q), 1.0, "model")
    label = Mention("that's life", q.index("that's"), q.index("!"), 0.5, "dictionary")
    assert _inside(model, label) and not _inside(label, model)
