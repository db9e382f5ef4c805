"""Zero-shot planning on graphs named in other styles: relation names in snake_case, camelCase and Freebase
style, `_inverse` twins read as one relation backwards, roles read from names and data, two named entities."""
from __future__ import annotations

from pathlib import Path

import rdflib
from rdflib import URIRef

from agents.config import GraphSource, KGReasonConfig
from agents.coordinator import Coordinator
from reasoning.graphview import GraphView
from reasoning.paths import PathStep
from reasoning.planner import ZeroShotPlanner
from reasoning.relnames import canonical, inverse_pairs, relation_name, roles

EX = "http://example.org/"

# a small library / publishing graph of our own, snake_case names, each relation also stored backwards
BOOKS = [("ursula_k_le_guin", "wrote_book", "the_dispossessed"), ("ursula_k_le_guin", "wrote_book", "the_lathe_of_heaven"),
         ("ursula_k_le_guin", "born_in_city", "berkeley"), ("octavia_butler", "wrote_book", "kindred"),
         ("octavia_butler", "born_in_city", "pasadena"), ("the_dispossessed", "published_by_house", "harper_and_row"),
         ("the_lathe_of_heaven", "published_by_house", "scribner"), ("kindred", "published_by_house", "doubleday"),
         ("harper_and_row", "based_in_city", "new_york"), ("scribner", "based_in_city", "new_york"),
         ("doubleday", "based_in_city", "new_york"), ("berkeley", "located_in_state", "california"),
         ("pasadena", "located_in_state", "california"), ("kindred", "has_genre", "science_fiction"),
         ("the_dispossessed", "has_genre", "science_fiction"), ("the_lathe_of_heaven", "has_genre", "science_fiction"),
         ("octavia_butler", "wrote_book", "parable_of_the_sower"),
         ("parable_of_the_sower", "published_by_house", "four_walls_eight_windows"),
         ("four_walls_eight_windows", "based_in_city", "new_york")]


def books_file(tmp_path: Path) -> Path:
    lines = [f"{s}\t{p}\t{o}" for s, p, o in BOOKS] + [f"{o}\t{p}_inverse\t{s}" for s, p, o in BOOKS]
    path = tmp_path / "books.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_relation_names_in_every_style() -> None:
    def read(tail: str):  # noqa: ANN202
        view = GraphView.build(rdflib.Graph())
        return relation_name(view, URIRef(EX + tail))

    assert read("plays_in_club").words == ("plays", "in", "club") and read("plays_in_club").object == ("club",)
    inv = read("plays_in_club_inverse")
    # backwards: from the club to who plays in it (a leading active verb names its subject: "play" ~ "player")
    assert inv.inverse and "inverse" not in inv.words and inv.subject == ("club",) and inv.object == ("play",)
    assert read("place_of_birth").subject == () and read("wrote_book").subject == ()
    assert read("placeOfBirth").words == ("placeofbirth", "place", "of", "birth") or "birth" in read("placeOfBirth").words
    fb = read("__film__cinematographer__film")
    assert fb.words == ("film",) and fb.subject == ("cinematographer",) and fb.object == ("film",)
    assert read("film.film.directed_by").object == ()  # ends in "by": the name gives no object role
    assert read("directed_by").inverse is False


def test_inverse_twins_are_one_relation_and_roles_come_from_data(tmp_path: Path) -> None:
    from knowledge.graph import KnowledgeGraph

    kg = KnowledgeGraph.open()
    kg.load(books_file(tmp_path))
    view = GraphView.build(kg)
    props = {str(p).rsplit("/", 1)[-1]: p for p in view.fact_properties()}
    pairs = inverse_pairs(view)
    assert pairs[props["wrote_book"]] == props["wrote_book_inverse"]
    assert canonical(view, props["wrote_book_inverse"], False) == (props["wrote_book"], True)
    # nothing names what `based_in_city`'s subjects are, but they are the houses `published_by_house` reaches
    assert roles(view, props["based_in_city"])[0] == ("house",)
    # a path never goes out along a property and back along its twin as if it were a new relation
    plans = ZeroShotPlanner().run("which books did octavia butler write", view,
                                  view.by_label["octavia butler"][0], "octavia butler")
    assert plans[0].steps == (PathStep(props["wrote_book"], False),)
    assert all(len(p.steps) == 1 for p in plans[:1])


def test_snake_case_graph_answered_zero_shot(tmp_path: Path) -> None:
    cfg = KGReasonConfig(graph=GraphSource("files", (books_file(tmp_path),)), question_model=None)
    with Coordinator(cfg) as c:
        def top(q: str) -> list[str]:
            return [a.label for a in c.run(q).answers]

        assert set(top("which books did octavia butler write")) == {"kindred", "parable_of_the_sower"}
        assert top("where was ursula k le guin born ?") == ["berkeley"]
        assert top("Who published Kindred") == ["doubleday"]
        # two hops, lower case, no underscores
        assert top("in which city is the house that published the dispossessed based") == ["new_york"]
        # which house is based in a city: the answer type "house" picks the one-hop path back from the city
        assert "scribner" in top("name a publishing house based in new_york")
        # two named entities: books by Octavia Butler published by Doubleday (written as a name, or in lower case
        # when the name has several words); a lower-case single word is not taken as a second entity
        assert top("which book by octavia_butler was published by Doubleday") == ["kindred"]
        assert top("which book by octavia butler was published by four walls eight windows") == ["parable_of_the_sower"]
        # a question whose words name no relation is not guessed
        r = c.run("what about ursula k le guin")
        assert not r.answers


