"""What the proof check must refuse: a triple not in the graph, a broken chain, a chain that does not end at
the answer or start at the topic, a condition not in the graph or not about the answer."""
from __future__ import annotations

import rdflib

from knowledge.namespaces import entity_iri as E, property_iri as P
from reasoning.graphview import GraphView
from reasoning.proofs import conditions_hold, proof_holds

HEAT, COLLATERAL, MANN, CRUISE, PACINO, TOPGUN = (E(n) for n in ("Heat", "Collateral", "Michael Mann", "Tom Cruise",
                                                                  "Al Pacino", "Top Gun"))
DIRECTED, STARRED = P("directed_by"), P("starred_actors")


def view() -> GraphView:
    g = rdflib.Graph()
    for t in ((HEAT, DIRECTED, MANN), (COLLATERAL, DIRECTED, MANN), (COLLATERAL, STARRED, CRUISE),
              (HEAT, STARRED, PACINO), (TOPGUN, STARRED, CRUISE)):
        g.add(t)
    return GraphView.build(g)


# Al Pacino -> Heat -> Michael Mann -> Collateral: "films by the director of a film Al Pacino starred in"
CHAIN = ((HEAT, STARRED, PACINO), (HEAT, DIRECTED, MANN), (COLLATERAL, DIRECTED, MANN))


def test_a_chain_of_graph_facts_from_topic_to_answer_holds() -> None:
    v = view()
    assert proof_holds(v, CHAIN, PACINO, COLLATERAL)
    assert proof_holds(v, CHAIN, None, COLLATERAL)  # no topic given: any start
    assert proof_holds(v, ((HEAT, DIRECTED, MANN),), HEAT, MANN)


def test_a_triple_not_in_the_graph_is_refused() -> None:
    forged = ((HEAT, STARRED, PACINO), (HEAT, DIRECTED, CRUISE))  # Heat was not directed by Tom Cruise
    assert not proof_holds(view(), forged, PACINO, CRUISE)
    assert not proof_holds(view(), ((TOPGUN, DIRECTED, MANN),), TOPGUN, MANN)


def test_a_broken_chain_is_refused() -> None:
    gap = ((HEAT, STARRED, PACINO), (COLLATERAL, DIRECTED, MANN))  # both facts hold, but Heat -/- Collateral
    assert not proof_holds(view(), gap, PACINO, COLLATERAL)
    assert not proof_holds(view(), gap, None, COLLATERAL)


def test_a_chain_ending_elsewhere_than_the_answer_is_refused() -> None:
    assert not proof_holds(view(), CHAIN, PACINO, HEAT)
    assert not proof_holds(view(), CHAIN, PACINO, TOPGUN)


def test_a_chain_starting_elsewhere_than_the_topic_is_refused() -> None:
    assert not proof_holds(view(), CHAIN, CRUISE, COLLATERAL)


def test_an_empty_proof_is_refused() -> None:
    assert not proof_holds(view(), (), None, COLLATERAL)


def test_conditions_must_be_graph_facts_about_the_answer() -> None:
    v = view()
    assert conditions_hold(v, [(COLLATERAL, STARRED, CRUISE)], COLLATERAL)
    assert conditions_hold(v, [], COLLATERAL)
    assert not conditions_hold(v, [(HEAT, STARRED, CRUISE)], HEAT)  # not in the graph
    assert not conditions_hold(v, [(TOPGUN, STARRED, CRUISE)], COLLATERAL)  # in the graph, not about the answer
