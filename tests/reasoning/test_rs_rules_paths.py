"""Rule files (syntax errors, chaining, provenance), path execution with proofs, label planning."""
from __future__ import annotations

import zlib

import numpy as np
import pytest
import rdflib
from rdflib import RDFS, Literal

from knowledge.errors import InputError
from knowledge.namespaces import KGO, entity_iri as E, property_iri as P
from reasoning.graphview import GraphView
from reasoning.paths import PathReasoner, PathStep
from reasoning.planner import EntityDetector, ZeroShotPlanner, steps_for_label
from reasoning.rules import RuleEngine, RuleSet, RuleSyntaxError, owl_closure

MOVIES = [("Heat", "directed_by", "Michael Mann"), ("Collateral", "directed_by", "Michael Mann"),
          ("Heat", "starred_actors", "Al Pacino"), ("Heat", "starred_actors", "Robert De Niro"),
          ("Collateral", "starred_actors", "Tom Cruise"), ("Collateral", "has_genre", "Thriller"),
          ("Heat", "has_genre", "Crime"), ("Top Gun", "starred_actors", "Tom Cruise"),
          ("Top Gun", "directed_by", "Tony Scott")]


def movie_graph(roles: bool = True) -> rdflib.Graph:
    g = rdflib.Graph()
    for s, p, o in MOVIES:
        g.add((E(s), P(p), E(o)))
        g.add((E(s), RDFS.label, Literal(s)))
        g.add((E(o), RDFS.label, Literal(o)))
    if roles:
        for p, obj in (("directed_by", "director"), ("starred_actors", "actor"), ("has_genre", "genre")):
            g.add((P(p), KGO.subjectRole, Literal("movie")))
            g.add((P(p), KGO.objectRole, Literal(obj)))
    return g


def test_three_hop_path_excludes_topic_and_proofs_are_graph_triples() -> None:
    g = movie_graph()
    steps = [PathStep(P("starred_actors"), True), PathStep(P("starred_actors")), PathStep(P("directed_by"))]
    result = PathReasoner().run(g, E("Tom Cruise"), steps[:2] + [])  # actor -> movie -> actor
    assert result.answers == {}  # Tom Cruise's co-stars: nobody else in Collateral / Top Gun
    res = PathReasoner().run(g, E("Heat"), [PathStep(P("directed_by")), PathStep(P("directed_by"), True),
                                            PathStep(P("has_genre"))])
    assert set(res.answers) == {E("Thriller")}
    for proofs in res.answers.values():
        for proof in proofs:
            assert proof[0][0] == E("Heat") and all(t in g for t in proof)
    two = PathReasoner().run(g, E("Heat"), [PathStep(P("directed_by")), PathStep(P("directed_by"), True)])
    assert set(two.answers) == {E("Collateral")}  # the topic itself is removed


def test_missing_hop_reports_where_the_path_stopped() -> None:
    res = PathReasoner().run(movie_graph(), E("Top Gun"), [PathStep(P("has_genre"))])
    assert res.answers == {} and res.stopped_at == 0


def test_label_planning_uses_role_words_and_property_names() -> None:
    view = GraphView.build(movie_graph())
    assert steps_for_label("actor_to_movie_to_director", view) == (
        PathStep(P("starred_actors"), True), PathStep(P("directed_by"), False))
    bare = GraphView.build(movie_graph(roles=False))  # no annotations: names decide
    assert steps_for_label("movie_to_director_to_movie", bare) == (
        PathStep(P("directed_by")), PathStep(P("directed_by"), True))
    assert steps_for_label("movie_to_nonsense", view) is None