def test_who_asks_for_someone_not_a_place(tmp_path) -> None:
    """A "who" question rules out paths that reach only places or times, in both planners' scores."""
    from knowledge.graph import KnowledgeGraph
    from reasoning.graphview import GraphView
    from reasoning.planner import ZeroShotPlanner

    f = tmp_path / "g.txt"
    f.write_text("ann_lee|member_of_club|rovers_fc\nbo_chan|member_of_club|rovers_fc\n"
                 "rovers_fc|located_in_country|freedonia\nann_lee|born_in_year|1990\n", encoding="utf-8")
    kg = KnowledgeGraph.open("memory")
    kg.load([f])
    view = GraphView.build(kg)
    rovers = next(n for n, label in view.labels.items() if label == "rovers_fc")
    scores = {ZeroShotPlanner().describe(view, p): s for p, s in
              ZeroShotPlanner().scores("who comes from rovers_fc ?", view, rovers, "rovers_fc").items()}
    assert scores["located in country"][2] is False          # reaches a country: not someone
    assert scores["inverse of member of club"][2] is True     # reaches the club's members
    plain = {ZeroShotPlanner().describe(view, p): s for p, s in
             ZeroShotPlanner().scores("what comes from rovers_fc ?", view, rovers, "rovers_fc").items()}
    assert plain["located in country"][2] is True and plain["located in country"][0] > scores["located in country"][0]


def test_a_partly_stated_inverse_is_never_the_same_relation_whatever_the_triple_order(tmp_path) -> None:
    """`children` states Tom as John's child but not as Mary's: it is not `parents` backwards (read as one
    relation, "the parents of Tom" would lose Mary), in whichever order the file lists the facts."""
    from knowledge.graph import KnowledgeGraph

    facts = ["tom|parents|john", "tom|parents|mary", "john|children|tom", "ann|parents|bob", "bob|children|ann"]
    found = []
    for order in (facts, facts[::-1], facts[1:] + facts[:1]):
        f = tmp_path / "kin.txt"
        f.write_text("\n".join(order) + "\n", encoding="utf-8")
        kg = KnowledgeGraph.open("memory")
        kg.load([f])
        found.append({view.property_label(p): view.property_label(q)
                      for view in [GraphView.build(kg)] for p, q in inverse_pairs(view).items()})
    assert found == [{}, {}, {}]
    # stated both ways for every fact, they are one relation
    f.write_text("tom|parents|john\njohn|children|tom\nann|parents|bob\nbob|children|ann\n", encoding="utf-8")
    kg = KnowledgeGraph.open("memory")
    kg.load([f])
    view = GraphView.build(kg)
    assert sorted(view.property_label(p) for p in inverse_pairs(view)) == ["children", "parents"]


def _zero_shot(tmp_path: Path, graph: str, *questions: str) -> list:
    """The turns of `questions` asked zero-shot of a graph file holding `graph`."""
    f = tmp_path / "graph.txt"
    f.write_text(graph, encoding="utf-8")
    with Coordinator(KGReasonConfig(graph=GraphSource("files", (f,)), question_model=None)) as c:
        return [c.run(q) for q in questions]


def test_a_relation_named_in_several_words_is_not_asked_for_twice(tmp_path) -> None:
    """"the cause of death of X's spouse": "cause" and "death" are one writing of `cause_of_death`, not two
    mentions asking to go there and back (the spouse's cause of death, not who else died of it)."""
    r, = _zero_shot(tmp_path, "john_smith|spouse|mary_jones\nmary_jones|cause_of_death|pneumonia\n"
                    "ann_lee|cause_of_death|pneumonia\njohn_smith|place_of_birth|london\n",
                    "what is the cause of death of john smith's spouse")
    assert [a.label for a in r.answers] == ["pneumonia"]
    assert r.path == "spouse / cause of death"


FREEBASE = """the_matrix\t__film__film__directed_by\tlana_wachowski
the_matrix\t__film__film__cinematographer\tbill_pope
bill_pope\t__film__cinematographer__film\tthe_matrix
bill_pope\t__film__cinematographer__film\tspider_man_2
spider_man_2\t__film__film__cinematographer\tbill_pope
spider_man_2\t__film__film__directed_by\tsam_raimi
the_matrix\t__film__film__genre\tscience_fiction
spider_man_2\t__film__film__genre\tsuperhero_movie
sam_raimi\t__people__person__place_of_birth\troyal_oak
"""


def test_freebase_names_read_as_their_property_not_their_domain(tmp_path) -> None:
    """`film.film.genre` is "genre", not "film film genre": "films" in a question names no film.* relation, so
    the films the matrix's cinematographer shot are two hops away, not the cinematographer himself."""
    assert relation_name(GraphView.build(rdflib.Graph()), URIRef(EX + "film.film.genre")).words == ("genre",)
    films, directors = _zero_shot(tmp_path, FREEBASE, "what films did the cinematographer of the matrix work on",
                                  "who directed the films whose cinematographer shot the matrix")
    assert [a.label for a in films.answers] == ["spider_man_2"]
    assert [a.label for a in directors.answers] == ["sam_raimi"]


def test_a_word_of_two_hops_leaves_the_other_words_their_hop(tmp_path) -> None:
    """"what genre is the artist of abbey road": "artist" names album.artist (and its twin artist.album); matched
    to the best assignment, "genre" still names artist.genre (a greedy matching answered the artist)."""
    genre, others = _zero_shot(
        tmp_path, "abbey_road\t__music__album__artist\tthe_beatles\nthe_beatles\t__music__artist__album\tabbey_road\n"
                  "the_beatles\t__music__artist__album\trevolver\nrevolver\t__music__album__artist\tthe_beatles\n"
                  "the_beatles\t__music__artist__genre\trock_music\n",
        "what genre is the artist of abbey road", "what other albums did the artist of abbey road release")
    assert [a.label for a in genre.answers] == ["rock_music"]
    assert [a.label for a in others.answers] == ["revolver"]
