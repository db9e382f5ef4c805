"""The agent pipeline on a small non-movie graph (people, employers, cities) with zero-shot planning."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.config import GraphSource, KGReasonConfig
from agents.coordinator import Coordinator
from agents.evaluate import read_qa
from agents.roles import Retriever
from agents.session import Session
from knowledge.errors import InputError
from knowledge.graph import KnowledgeGraph

FACTS = """Alice|works_for|Acme Corp
Bob|works_for|Acme Corp
Carol|works_for|Globex
Acme Corp|located_in|Paris
Globex|located_in|Berlin
Paris|in_country|France
Berlin|in_country|Germany
London|in_country|United Kingdom
Alice|lives_in|London
Bob|lives_in|Berlin
Acme Corp|founded_by|Carol
"""


@pytest.fixture()
def people(tmp_path: Path) -> Path:
    f = tmp_path / "people.txt"
    f.write_text(FACTS, encoding="utf-8")
    return f


@pytest.fixture()
def coord(people: Path):
    with Coordinator(KGReasonConfig(graph=GraphSource("files", (people,)), question_model=None)) as c:
        yield c


@pytest.mark.parametrize("question, expected", [
    ("who works for Acme Corp?", {"Alice", "Bob"}),                                    # 1 hop, inverse
    ("where does Bob live?", {"Berlin"}),                                              # 1 hop
    ("which country does Bob live in?", {"Germany"}),                                  # 2 hops
    ("who works at the company founded by Carol?", {"Alice", "Bob"}),                  # 2 hops
    ("in which country is the company Alice works for located?", {"France"}),         # 3 hops
    ("who works for the same company as Alice?", {"Bob"}),                             # round trip, asked
    ("which company did Carol found?", {"Acme Corp"}),                                 # "found" / "founded"
])
def test_zero_shot_answers_with_proofs_that_exist(coord: Coordinator, question: str, expected: set[str]) -> None:
    result = coord.run(question)
    assert result.found and {a.label for a in result.answers} == expected
    rdf = coord.graph.rdf
    for a in result.answers:
        assert a.proofs and all(t in rdf for proof in a.proofs for t in proof)
    assert [s.agent for s in result.trace] == ["extractor", "linker", "retriever", "planner", "reasoner", "answerer"]
    assert all(s.status == "ok" for s in result.trace)


def test_reply_says_when_answers_were_cut(people: Path) -> None:
    cfg = KGReasonConfig(graph=GraphSource("files", (people,)), question_model=None, max_answers=1)
    with Coordinator(cfg) as c:
        result = c.run("who works for Acme Corp?")
    assert len(result.answers) == 1 and "reaches 2 answers; the first 1 are kept" in result.reply


def test_how_many_is_answered_with_the_count_first(coord: Coordinator) -> None:
    result = coord.run("how many people work for Acme Corp?")
    assert result.reply.startswith("2: Alice, Bob.")


@pytest.mark.parametrize("facts, question, expected", [
    # a misspelt longer name is not the shorter name it contains
    ("Frank|works_for|Globex\nFrank Albertson|works_for|Acme Corp\n", "who does Frank Albrtson work for?",
     {"Acme Corp"}),
    # a word naming a relation ("actors") is the relation, even where a tag of that name exists
    ("Heat Wave|starred_actors|Bob Stone\nAlien|has_tags|actors\nAlien|starred_actors|Sigourney Weaver\n",
     "which actors starred in Heet Wave?", {"Bob Stone"}),
])
def test_zero_shot_entity_mentions(tmp_path: Path, facts: str, question: str, expected: set[str]) -> None:
    kg = tmp_path / "kg.txt"
    kg.write_text(facts, encoding="utf-8")
    with Coordinator(KGReasonConfig(graph=GraphSource("files", (kg,)), question_model=None)) as c:
        assert {a.label for a in c.run(question).answers} == expected


def test_a_second_named_entity_narrows_the_answers_with_a_checked_fact(coord: Coordinator) -> None:
    result = coord.run("who works for Acme Corp and lives in Berlin?")
    assert [a.label for a in result.answers] == ["Bob"] and "Only those tied to Berlin" in result.reply
    (bob,) = result.answers
    assert [tuple(str(x).rsplit("/", 1)[-1] for x in t) for t in bob.conditions] == [("Bob", "lives_in", "Berlin")]
    assert all(t in coord.graph.rdf for t in bob.conditions)


def test_no_relation_named_means_no_answer(coord: Coordinator) -> None:
    result = coord.run("how tall is Alice?")  # no word names a relation of the graph: no guessed path
    assert not result.found and result.answers == [] and "no relation named like 'tall'" in result.reply


def test_retrieved_facts_are_shown_never_taken_as_answers(coord: Coordinator, tmp_path: Path) -> None:
    """With a retrieval index, facts about Alice are found for "how tall is Alice?", but none of them answers
    it: answers come from relation paths the question names, so there is still none."""
    from knowledge.retrieval import KnowledgeIndex

    coord.warm_up()
    coord.runtime.set_index(KnowledgeIndex.build(coord.graph, tmp_path / "index"))
    result = coord.run("how tall is Alice?")
    steps = {s.agent: s for s in result.trace}
    assert steps["retriever"].status == "ok" and not steps["retriever"].output_summary.startswith("0 facts")
    assert not result.found and result.answers == [] and "no relation named like 'tall'" in result.reply
    assert {a.label for a in coord.run("where does Alice live?").answers} == {"London"}  # paths still answer


def test_unknown_entity_says_not_found(coord: Coordinator) -> None:
    result = coord.run("who founded Zorg Industries?")
    assert not result.found and result.answers == []
    assert "no entity named 'Zorg Industries'" in result.reply


def test_follow_up_resolves_to_previous_topic(coord: Coordinator) -> None:
    session = Session()
    first = coord.run("where does Alice live?", session)
    assert [a.label for a in first.answers] == ["London"]
    follow = coord.run("and who does she work for?", session)
    assert [a.label for a in follow.answers] == ["Acme Corp"]


def test_failing_agent_degrades_instead_of_crashing(coord: Coordinator, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self, bb):  # type: ignore[no-untyped-def]
        raise RuntimeError("index offline")

    monkeypatch.setattr(Retriever, "step", boom)
    result = coord.run("where does Bob live?")
    assert [a.label for a in result.answers] == ["Berlin"]
    assert {s.agent: s.status for s in result.trace}["retriever"] == "error"
    assert "retriever failed" in result.reply


class SlowIndex:
    """A retrieval index whose search hangs (e.g. a stalled remote vector store)."""

    def search(self, text: str, k: int = 10, kind: str | None = None, entity_type=None) -> list:
        time.sleep(1.0)
        return []


def test_slow_agent_times_out(people: Path) -> None:
    cfg = KGReasonConfig(graph=GraphSource("files", (people,)), question_model=None, agent_timeout_s=0.2)
    with Coordinator(cfg) as c:
        c.warm_up()
        c.runtime.set_index(SlowIndex())
        t0 = time.perf_counter()
        result = c.run("where does Bob live?")
        assert time.perf_counter() - t0 < 0.9  # the turn did not wait for the hung search
    assert [a.label for a in result.answers] == ["Berlin"]
    assert {s.agent: s.status for s in result.trace}["retriever"] == "timeout"
    assert "retriever took longer" in result.reply


def test_config_rejects_bad_values(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        GraphSource("files", (tmp_path / "missing.txt",))
    with pytest.raises(InputError):
        KGReasonConfig(max_hops=5)


def test_injected_graph_is_used(people: Path) -> None:
    kg = KnowledgeGraph.open("memory")
    kg.load([people])
    result = Coordinator(KGReasonConfig(question_model=None), graph=kg).run("who founded Acme Corp?")
    assert [a.label for a in result.answers] == ["Carol"]


def test_cli_ask_json_and_evaluate(people: Path, tmp_path: Path) -> None:
    from ui.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["ask", "who works for Acme Corp?", "--kg", str(people), "--zero-shot", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {a["label"] for a in data["answers"]} == {"Alice", "Bob"} and data["trace"]
    qa = tmp_path / "qa.txt"
    qa.write_text("where does [Bob] live\tBerlin\nwho founded [Acme Corp]\tCarol\n", encoding="utf-8")
    qt = tmp_path / "qa_qtype.txt"
    qt.write_text("person_to_city\ncompany_to_person\n", encoding="utf-8")
    out = tmp_path / "report.json"
    res = runner.invoke(app, ["evaluate", "qa", "--questions", str(qa), "--qtypes", str(qt), "--kg", str(people),
                              "--zero-shot", "--json", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["n"] == 2 and report["hits@1"] == 100.0 and set(report["latency_ms"]) == {"p50", "p95"}
    assert set(report) >= {"exact_match", "f1", "per_qtype", "per_hop", "questions_per_second"}
    assert report["per_hop"] == {"1-hop": {"n": 2, "hits@1": 100.0, "exact_match": 100.0, "f1": 100.0}}
    assert [it.question for it in read_qa(qa, lowercase=True)] == ["where does bob live", "who founded acme corp"]
    res = runner.invoke(app, ["evaluate", "qa", "--questions", str(qa), "--kg", str(people), "--zero-shot",
                              "--lowercase", "--json", str(out)])
    assert res.exit_code == 0 and json.loads(out.read_text())["hits@1"] == 100.0, res.output
    bad = tmp_path / "bad.txt"
    bad.write_text("no tab here\n", encoding="utf-8")
    res = runner.invoke(app, ["evaluate", "qa", "--questions", str(bad), "--kg", str(people), "--zero-shot"])
    assert res.exit_code == 2 and "bad.txt:1" in res.output


def test_reply_warns_when_a_name_merges_several_things(tmp_path: Path) -> None:
    """Every city has one mayor except Springfield, which holds two towns' facts: its answers say so."""
    lines = [f"City{i}|has_mayor|Mayor{i}" for i in range(25)]
    lines += ["Springfield|has_mayor|Quimby", "Springfield|has_mayor|Smith", "Springfield|in_state|Oregon",
              "Springfield|in_state|Illinois"]
    f = tmp_path / "cities.txt"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Coordinator(KGReasonConfig(graph=GraphSource("files", (f,)), question_model=None)) as c:
        merged = c.run("which state is Springfield in?")
        single = c.run("who is the mayor of City3?")
    assert {a.label for a in merged.answers} == {"Oregon", "Illinois"}
    assert "Springfield has 2 values of has mayor (Quimby, Smith)" in merged.reply
    assert single.found and [a.label for a in single.answers] == ["Mayor3"] and "Note:" not in single.reply


def test_cli_ask_unusable_question_model_exits_2(people: Path, tmp_path: Path) -> None:
    from ui.cli import app

    res = CliRunner().invoke(app, ["ask", "who works for Acme Corp?", "--kg", str(people),
                                   "--question-model", str(tmp_path)])
    assert res.exit_code == 2, res.output  # an escaped ModelError would exit 1 with a traceback
    assert "no question model at" in res.output


def test_one_cache_root_honours_kgreason_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from agents.indexing import cache_root
    from knowledge.cache import default_cache_dir
    from knowledge.label_store import endpoint_labels_path

    monkeypatch.setenv("KGREASON_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c" and default_cache_dir() == tmp_path / "c" / "index"
    assert endpoint_labels_path("http://x/sparql").parent == tmp_path / "c" / "labels"
    monkeypatch.delenv("KGREASON_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "kgreason" / "index"