def test_rules_derive_to_fixed_point_with_provenance() -> None:
    text = ("@base <http://kgreason.org/data/p/> .\n"
            "co_star(?a, ?b) :- starred_actors(?m, ?a), starred_actors(?m, ?b), ?a != ?b .\n"
            "linked(?a, ?b) :- co_star(?a, ?b) .\n"
            "linked(?a, ?c) :- linked(?a, ?b), co_star(?b, ?c), ?a != ?c .\n")
    g = movie_graph()
    g.add((E("Top Gun"), P("starred_actors"), E("Kelly McGillis")))
    g.add((E("Heat"), P("starred_actors"), E("Tom Cruise")))  # connects the two casts
    result = RuleEngine(RuleSet.parse(text, "t.rules")).run(g)
    co = P("co_star")
    assert (E("Al Pacino"), co, E("Robert De Niro")) in result.derivations
    assert (E("Al Pacino"), co, E("Al Pacino")) not in result.derivations
    # recursion: Al Pacino -> Tom Cruise (Heat) -> Kelly McGillis (Top Gun)
    far = (E("Al Pacino"), P("linked"), E("Kelly McGillis"))
    assert far in result.derivations
    d = result.derivations[far]
    assert d.rule.startswith("linked @ t.rules:4") and all(p in result.derivations or p in g for p in d.premises)
    assert len(g) == len(movie_graph()) + 2  # the fact graph is unchanged


def test_derived_triples_in_paths_are_explained() -> None:
    g = movie_graph()
    rules = RuleSet.bundled("movies")
    result = RuleEngine(rules).run(g)
    view = GraphView.build(g, result.derived)
    res = PathReasoner(derivations=result.derivations).run_view(view, E("Heat"), [PathStep(P("same_director"))])
    assert set(res.answers) == {E("Collateral")}
    (t,) = res.answers[E("Collateral")][0]
    assert res.explanations[t].premises == ((E("Heat"), P("directed_by"), E("Michael Mann")),
                                            (E("Collateral"), P("directed_by"), E("Michael Mann")))


@pytest.mark.parametrize("text, where", [
    ("co(?a, ?b) :- p(?a, ?b)\n", "r.rules:2:1"),                 # missing final dot
    ("co(?a, ?b) :- p(?a ?b) .", "r.rules:1:20"),                 # missing comma
    ("x(?a, ?c) :- p(?a, ?b) .", "r.rules:1:1"),                  # unbound head variable
    ("\n  ex:p(?a, ?b) :- q(?a, ?b) .", "r.rules:2:3"),           # unknown prefix
    ("p(?a, ?b) :- q(?a, ?b), ?a ~ ?b .", "r.rules:1:28"),       # bad character
])
def test_rule_syntax_errors_name_file_line_and_column(text: str, where: str) -> None:
    with pytest.raises(RuleSyntaxError) as err:
        RuleSet.parse(text, "r.rules")
    assert str(err.value).startswith(where)
    assert isinstance(err.value, InputError)


def test_owlrl_closure_adds_subclass_types_without_touching_graph() -> None:
    g = rdflib.Graph()
    g.add((KGO.Director, RDFS.subClassOf, KGO.Person))
    g.add((E("Michael Mann"), rdflib.RDF.type, KGO.Director))
    added = owl_closure(g, "rdfs")
    assert (E("Michael Mann"), rdflib.RDF.type, KGO.Person) in added and len(g) == 2
    with pytest.raises(InputError):
        owl_closure(g, "nope")


def test_dictionary_detector_prefers_longest_label() -> None:
    g = movie_graph()
    g.add((E("Heat 2"), RDFS.label, Literal("Heat 2")))
    g.add((E("Heat 2"), P("has_genre"), E("Crime")))
    found = EntityDetector().run("who directed heat 2 ?", GraphView.build(g))
    assert found[0].text == "heat 2" and found[0].nodes == (E("Heat 2"),)


