"""Relation words the graph does not use: zero-shot planning matches them to relation names through the shipped
static word embedder (on by default), while answer types and round trips stay with the words as written."""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from agents.config import GraphSource, KGReasonConfig
from agents.coordinator import Coordinator
from knowledge.errors import InputError
from reasoning.graphview import GraphView
from reasoning.paths import PathStep
from reasoning.planner import ZeroShotPlanner

# a family graph of our own: snake_case names, relation names that are not the words people ask with
FAMILY = [("ann_lee", "has_spouse", "bob_lee"), ("ann_lee", "has_mother", "carol_lee"),
          ("ann_lee", "has_children", "dan_lee"), ("ann_lee", "country_of_citizenship", "freedonia"),
          ("bob_lee", "has_mother", "eve_lee"), ("dan_lee", "country_of_citizenship", "freedonia")]


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tsv(tmp_path_factory, "family", FAMILY)


def _tsv(tmp_path_factory: pytest.TempPathFactory, name: str, rows: list[tuple[str, str, str]]) -> Path:
    """A subject<TAB>relation<TAB>object file of `rows`."""
    path = tmp_path_factory.mktemp(name) / f"{name}.tsv"
    path.write_text("".join(f"{s}\t{p}\t{o}\n" for s, p, o in rows), encoding="utf-8")
    return path


def _answers(path: Path, synonyms: str, questions: list[str]) -> list[list[str]]:
    cfg = KGReasonConfig(graph=GraphSource("files", (path,)), question_model=None, zero_shot_synonyms=synonyms)
    with Coordinator(cfg) as c:
        return [[a.label for a in c.run(q).answers] for q in questions]


@pytest.mark.parametrize("question, answer", [
    ("who is the husband of ann lee", "bob_lee"),      # husband ~ spouse
    ("who is ann lee's mom", "carol_lee"),             # mom ~ mother
    ("name the kids of ann lee", "dan_lee"),           # kids ~ children
    ("what is the nation of ann lee", "freedonia"),    # nation ~ country
])
def test_synonyms_by_default_name_relations_the_graph_words_differently(family: Path, question: str,
                                                                        answer: str) -> None:
    assert KGReasonConfig().zero_shot_synonyms == "static"
    assert _answers(family, "static", [question]) == [[answer]]
    # words as written and as lemmas alone name no relation here: no answer rather than a guess
    assert _answers(family, "off", [question]) == [[]]


def test_a_phrase_the_embedder_does_not_read_is_not_guessed(family: Path) -> None:
    # "other half" (spouse) is a phrase: word vectors do not catch it; whatever is found, no other relation is
    found = _answers(family, "static", ["who is the other half of ann lee"])[0]
    assert found in ([], ["bob_lee"])


def test_unknown_synonym_embedder_is_refused() -> None:
    with pytest.raises(InputError, match="unknown synonyms"):
        KGReasonConfig(zero_shot_synonyms="wordnet")


def test_answer_type_is_read_from_words_as_written_not_synonyms() -> None:
    """"who are the film co-directors of X": "film" modifies "co-directors"; that "film" ~ "movie" (a role the
    one-hop path ends at) must not make the films the answer type."""
    from tests.reasoning.test_rs_rules_paths import movie_graph
    from knowledge.namespaces import entity_iri as E, property_iri as P

    g = movie_graph()
    g.add((E("Top Gun"), P("directed_by"), E("Michael Mann")))
    view = GraphView.build(g)

    def encode(texts: list[str]) -> np.ndarray:  # "film" and "movie" share a vector; other words are apart
        return np.stack([np.eye(64)[0] if t in ("film", "movie") else np.eye(64)[1 + zlib.crc32(t.encode()) % 63]
                         for t in texts])

    q = "who are the film co-directors of Tony Scott"
    back = (PathStep(P("directed_by"), True), PathStep(P("directed_by")))
    assert ZeroShotPlanner().run(q, view, E("Tony Scott"), "Tony Scott")[0].steps == back
    assert ZeroShotPlanner(encode=encode).run(q, view, E("Tony Scott"), "Tony Scott")[0].steps == back


