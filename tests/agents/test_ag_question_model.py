"""The question-model path end to end: a small joint model trained here (tiny BERT, synthetic questions over
a non-movie graph) drives the Extractor and Planner; answers come with proofs."""
from __future__ import annotations

from pathlib import Path

import pytest

from agents.config import GraphSource, KGReasonConfig
from agents.coordinator import Coordinator

FACTS = """john smith|works_for|acme corp
peter blackburn|works_for|acme corp
paris|works_for|berlin corp
acme corp|located_in|london
berlin corp|located_in|paris
john smith|lives_in|paris
peter blackburn|lives_in|berlin
"""
ONTOLOGY = """@prefix kgo: <http://kgreason.org/ontology#> .
@prefix p: <http://kgreason.org/data/p/> .
p:works_for kgo:subjectRole "person" ; kgo:objectRole "employer" .
p:lives_in kgo:subjectRole "person" ; kgo:objectRole "city" .
p:located_in kgo:subjectRole "employer" ; kgo:objectRole "city" .
"""
TEMPLATES = [("who does [{p}] work for", "person_to_employer"),
             ("which people work for [{c}]", "employer_to_person"),
             ("what city does [{p}] live in", "person_to_city"),
             ("what city is the employer of [{p}] in", "person_to_employer_to_city")]
PEOPLE, COMPANIES = ["john smith", "peter blackburn", "paris"], ["acme corp", "berlin corp"]


@pytest.fixture(scope="module")
def question_model(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from finetune.questions import QuestionTrainer
    from finetune.train import TrainingArguments

    torch.set_num_threads(1)  # tiny matmuls: more OpenMP threads only add contention on a shared CPU

    d = tmp_path_factory.mktemp("qm")
    lines, types = [], []
    for _ in range(4):
        for text, label in TEMPLATES:
            for name in (COMPANIES if "{c}" in text else PEOPLE):
                lines.append(text.format(p=name, c=name) + "\tX")
                types.append(label)
    (d / "q.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (d / "q_qtype.txt").write_text("\n".join(types) + "\n", encoding="utf-8")
    (d / "dev.txt").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    (d / "dev_qtype.txt").write_text("\n".join(types[:4]) + "\n", encoding="utf-8")
    # the tiny encoder is random: train all of it (LoRA on random weights learns too slowly for a test)
    args = TrainingArguments(epochs=30, lr=1e-2, batch_size=8, max_length=32, progress=False, device="cpu",
                             patience=0, seed=0, adapter="full")
    run = QuestionTrainer(args, str(tiny_bert)).run(d / "q.txt", None, d / "dev.txt", None, d / "model")
    assert run.result.last_loss < run.result.first_loss
    return run.out


@pytest.fixture(scope="module")
def graph_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("people")
    (d / "facts.txt").write_text(FACTS, encoding="utf-8")
    (d / "roles.ttl").write_text(ONTOLOGY, encoding="utf-8")
    return d / "facts.txt", d / "roles.ttl"


CASES = [
    ("who does john smith work for", "person_to_employer", {"acme corp"}),
    ("which people work for acme corp", "employer_to_person", {"john smith", "peter blackburn"}),
    ("what city does peter blackburn live in", "person_to_city", {"berlin"}),
    ("what city is the employer of john smith in", "person_to_employer_to_city", {"london"}),
]


@pytest.mark.parametrize("question, label, expected", CASES)
def test_trained_question_model_drives_the_pipeline(question_model: Path, graph_files, question: str,
                                                    label: str, expected: set[str]) -> None:
    cfg = KGReasonConfig(graph=GraphSource("files", graph_files), question_model=question_model)
    with Coordinator(cfg) as coord:
        result = coord.run(question)
        batch = coord.run_batch([question, question])
    assert result.path == label, result.trace[0].output_summary
    assert {a.label for a in result.answers} == expected
    assert result.trace[0].output_summary.startswith("mention") and "path " + label in result.trace[0].output_summary
    rdf = coord.graph.rdf
    assert all(t in rdf for a in result.answers for p in a.proofs for t in p)
    assert [[a.label for a in r.answers] for r in batch] == [[a.label for a in result.answers]] * 2
    assert all(r.ms > 0 for r in batch)


def test_run_batch_in_chunks_matches_single_runs(question_model: Path, graph_files) -> None:
    """Batched runs parse the questions ahead, a chunk at a time (the next chunk on the pool): the same
    paths, answers, replies and trace steps as one question at a time."""
    questions = [q for q, _, _ in CASES]
    cfg = KGReasonConfig(graph=GraphSource("files", graph_files), question_model=question_model)
    with Coordinator(cfg) as coord:
        single = [coord.run(q) for q in questions]
        batch = coord.run_batch(questions, batch_size=3)  # two chunks

    def seen(r):  # noqa: ANN001, ANN202
        return r.path, [a.label for a in r.answers], r.reply, [(s.agent, s.output_summary, s.status) for s in r.trace]

    assert [seen(r) for r in batch] == [seen(r) for r in single]
    assert [r.path for r in batch] == [label for _, label, _ in CASES]
