"""A question model trained from the graph alone (no labelled questions) on a small lab graph with snake_case
names; relation names in any style; a model of one graph does not claim the entities of another."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from rapidfuzz import fuzz
from typer.testing import CliRunner

from agents.config import GraphSource, KGReasonConfig
from agents.coordinator import Coordinator
from agents.graphmodel import GraphQuestionSynthesiser, PairPlanner, describe, train_graph_model
from finetune.pathtext import Hop, name_words, path_text, type_word
from finetune.questions import SHIPPED_QUESTIONS
from finetune.synth import synthesise, typed_name
from reasoning.graphview import GraphView
from reasoning.paths import PathStep
from reasoning.planner import ZeroShotPlanner
from reasoning.proofs import proof_holds

LAB = Path(__file__).resolve().parents[1] / "data" / "lab_graph.txt"


def _view(*paths: Path) -> GraphView:
    from knowledge.graph import KnowledgeGraph

    kg = KnowledgeGraph.open("memory")
    kg.load(list(paths))
    return GraphView.build(kg)


@pytest.mark.parametrize("name, words", [
    ("plays_in_club_inverse", ["plays", "in", "club", "inverse"]),
    ("directedBy", ["directed", "by"]),
    ("__film__cinematographer__film", ["film", "cinematographer", "film"]),
    ("http://example.org/ontology#worksFor", ["works", "for"]),
    ("http://example.org/p/place%20of%20birth", ["place", "of", "birth"]),
    ("HAS-GENRE", ["has", "genre"]),
])
def test_relation_names_become_words_whatever_the_style(name: str, words: list[str]) -> None:
    assert name_words(name) == words


def test_type_words_and_path_text() -> None:
    assert type_word("plays_in_club") == "club"
    assert type_word("directed_by") == "" and type_word("plays_in_club_inverse") == ""
    assert path_text([Hop("plays_in_club", False, "club"), Hop("is in country", True)]) == \
        "plays in club (club) / inverse of is in country"


def test_synthesised_questions_name_the_topic_as_typed_and_are_reproducible() -> None:
    hops = [Hop("works_on", True, ""), Hop("lives_in", False, "city")]
    rng = random.Random(3)
    qs = [synthesise(hops, "ada_lovelace", rng) for _ in range(50)]
    for q in qs:
        typed = q.text[q.start:q.end]
        # the name as people type it: any case, underscores or spaces, at most a one-letter typo
        assert fuzz.ratio(typed.replace(" ", "_").lower(), "ada_lovelace") >= 85, typed
        assert "\x00" not in q.text
    assert any(" " in q.text[q.start:q.end] for q in qs) and any("_" in q.text[q.start:q.end] for q in qs)
    again = random.Random(3)
    assert [synthesise(hops, "ada_lovelace", again).text for _ in range(50)] == [q.text for q in qs]
    assert {typed_name("Alan_PULIDO", random.Random(i), typo=0.0) for i in range(30)} >= {"Alan PULIDO", "alan pulido"}


def _texts(hops: list[Hop], n: int = 300, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return [synthesise(hops, "ada_lovelace", rng, typo=0.0).text.lower().replace("_", " ") for _ in range(n)]


def test_synthesis_asks_for_classifications_and_keywords_in_general_english() -> None:
    kinds = _texts([Hop("has_category", False, "category", "project")])
    assert any(" kind of project is " in t for t in kinds) and any(t.startswith("what type") for t in kinds)
    keywords = _texts([Hop("has_tags", False, "tags", "project")])
    assert any(t.startswith("describe ") for t in keywords) and any(" about" in t for t in keywords)
    # a relation of neither kind is never asked that way, and a relation followed backwards neither
    for hops in ([Hop("lives_in", False, "city", "person")], [Hop("has_category", True, "project", "category")]):
        assert not any(" kind of " in t or t.startswith("describe ") or " about" in t for t in _texts(hops))
    # a relation named by a preposition and what it reaches: "in which city does X live"
    assert any(t.startswith(("in which city does ", "in what city does ")) for t in _texts(
        [Hop("lives_in_city", False, "city", "person")]))


def test_synthesis_names_the_topic_as_a_modifier_and_asks_round_trips_nested() -> None:
    texts = _texts([Hop("directed_by", False, "director", "movie"), Hop("directed_by", True, "movie", "director")])
    assert any("ada lovelace director" in t for t in texts)  # "the Ada Lovelace director"
    assert any(" same " in t for t in texts)
    assert any("directed by the director of ada" in t for t in texts)  # the round trip without "same"
    assert any("starred by ada" in t for t in _texts([Hop("starred_actors", True, "movie", "actor")]))


def test_synthesis_gold_paths_reach_exactly_the_gold_answers() -> None:
    view = _view(LAB)
    examples, report = GraphQuestionSynthesiser(seed=0).run(view, 200)
    assert report.questions == len(examples) >= 150 and report.sha256
    assert set(report.by_hops) == {1, 2, 3}
    for ex in examples:
        assert ex.positives and len(ex.positives) < len(ex.candidates)
        assert len(set(ex.candidates)) == len(ex.candidates)
    # the run-time planner's candidates around a topic are read as the training candidates are
    atlas = next(n for n, lab in view.labels.items() if lab == "project_atlas")
    texts = {describe(view, p) for p in ZeroShotPlanner().paths_around(view, atlas)}
    assert "inverse of works on" in texts and "funded by / based in" in texts


def test_the_model_lengthens_the_lexical_choice_only_by_hops_and_only_when_far_likelier() -> None:
    directed, back, genre = PathStep("d", False), PathStep("d", True), PathStep("g", False)
    best, longer, other = (directed, back), (directed, back, genre), (genre,)
    texts = {best: "a", longer: "b", other: "c"}
    planner = PairPlanner(scorer=None)  # type: ignore[arg-type]  # no model needed to choose
    assert planner._lengthened([best, other, longer], texts, {"a": 0.001, "b": 0.5, "c": 0.4}) == longer
    assert planner._lengthened([best, other, longer], texts, {"a": 0.01, "b": 0.5, "c": 0.4}) is None  # 50x only
    # only a continuation of the best path: another path the model prefers does not replace it
    assert planner._lengthened([best, other], texts, {"a": 0.0, "b": 0.0, "c": 0.9}) is None
    assert planner._lengthened([longer, best], texts, {"a": 0.9, "b": 0.0, "c": 0.0}) is None  # never shorter


def test_the_model_judges_where_only_a_type_word_names_a_path() -> None:
    one, two = (PathStep("g", False),), (PathStep("d", False), PathStep("w", True))
    planner = PairPlanner(scorer=None)  # type: ignore[arg-type]
    # "what kind of film is X": only "film", the kind of thing the second path reaches, at half weight
    assert planner.model_weight({one: (-0.02, False, True), two: (0.1, True, True)}, {one, two}) == 1.0
    # "who directed X": a relation word names a path; the model breaks ties only
    assert planner.model_weight({one: (-0.02, False, True), two: (0.66, True, True)}, {one, two}) == 0.001
    assert planner.model_weight({one: (-0.02, False, True), two: (-1.0, False, True)}, {one, two}) == 1.0  # none


def test_graph_model_folder_and_pipeline_with_the_tiny_encoder(tiny_bert: Path, tmp_path: Path) -> None:
    """Trains on the tiny random BERT (mechanics: folder, card, loading as --question-model, proofs)."""
    view = _view(LAB)
    run = train_graph_model(view, tmp_path / "m", max_seconds=30, questions=300, base=str(tiny_bert),
                            command="test")
    names = {p.name for p in run.out.iterdir()}
    assert {"head.safetensors", "labels.json", "model_card.json", "tokenizer.json"} <= names
    card = json.loads((run.out / "model_card.json").read_text())
    assert card["task"] == "path-pairs" and card["command"] == "test" and card["seconds"] > 0
    assert len(card["data"]["synthesis"]["sha256"]) == 64 and card["best"]["dev_path_accuracy"] >= 0
    labels = json.loads((run.out / "labels.json").read_text())
    assert "works on" in labels["relations"]
    with Coordinator(KGReasonConfig(graph=GraphSource("files", (LAB,)), question_model=str(run.out))) as c:
        assert c.runtime.parser is None and c.runtime.graph_planner is not None
        result = c.run("who works on project atlas")
        plans = next(s for s in result.trace if s.agent == "planner")
        assert plans.status == "ok" and plans.output_summary != "no plan"
        v = c.runtime.view()
        for a in result.answers:  # whatever the tiny model picked, answers are proved from the topic
            assert all(proof_holds(v, p, None, a.iri) for p in a.proofs)
        # where the question names a path, even a random model only breaks the zero-shot planner's ties: never worse
        planner, zero_shot = c.runtime.graph_planner, ZeroShotPlanner()
        for question in LAB_CASES:
            topic = c.runtime.detector.run(question, v)[0]
            node = topic.nodes[0]
            expected = zero_shot.run(question, v, node, topic.text, limit=1)
            got = planner.run(question, v, node, topic.text, limit=1)
            assert got and expected and got[0].steps == expected[0].steps, question


def test_finetune_from_graph_cli(tiny_bert: Path, tmp_path: Path) -> None:
    from ui.cli import app

    runner = CliRunner()
    out = tmp_path / "gm"
    res = runner.invoke(app, ["finetune", "questions", "--from-graph", "--kg", str(LAB), "--out", str(out),
                              "--max-seconds", "30", "--questions", "200", "--base", str(tiny_bert)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output[res.output.index("{"):])["out"] == str(out)
    assert (out / "head.safetensors").is_file()
    bad = runner.invoke(app, ["finetune", "questions", "--from-graph", "--kg", str(tmp_path / "none.txt"),
                              "--out", str(out)])
    assert bad.exit_code == 2 and "none.txt" in bad.output
    assert runner.invoke(app, ["finetune", "questions", "--out", str(out)]).exit_code == 2


LAB_CASES = {
    "who works on project atlas": {"ada_lovelace", "grace_hopper"},
    "which city does alan turing live in": {"london_city"},
    "who funds project zephyr": {"nova_trust"},
    "where is the acme foundation based": {"geneva_town"},
    "where do the people working on project zephyr live": {"london_city", "hampton_city"},
    # 2-hop through a relation named from the other side ("funded by" asked as "funds"): the model alone
    # stopped one hop short here (acme_foundation); the zero-shot evidence it is combined with does not
    "where is the foundation that funds project atlas based": {"geneva_town"},
    # a second named entity narrows the answers (conjunctive)
    "who works on project atlas and lives in london_city": {"ada_lovelace"},
}
#: questions no word of which names a relation of the graph: zero-shot planning has no plan, the model chooses
LAB_UNNAMED = {
    "what is ada_lovelace good at": {"statistics"},
    "who pays for project zephyr": {"nova_trust"},
    "whose money backs project_borealis": {"acme_foundation"},
    "what can katherine johnson do": {"orbital_mechanics"},
}


#: questions naming a relation's kind in general English, never its name (has_category): the synthesis asks for
#: classifications that way, and the model judges where no relation word is named
LAB_KINDS = {
    "what kind of project is project atlas": {"robotics"},
    "what sort of project is project zephyr": {"aerospace"},
}


@pytest.fixture(scope="module")
def lab_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real encoder trained on the lab graph (1,800 synthetic questions drawn in a fixed order, 40 epochs:
    bounded by counts, not by seconds, so a busy machine trains the same model)."""
    run = train_graph_model(_view(LAB), tmp_path_factory.mktemp("lab") / "m", max_seconds=600, questions=1800, seed=0)
    return run.out