def test_cli_synonyms_option(family: Path) -> None:
    from typer.testing import CliRunner

    from ui.cli import app

    ask = ["ask", "who is ann lee's mom", "--kg", str(family)]
    result = CliRunner().invoke(app, ask)
    assert result.exit_code == 0 and "carol_lee" in result.output
    assert CliRunner().invoke(app, [*ask, "--synonyms", "off"]).exit_code == 1  # no answer, not a guess
    bad = CliRunner().invoke(app, [*ask, "--synonyms", "wordnet"])
    assert bad.exit_code == 2 and "unknown synonyms" in bad.output and "Traceback" not in bad.output


@pytest.mark.parametrize("style", ["camel", "freebase", "iri"])
def test_synonyms_reach_relation_names_in_every_style(tmp_path: Path, style: str) -> None:
    """The same family in Turtle with camelCase properties (`hasSpouse`), Freebase-style ones
    (`__people__person__spouse`) or percent-encoded IRI local names without labels anywhere."""
    names = {"camel": ("hasSpouse", "countryOfCitizenship"),
             "freebase": ("__people__person__spouse", "__people__person__country_of_citizenship"),
             "iri": ("has%20spouse", "country%20of%20citizenship")}[style]
    ttl = f"""@prefix ex: <http://example.org/fam/> .
ex:Ann_Lee ex:{names[0]} ex:Bob_Lee ; ex:{names[1]} ex:Freedonia .
ex:Bob_Lee ex:{names[1]} ex:Freedonia .
"""
    path = tmp_path / "family.ttl"
    path.write_text(ttl, encoding="utf-8")
    got = _answers(path, "static", ["who is the husband of ann lee", "what is the nation of ann lee"])
    assert got == [["Bob_Lee"], ["Freedonia"]]


# people, firms and countries of our own: "which firm" names no kind of the graph (its kinds: company, country and
# what works for a company)
FIRMS = [("ann_lee", "works_for_company", "acme_corp"), ("ann_lee", "lives_in_country", "freedonia"),
         ("bob_ray", "works_for_company", "globex"), ("bob_ray", "lives_in_country", "freedonia"),
         ("cy_dunn", "works_for_company", "initech"), ("cy_dunn", "lives_in_country", "ruritania"),
         ("acme_corp", "is_in_country", "ruritania"), ("globex", "is_in_country", "freedonia"),
         ("initech", "is_in_country", "freedonia")]


@pytest.fixture(scope="module")
def firms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tsv(tmp_path_factory, "firms", FIRMS)


@pytest.mark.parametrize("question", ["which organisation has a worker from freedonia",
                                      "which firm has a worker living in freedonia ?"])
def test_a_kind_named_on_the_way_is_not_what_a_which_question_asks_for(firms: Path, question: str) -> None:
    # the workers from Freedonia are how to reach the answer (not the workers of Freedonia's companies);
    # "organisation" / "firm" is nearest "company" in word vectors
    assert sorted(_answers(firms, "static", [question])[0]) == ["acme_corp", "globex"]



# relation names in the plural and a synonym on the way (a people graph of our own)
KIN = [("tom_smith", "parents", "john_smith"), ("tom_smith", "parents", "mary_jones"),
       ("john_smith", "children", "tom_smith"), ("john_smith", "spouse", "mary_jones"),
       ("mary_jones", "nationality", "ireland"), ("john_smith", "nationality", "united_kingdom"),
       ("tom_smith", "profession", "actor"), ("john_smith", "profession", "novelist")]


@pytest.fixture(scope="module")
def kin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tsv(tmp_path_factory, "kin", KIN)


def test_word_vectors_compare_lemmas_and_a_synonym_explains_its_hop(kin: Path) -> None:
    father, nationality = _answers(kin, "static", ["who is the father of tom smith",
                                                   "what is the nationality of the wife of john smith"])
    assert sorted(father) == ["john_smith", "mary_jones"]  # "father" ~ "parent", the lemma of "parents"
    # "wife" ~ spouse names a hop as "nationality" does: the wife's nationality, not John Smith's own
    assert nationality == ["ireland"]


def test_the_asked_noun_names_the_answer_kind_and_the_rest_is_the_way(kin: Path) -> None:
    job, salary = _answers(kin, "static", ["what is the job of john smith's kid", "what is the salary of john smith"])
    # "kid" ~ children is the way; "job" is nearest the kind `profession` reaches: the kid's, not the kid
    assert job == ["actor"]
    # a kind word alone names no relation: no answer rather than the nearest kind's guess
    assert salary == []
