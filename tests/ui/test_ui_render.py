"""The chat's rendering of proofs, traces and answer subgraphs."""
from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import URIRef

from ui.app_render import answers_markdown, proof_chain, proof_triples, subgraph_png, trace_rows

E = "http://kgreason.org/data/e/"
P = "http://kgreason.org/data/p/"
KISMET, DIETERLE, DIETRICH = URIRef(E + "Kismet"), URIRef(E + "William%20Dieterle"), URIRef(E + "Marlene")
DIRECTED = URIRef(P + "directed_by")
STARRED = URIRef(P + "starred_actors")
LABELS = {KISMET: "Kismet", DIETERLE: "William Dieterle", DIRECTED: "directed by", STARRED: "starred actors",
          DIETRICH: "Marlene Dietrich"}


def label(node: object) -> str:
    return LABELS[node]


@dataclass
class Answer:
    iri: URIRef
    label: str
    score: float
    proofs: list = field(default_factory=list)


@dataclass
class Step:
    agent: str
    input_summary: str
    output_summary: str
    ms: float
    status: str


def test_proof_chain_reads_as_labelled_triples() -> None:
    text = proof_chain([(KISMET, DIRECTED, DIETERLE)], label)
    assert text == "**Kismet** —directed by→ **William Dieterle**"
    assert "http" not in text


def test_answers_markdown_lists_answers_with_their_proofs_and_truncates() -> None:
    answers = [Answer(DIETERLE, "William Dieterle", 0.9, [((KISMET, DIRECTED, DIETERLE),)])]
    answers += [Answer(URIRef(E + str(i)), f"other {i}", 0.1) for i in range(12)]
    md = answers_markdown(answers, label, max_answers=3)
    assert md.splitlines()[0] == "- **William Dieterle** (score 0.90)"
    assert "proof: **Kismet** —directed by→ **William Dieterle**" in md
    assert "… and 10 more" in md
    assert "other 5" not in md


def test_conditions_are_shown_and_drawn_with_the_proofs() -> None:
    from agents.messages import Answer as TurnAnswer

    proof, condition = ((KISMET, DIRECTED, DIETERLE),), (KISMET, STARRED, DIETRICH)
    answer = TurnAnswer(DIETERLE, "William Dieterle", 1.0, [proof], conditions=[condition])
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


def test_subgraph_png_is_a_real_png_and_none_for_nothing() -> None:
    data = subgraph_png([(KISMET, DIRECTED, DIETERLE), (KISMET, STARRED, DIETRICH)], label, highlight=[DIETERLE])
    assert data is not None and data[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image
    import io

    image = Image.open(io.BytesIO(data))
    assert image.size == (700, 450)
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 20)) > 10  # something was drawn
    assert subgraph_png([], label) is None
