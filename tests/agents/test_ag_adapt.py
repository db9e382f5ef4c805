"""Background adaptation (agents.adapt.AdaptationJob) when a newer graph load supersedes a running training:
the old training stops at its next progress report, and its model is neither used nor cached."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from agents.adapt import AdaptationJob, cached_model, fingerprint_of

pytestmark = pytest.mark.slow  # real (tiny-encoder) training, ~15 s

LAB = Path(__file__).resolve().parents[1] / "data" / "lab_graph.txt"


def _graph(*paths: Path):
    from knowledge.graph import KnowledgeGraph

    kg = KnowledgeGraph.open("memory")
    kg.load(list(paths))
    return kg


def _reading():
    return threading.Lock()  # a context manager, as the server's read lock is


def test_a_superseded_training_stops_promptly_and_its_model_is_dropped(tiny_bert: Path, tmp_path: Path) -> None:
    first = _graph(LAB)
    extra = tmp_path / "more.txt"
    extra.write_text("ada_lovelace|lives_in|london\n", encoding="utf-8")
    second = _graph(LAB, extra)
    ready: list[Path] = []
    cache = tmp_path / "graphmodel"
    # a 600 s budget: left alone, the first training synthesises and reads tens of thousands of questions
    job = AdaptationJob(ready.append, cache_dir=cache, max_seconds=600, base=str(tiny_bert))
    job.start(first, _reading)
    old = job._thread
    deadline = time.monotonic() + 120
    while job.status().message in ("", "reading the graph"):  # wait until it is training
        assert time.monotonic() < deadline and old.is_alive(), job.status()
        time.sleep(0.05)
    assert job.status().state == "training"
    job.max_seconds = 8  # the second graph's training is short
    job.start(second, _reading)
    assert job.status().superseded == 1 and "previous graph's training was stopped" in job.status().markdown()
    stopped = time.monotonic()
    old.join(15)
    assert not old.is_alive(), "the superseded training kept running"
    assert time.monotonic() - stopped < 15
    assert not cached_model(fingerprint_of(first), cache).exists()
    status = job.join(300)
    assert status.state == "ready" and status.to_dict()["superseded"] == 1, status
    assert ready == [cached_model(fingerprint_of(second), cache)]
    assert [p.name for p in cache.iterdir()] == [ready[0].name]  # no partial folder of the first left behind


def test_pair_training_reports_within_an_epoch_so_a_stop_is_prompt(tiny_bert: Path, tmp_path: Path) -> None:
    """The head's training reports every `log_every` steps, not only after each epoch: a progress callback that
    raises (as a superseded adaptation's does) stops it mid-epoch, and no model folder is written."""
    from agents.graphmodel import GraphQuestionSynthesiser
    from finetune.pathpairs import PairTrainer
    from finetune.train import TrainingArguments
    from reasoning.graphview import GraphView

    examples, _ = GraphQuestionSynthesiser(seed=0).run(GraphView.build(_graph(LAB)), 60)
    seen: list[dict] = []

    class Stop(Exception):
        pass

    def progress(info: dict) -> None:
        seen.append(info)
        if info["stage"] == "training":
            raise Stop

    args = TrainingArguments(lr=2e-3, batch_size=4, max_length=48, epochs=3, log_every=5, seed=0)
    with pytest.raises(Stop):
        PairTrainer(args, str(tiny_bert)).run(examples[:48], examples[48:], tmp_path / "m", labels={}, data={},
                                              command="test", on_progress=progress)
    assert seen[-1] == {"stage": "training", "done": 5, "total": 3 * 12}  # step 5 of 12 in the first epoch
    assert not (tmp_path / "m").exists()
