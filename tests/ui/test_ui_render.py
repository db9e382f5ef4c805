"""The chat's rendering of proofs, traces and answer subgraphs."""
from __future__ import annotations

from rdflib import URIRef

from agents.messages import Answer, StepRecord as Step, TurnResult
from ui.app_render import (NODE_COLOURS, answer_details, answers_markdown, chain_start, proof_chain, proof_triples,
                           reply_markdown, subgraph_svg, trace_rows)

E = "http://kgreason.org/data/e/"
P = "http://kgreason.org/data/p/"
KISMET, DIETERLE, DIETRICH = URIRef(E + "Kismet"), URIRef(E + "William%20Dieterle"), URIRef(E + "Marlene")
DIRECTED = URIRef(P + "directed_by")
STARRED = URIRef(P + "starred_actors")
LABELS = {KISMET: "Kismet", DIETERLE: "William Dieterle", DIRECTED: "directed by", STARRED: "starred actors",
          DIETRICH: "Marlene Dietrich"}


def label(node: object) -> str:
    return LABELS[node]


def test_proof_chain_reads_as_labelled_triples() -> None:
    text = proof_chain([(KISMET, DIRECTED, DIETERLE)], label)
    assert text == "**Kismet** —directed by→ **William Dieterle**"
    assert "http" not in text


def test_answers_markdown_lists_answers_with_their_proofs_and_truncates() -> None:
    answers = [Answer(DIETERLE, "William Dieterle", 0.9, [((KISMET, DIRECTED, DIETERLE),)])]
    answers += [Answer(URIRef(E + str(i)), f"other {i}", 0.1, []) for i in range(12)]
    md = answers_markdown(answers, label, max_answers=3)
    assert md.splitlines()[0] == "- **William Dieterle** (score 0.90)"
    assert "proof: **Kismet** —directed by→ **William Dieterle**" in md
    assert "… and 10 more" in md
    assert "other 5" not in md


def test_conditions_are_shown_and_drawn_with_the_proofs() -> None:
    proof, condition = ((KISMET, DIRECTED, DIETERLE),), (KISMET, STARRED, DIETRICH)
    answer = Answer(DIETERLE, "William Dieterle", 1.0, [proof], conditions=[condition])
    assert "  - and: **Kismet** —starred actors→ **Marlene Dietrich**" in answers_markdown([answer], label)
    assert proof_triples([answer]) == [proof[0], condition]
    assert answer.to_dict()["conditions"] == [[str(x) for x in condition]]


def test_trace_rows_keep_agent_action_and_ms() -> None:
    rows = trace_rows([Step("linker", "who directed Kismet", "Kismet (exact)\n", 12.345, "ok")])
    assert rows == [["linker", "who directed Kismet", "Kismet (exact)", 12.3, "ok"]]


def test_proof_triples_are_distinct_and_ordered() -> None:
    t1, t2 = (KISMET, DIRECTED, DIETERLE), (KISMET, STARRED, DIETRICH)
    answers = [Answer(DIETERLE, "W", 1.0, [(t1,), (t1, t2)]), Answer(DIETRICH, "M", 1.0, [(t2,)])]
    assert proof_triples(answers) == [t1, t2]


def _boxes(svg: str) -> list[tuple[float, float, float, float]]:
    import re

    return [tuple(map(float, m)) for m in re.findall(  # type: ignore[misc]
        r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" rx="8"', svg)]


def test_subgraph_svg_draws_a_two_hop_answer_without_overlaps_and_says_what_is_left_out() -> None:
    films = [URIRef(E + f"film{i}") for i in range(17)]
    for i, f in enumerate(films):
        LABELS[f] = f"A film with a rather long title number {i}"
    triples = [(KISMET, DIRECTED, DIETERLE)] + [(f, DIRECTED, DIETERLE) for f in films[:8]]
    svg = subgraph_svg(triples, label, topic=KISMET, answers=films, hover={films[0]: "Kismet —directed by→ ..."},
                       total_answers=17)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script" not in svg and "href" not in svg and svg.count("http") == 1  # only the xmlns: nothing fetched
    boxes = _boxes(svg)
    assert len(boxes) == 10  # Kismet, Dieterle, 8 films
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            (x1, y1, w1, h1), (x2, y2, w2, h2) = boxes[a], boxes[b]
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1, (boxes[a], boxes[b])
    assert NODE_COLOURS["topic"][0] in svg and NODE_COLOURS["answer"][0] in svg  # topic, answers distinct
    assert "8 of 17 answers drawn" in svg
    assert "<title>A film with a rather long title number 0\nKismet —directed by→ ...</title>" in svg  # hover
    assert "A film with a rather long t…" in svg  # names fit their boxes
    assert svg.count("directed by") >= 2  # the gap's heading and the legend, not one label per edge
    assert subgraph_svg([], label) == ""


def test_chain_start_walks_back_to_the_topic() -> None:
    proof = ((KISMET, DIRECTED, DIETERLE), (DIETRICH, STARRED, KISMET))
    assert chain_start(proof[:1], DIETERLE) == KISMET
    assert chain_start(((KISMET, DIRECTED, DIETERLE), (KISMET, STARRED, DIETRICH)), DIETRICH) == DIETERLE


def test_reply_keeps_its_lines_and_the_panel_does_not_repeat_it() -> None:
    reply = "William Dieterle.\n  William Dieterle: Kismet —directed by→ William Dieterle"
    assert reply_markdown(reply) == "William Dieterle.\n\n- William Dieterle: Kismet —directed by→ William Dieterle"

    steps = [Step("retriever", "q", "10 facts, 2 passages", 3.0, "ok"), Step("linker", "q", "Kismet", 1.0, "ok")]
    answer = Answer(DIETERLE, "William Dieterle", 1.0, [((KISMET, DIRECTED, DIETERLE),)])
    panel = answer_details(TurnResult("who directed Kismet", [answer], reply, True, steps, topic="Kismet",
                                      path="movie_to_director"), label)
    assert panel.startswith("**1 answer** to “who directed Kismet” · about Kismet · path `movie_to_director`"
                            " · retriever: 10 facts, 2 passages")
    assert "William Dieterle." not in panel and panel.count("proof:") == 1
    assert answer_details(TurnResult("who directed Kismet", [], "No answer.", False, steps), label).startswith(
        "**No answer** to “who directed Kismet” · retriever: 10 facts")


def test_finetune_job_line_says_done_once() -> None:
    from agents.training_jobs import TrainingStatus
    from ui.app import _job_text

    done = TrainingStatus(task="ner", state="done", message="done: model saved in /m/ner-1")
    assert _job_text(done) == "**The ner model is trained**: model saved in /m/ner-1."
    assert "done" not in _job_text(done).lower()
    assert _job_text(TrainingStatus()) == ""


def test_training_metrics_read_as_one_row_per_epoch() -> None:
    from ui.app import metrics_table

    table = metrics_table([(1, {"f1": 0.51234, "train_loss": 2.0}),
                           (2, {"f1": 0.6, "train_loss": 1.5, "seconds": 3.0})])
    assert table["headers"] == ["epoch", "f1", "train_loss", "seconds"]
    assert table["data"] == [[1, 0.5123, 2.0, ""], [2, 0.6, 1.5, 3.0]]
    assert metrics_table([]) == {"headers": ["epoch"], "data": []}