@pytest.mark.parametrize("question, topic, expected", [
    # "same" / "share" / "co-" ask for a round trip through the actors, even where "films" is not "movie"
    ("what are the films that have the same actor as Top Gun", "Top Gun",
     [("starred_actors", False), ("starred_actors", True)]),
    ("which films share actors with Top Gun", "Top Gun", [("starred_actors", False), ("starred_actors", True)]),
    ("who co-starred with Al Pacino", "Al Pacino", [("starred_actors", True), ("starred_actors", False)]),
    # no word asks to go back from the directors to their films: the path ends at the directors
    ("who are the directors of the movies starred by Tom Cruise", "Tom Cruise",
     [("starred_actors", True), ("directed_by", False)]),
    # "acted" is a form of "act", which starts "actor"
    ("who acted in Heat", "Heat", [("starred_actors", False)]),
])
def test_zero_shot_reads_round_trips_answer_types_and_lemmas(question: str, topic: str,
                                                              expected: list[tuple[str, bool]]) -> None:
    plans = ZeroShotPlanner().run(question, GraphView.build(movie_graph()), E(topic), topic)
    assert plans[0].steps == tuple(PathStep(P(p), inv) for p, inv in expected)


def _movies_with_years() -> GraphView:
    g = movie_graph()
    years = [("Heat", "1995"), ("Casino", "1995"), ("Collateral", "2004"), ("Top Gun", "1941"), ("1941", "1979")]
    for movie, year in years + [("Casino", "Robert De Niro")]:
        prop = "starred_actors" if year == "Robert De Niro" else "release_year"
        g.add((E(movie), P(prop), E(year)))
        g.add((E(year), RDFS.label, Literal(year)))
        g.add((E(movie), RDFS.label, Literal(movie)))
    g.add((P("release_year"), KGO.subjectRole, Literal("movie")))
    g.add((P("release_year"), KGO.objectRole, Literal("year")))
    return GraphView.build(g)


@pytest.mark.parametrize("question, topic, expected", [
    # "also" belongs to "actors", the nearer word: the round trip goes through the actors, not the year
    ("when were the movies released whose actors also appear in Heat", "Heat",
     [("starred_actors", False), ("starred_actors", True), ("release_year", False)]),
    # "released ... years" names one hop, not two (the film "1941" also has a release year)
    ("the movies starred by Tom Cruise were released in which years", "Tom Cruise",
     [("starred_actors", True), ("release_year", False)]),
])
def test_zero_shot_repeated_hops_need_their_own_words(question: str, topic: str,
                                                       expected: list[tuple[str, bool]]) -> None:
    plans = ZeroShotPlanner().run(question, _movies_with_years(), E(topic), topic)
    assert plans[0].steps == tuple(PathStep(P(p), inv) for p, inv in expected)


def test_zero_shot_does_not_guess_a_relation_no_word_names() -> None:
    assert ZeroShotPlanner().run("how tall is Heat", GraphView.build(movie_graph()), E("Heat"), "Heat") == []


def test_zero_shot_synonyms_come_from_the_encoder() -> None:
    g = movie_graph()
    g.add((E("Heat"), P("written_by"), E("Michael Mann")))
    g.add((P("written_by"), KGO.objectRole, Literal("writer")))
    view = GraphView.build(g)

    def encode(texts: list[str]) -> np.ndarray:  # "author" and "writer" share a vector; other words are apart
        return np.stack([np.eye(64)[0] if t in ("author", "writer") else np.eye(64)[1 + zlib.crc32(t.encode()) % 63]
                         for t in texts])

    question = "who is the author of Heat"
    assert ZeroShotPlanner().run(question, view, E("Heat"), "Heat") == []
    plans = ZeroShotPlanner(encode=encode).run(question, view, E("Heat"), "Heat")
    assert plans[0].steps == (PathStep(P("written_by")),)


def test_zero_shot_prefers_path_matching_question_words() -> None:
    view = GraphView.build(movie_graph())
    plans = ZeroShotPlanner().run("which genres are the movies directed by the director of Heat", view, E("Heat"),
                                  "Heat")
    assert plans[0].steps == (PathStep(P("directed_by")), PathStep(P("directed_by"), True), PathStep(P("has_genre")))