def _wrong(model: Path, cases: dict[str, set[str]]) -> dict[str, str]:
    """Questions (typed lower-case, without underscores) whose first answer is not gold, with the reply."""
    with Coordinator(KGReasonConfig(graph=GraphSource("files", (LAB,)), question_model=str(model))) as c:
        wrong = {}
        for question, gold in cases.items():
            result = c.run(question)
            if not (result.answers and result.answers[0].label in gold):
                wrong[question] = result.reply
    return wrong


@pytest.mark.slow
def test_lab_questions_answered_by_a_graph_model_trained_here(lab_model: Path) -> None:
    wrong = _wrong(lab_model, LAB_CASES)
    assert not wrong, wrong


@pytest.mark.slow
def test_lab_questions_naming_no_relation_answered_by_the_graph_model(lab_model: Path) -> None:
    with Coordinator(KGReasonConfig(graph=GraphSource("files", (LAB,)), question_model=None)) as c:
        assert not any(c.run(q).answers for q in LAB_UNNAMED)  # zero-shot: no word names a relation
    wrong = _wrong(lab_model, LAB_UNNAMED)
    assert not wrong, wrong


@pytest.mark.slow
def test_lab_questions_asking_for_a_kind_answered_by_the_graph_model(lab_model: Path) -> None:
    with Coordinator(KGReasonConfig(graph=GraphSource("files", (LAB,)), question_model=None)) as c:
        firsts = {q: [a.label for a in c.run(q).answers[:1]] for q in LAB_KINDS}
        assert not any(firsts[q] and firsts[q][0] in gold for q, gold in LAB_KINDS.items())
    wrong = _wrong(lab_model, LAB_KINDS)
    assert not wrong, wrong


@pytest.mark.skipif(not (SHIPPED_QUESTIONS / "model_card.json").is_file(), reason="no shipped model")
def test_movie_model_does_not_claim_another_graphs_entities(tmp_path: Path) -> None:
    movies = tmp_path / "movies.txt"
    movies.write_text("Heat Wave|starred_actors|Ann Parker\nHeat Wave|directed_by|Tom Reed\n"
                      "Heat Wave|release_year|1999\nCold Snap|starred_actors|Ann Parker\n", encoding="utf-8")
    company = tmp_path / "company.txt"
    company.write_text("Ada Lovelace|works_on|Project Atlas\nGrace Hopper|works_on|Project Atlas\n"
                       "Project Atlas|funded_by|Acme Foundation\n", encoding="utf-8")
    with Coordinator(KGReasonConfig(graph=GraphSource("files", (movies, company)))) as c:
        result = c.run("who works on Project Atlas")
        assert "starred" not in result.reply
        assert {a.label for a in result.answers} == {"Ada Lovelace", "Grace Hopper"}
        movie = c.run("who starred in Heat Wave")
        assert [a.label for a in movie.answers] == ["Ann Parker"]
