"""One name, several entities: the one whose relations the question names is meant (`reasoning.senses`), and
relations take their role words from rdfs:domain / rdfs:range when no kgo annotation gives them."""
from __future__ import annotations

import rdflib
from rdflib import OWL, RDF, RDFS, Literal, Namespace, URIRef

from knowledge.namespaces import KGO
from reasoning.graphview import GraphView
from reasoning.planner import ZeroShotPlanner
from reasoning.senses import SenseChooser

DECIMAL = URIRef("http://www.w3.org/2001/XMLSchema#decimal")

FILM = Namespace("http://films.example/")
ORG = Namespace("http://org.example/")


def two_graphs() -> GraphView:
    """A film graph and a company graph side by side, sharing the name "Dev Patel" and the first name Tom."""
    g = rdflib.Graph()

    def name(node, text):  # type: ignore[no-untyped-def]
        g.add((node, RDFS.label, Literal(text)))

    for p, label, subj, obj in ((FILM.starred_actors, "starred actors", "movie", "actor"),
                                (FILM.directed_by, "directed by", "movie", "director")):
        name(p, label)
        g.add((p, KGO.subjectRole, Literal(subj)))
        g.add((p, KGO.objectRole, Literal(obj)))
    for film, actor, director in (("heat", "dev_actor", "tom_dey"), ("cold", "tom_bell", "tom_dey")):
        g.add((FILM[film], FILM.starred_actors, FILM[actor]))
        g.add((FILM[film], FILM.directed_by, FILM[director]))
    for node, text in ((FILM.heat, "Heat Wave"), (FILM.cold, "Cold Snap"), (FILM.dev_actor, "Dev Patel"),
                       (FILM.tom_dey, "Tom Dey"), (FILM.tom_bell, "Tom Bell")):
        name(node, text)
    for cls, text in ((ORG.Person, "person"), (ORG.Team, "team")):
        g.add((cls, RDF.type, RDFS.Class))
        name(cls, text)
    for p, label, dom, rng in ((ORG.memberOf, "member of", ORG.Person, ORG.Team),
                               (ORG.reportsTo, "reports to", ORG.Person, ORG.Person),
                               (ORG.salary, "salary", ORG.Person, DECIMAL),
                               (ORG.nickname, "nickname", ORG.Person, RDFS.Literal)):
        g.add((p, RDF.type, OWL.ObjectProperty))
        name(p, label)
        g.add((p, RDFS.domain, dom))
        g.add((p, RDFS.range, rng))
    people = (("dev", "Dev Patel", "growth", "ann"), ("tom", "Tom Becker", "growth", "dev"),
              ("ann", "Ann Lee", "growth", None))
    for who, text, team, boss in people:
        name(ORG[who], text)
        g.add((ORG[who], ORG.memberOf, ORG[team]))
        if boss:
            g.add((ORG[who], ORG.reportsTo, ORG[boss]))
    g.add((ORG.dev, ORG.salary, Literal("100", datatype=DECIMAL)))
    g.add((ORG.dev, ORG.nickname, Literal("DP")))
    name(ORG.growth, "Growth Team")
    return GraphView.build(g)


def test_roles_come_from_domain_and_range_class_labels_unless_annotated() -> None:
    view = two_graphs()
    assert view.roles(ORG.memberOf) == (("person",), ("team",))
    assert view.roles(ORG.reportsTo) == (("person",), ("person",))
    assert view.roles(ORG.salary) == (("person",), ("decimal",))  # an XSD datatype names a role (a date, ...)
    assert view.roles(ORG.nickname) == (("person",), ())  # rdfs:Literal names nothing
    assert view.roles(FILM.directed_by) == (("movie",), ("director",))  # kgo annotations as before


def test_fit_is_how_well_the_question_names_a_relation_of_the_entity() -> None:
    view, planner = two_graphs(), ZeroShotPlanner()
    assert planner.fit("which team does Dev Patel belong to", view, ORG.dev, "Dev Patel") > 0
    assert planner.fit("which team does Dev Patel belong to", view, FILM.dev_actor, "Dev Patel") == 0
    assert planner.fit("which films did Dev Patel star in", view, FILM.dev_actor, "Dev Patel") > 0
    assert planner.fit("which films did Dev Patel star in", view, ORG.dev, "Dev Patel") == 0


def test_the_entity_whose_relations_the_question_names_is_meant() -> None:
    view = two_graphs()
    chooser = SenseChooser(ZeroShotPlanner())
    both = [(FILM.dev_actor, 1.0), (ORG.dev, 1.0)]  # the linker's order: the actor first
    assert chooser.run("which team does Dev Patel belong to", view, "Dev Patel", both) == [(ORG.dev, 1.0)]
    films = chooser.run("which films did Dev Patel star in", view, "Dev Patel", both)
    assert films == [(FILM.dev_actor, 1.0)]
    # a first name: three people, one of whom reports to someone
    toms = [(FILM.tom_dey, 0.8), (FILM.tom_bell, 0.8), (ORG.tom, 0.8)]
    assert chooser.run("who does Tom report to", view, "Tom", toms) == [(ORG.tom, 0.8)]
    # both directors and actors are films' people: the director first for "direct", the actor kept after
    ranked = chooser.run("which films did Tom direct", view, "Tom", toms)
    assert ranked[0] == (FILM.tom_dey, 0.8) and (ORG.tom, 0.8) not in ranked


def test_no_relation_named_keeps_every_candidate_and_a_better_link_is_not_overruled() -> None:
    view = two_graphs()
    chooser = SenseChooser(ZeroShotPlanner())
    both = [(FILM.dev_actor, 1.0), (ORG.dev, 1.0)]
    assert chooser.run("tell me about Dev Patel", view, "Dev Patel", both) == both
    # an exact name beats a looser match (a typo's fuzzy candidate) whatever the question names
    loose = [(FILM.dev_actor, 1.0), (ORG.dev, 0.8)]
    assert chooser.run("which team does Dev Patel belong to", view, "Dev Patel", loose) == loose
    assert chooser.run("who does Tom report to", view, "Tom", [(ORG.tom, 0.8)]) == [(ORG.tom, 0.8)]
