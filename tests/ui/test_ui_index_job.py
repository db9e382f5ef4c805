"""The chat's background retrieval index: built with progress on the first start, loaded from the cache after."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from knowledge.embeddings import Embedder
from knowledge.graph import KnowledgeGraph
from knowledge.retrieval import cache_folder, graph_fingerprint
from agents.index_job import IndexJob, IndexStatus
from agents.locks import ReadWriteLock

KB = """Kismet|directed_by|William Dieterle
Kismet|starred_actors|Marlene Dietrich
Once Were Warriors|starred_actors|Temuera Morrison
Casablanca|directed_by|Michael Curtiz
"""


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture()
def graph(tmp_path: Path) -> KnowledgeGraph:
    kb = tmp_path / "kb.txt"
    kb.write_text(KB, encoding="utf-8")
    g = KnowledgeGraph.open("memory")
    g.load(kb, delimiter="|")
    return g


def test_first_start_builds_with_progress_then_warm_start_loads(graph: KnowledgeGraph, embedder: Embedder,
                                                                tmp_path: Path) -> None:
    got: list = []
    seen: list[IndexStatus] = []
    job = IndexJob(got.append, cache_dir=tmp_path / "cache", embedder=embedder)
    lock = ReadWriteLock()
    job.start(graph, lock.reading)
    while job.join(0.01).state not in ("ready", "failed"):
        seen.append(job.status())
    status = job.status()
    assert status.state == "ready", status.message
    assert status.counts == {"entity": 7, "fact": 4} and status.fraction == 1.0
    # what the chat showed meanwhile: a first start builds (the encoder loads first, so it is seen building),
    # counting up to the 11 texts, never past them and never backwards
    building = [s for s in seen if s.state == "building"]
    assert building and {s.state for s in seen} <= {"loading", "building", "ready"}
    assert all(s.total == 11 and 0 <= s.done <= s.total for s in building)
    fractions = [s.fraction for s in building]
    assert fractions == sorted(fractions) and "texts embedded" in building[-1].markdown()
    assert "ready" in status.markdown() and "7 entity" in status.markdown()
    assert len(got) == 1
    hits = got[0].search("who directed Kismet", k=1, kind="fact")
    assert hits[0].label == "Kismet directed by William Dieterle"
    folder = cache_folder(graph_fingerprint(graph), tmp_path / "cache")
    assert (folder / "manifest.json").is_file()
    saved = (folder / "manifest.json").stat().st_mtime_ns
    # warm start: opened from the cache, nothing rebuilt
    again: list = []
    job2 = IndexJob(again.append, cache_dir=tmp_path / "cache", embedder=embedder)
    assert job2.start(graph, lock.reading).join(60).state == "ready"
    assert (folder / "manifest.json").stat().st_mtime_ns == saved
    assert again[0].counts() == got[0].counts()


def test_build_waits_for_a_writer_and_a_restart_supersedes(graph: KnowledgeGraph, embedder: Embedder,
                                                          tmp_path: Path) -> None:
    got: list = []
    job = IndexJob(got.append, cache_dir=tmp_path / "cache", embedder=embedder)
    lock = ReadWriteLock()
    release = threading.Event()

    def writer() -> None:
        with lock.writing():
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    job.start(graph, lock.reading)  # blocked on the read lock while the writer holds the graph
    first_thread = job._thread
    job.start(graph, lock.reading)  # the graph "changed": a second job supersedes the first
    release.set()
    t.join()
    assert first_thread is not None
    first_thread.join(60)
    assert job.join(60).state == "ready"
    assert len(got) == 1  # only the newest job hands over its index


def test_failure_is_reported_not_raised(graph: KnowledgeGraph, tmp_path: Path) -> None:
    job = IndexJob(lambda index: None, cache_dir=tmp_path / "cache", embedder=Embedder(tmp_path / "no-model"))
    status = job.start(graph, ReadWriteLock().reading).join(60)
    assert status.state == "failed" and "no-model" in status.message
    assert "not available" in status.markdown()


def test_a_load_embeds_only_what_it_adds_and_is_cached_for_the_next_start(graph: KnowledgeGraph,
                                                                           tmp_path: Path) -> None:
    from knowledge.retrieval import KnowledgeIndex

    got: list = []
    cache = tmp_path / "cache"
    job = IndexJob(got.append, cache_dir=cache)
    lock = ReadWriteLock()
    first = job.start(graph, lock.reading).join(120)
    assert first.state == "ready" and first.total == 11 and "11 texts embedded" in first.markdown()
    acme = Path(__file__).resolve().parents[1] / "data" / "acme.ttl"
    report = graph.load([acme])
    assert report.triples is not None and len(report.triples) == 59
    status = job.extend(got[0], graph, report.triples, lock.reading, lock.writing, cache).join(120)
    assert status.state == "ready", status.message
    # what a rebuild of the grown graph holds, with only the load's texts embedded (the first graph's 11 not again)
    rebuilt = KnowledgeIndex.build(graph, tmp_path / "full")
    assert status.counts == rebuilt.counts() and status.counts["entity"] == 7 + 10
    assert status.total == sum(status.counts.values()) - sum(first.counts.values())
    assert f"{status.total} texts embedded for the last load" in status.markdown()
    hits = got[0].search("Dev Patel reports to", k=3, kind="fact")
    assert any(h.label == "Dev Patel reports to Ann Lee" for h in hits), hits
    reopened = KnowledgeIndex.open_cached(graph_fingerprint(graph), ("entity", "fact"), None, cache)
    assert reopened is not None and reopened.counts() == status.counts  # the next start opens it
