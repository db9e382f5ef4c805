"""Graphs bigger than memory: streaming atomic loads, the persistent label index, the store-backed view
(same answers as the memory view, on every store backend) and a missing --store refused."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rdflib import URIRef
from typer.testing import CliRunner

from agents.config import GraphSource, KGReasonConfig
from agents.coordinator import Coordinator
from knowledge.graph import KnowledgeGraph
from knowledge.label_store import LABELS_FILE
from knowledge.linker import EntityLinker
from knowledge.namespaces import entity_iri, property_iri
from reasoning.graphview import GraphView
from reasoning.paths import PathReasoner, PathStep
from reasoning.store_view import StoreView
from ui.cli import app

ROOT = Path(__file__).resolve().parents[2]
STORE_BACKENDS = ["oxigraph", pytest.param("sparql", marks=pytest.mark.integration)]


@pytest.fixture(params=STORE_BACKENDS)
def store_graph(request: pytest.FixtureRequest, tmp_path: Path, movies_file: Path):  # type: ignore[no-untyped-def]
    """The movie triples in an Oxigraph folder or behind a real `oxigraph serve` (label index in a temp cache)."""
    if request.param == "oxigraph":
        kg = KnowledgeGraph.open("oxigraph", tmp_path / "store")
    else:
        base = request.getfixturevalue("oxigraph_server")
        request.getfixturevalue("monkeypatch").setenv("KGREASON_CACHE", str(tmp_path / "cache"))
        kg = KnowledgeGraph.open("sparql", f"{base}/query", update_endpoint=f"{base}/update")
        kg.query("CLEAR ALL", allow_update=True)
    kg.load(movies_file)
    yield kg
    kg.close()


def _adjacency(view: GraphView, nodes: list, props: list) -> dict:
    return {(p, n, inv): sorted(map(str, (view.inc if inv else view.out)[p].get(n, ())))
            for p in props for n in nodes for inv in (False, True)}


def test_store_view_reads_what_the_memory_view_holds(store_graph: KnowledgeGraph) -> None:
    memory, store = GraphView.build(store_graph), StoreView(store_graph)
    props = memory.fact_properties()
    assert store.fact_properties() == props and len(props) == 3
    nodes = [entity_iri(n) for n in ("Kismet", "Marlene Dietrich", "Heat", "1995", "Nobody")]
    assert _adjacency(store, nodes, props) == _adjacency(memory, nodes, props)
    for n in nodes + props:
        assert store.label(n) == memory.label(n)
        assert store.property_label(n) == memory.property_label(n)
    kismet, directed = entity_iri("Kismet"), property_iri("directed_by")
    assert store.has(kismet, directed, entity_iri("William Dieterle"))
    assert not store.has(kismet, directed, entity_iri("Michael Mann"))
    assert store.by_label.get("marlene dietrich") == [entity_iri("Marlene Dietrich")]
    assert store.by_label.get("gregoire colin") == [entity_iri("Grégoire Colin")]  # accents folded
    assert store.by_label.get("nobody at all") is None
    # a 2-hop path (films of Kismet's star, then their directors) gives the same answers and proofs
    steps = (PathStep(property_iri("starred_actors")), PathStep(property_iri("starred_actors"), True),
             PathStep(directed))
    a, b = PathReasoner().run_view(memory, kismet, steps), PathReasoner().run_view(store, kismet, steps)
    assert a.answers == b.answers == {entity_iri("Josef von Sternberg"): [
        ((kismet, property_iri("starred_actors"), entity_iri("Marlene Dietrich")),
         (entity_iri("Shanghai Express"), property_iri("starred_actors"), entity_iri("Marlene Dietrich")),
         (entity_iri("Shanghai Express"), directed, entity_iri("Josef von Sternberg")))]}


def test_store_view_answers_like_memory_through_the_pipeline(store_graph: KnowledgeGraph) -> None:
    kind = "store" if store_graph.backend.name == "oxigraph" else "endpoint"
    answers = {}
    for view in ("memory", "store"):
        cfg = KGReasonConfig(graph=GraphSource(kind, location=store_graph.location), question_model=None, view=view)
        coord = Coordinator(cfg)
        coord.runtime._graph = store_graph  # the open graph (one RocksDB handle per folder)
        assert coord.runtime.uses_store_view() == (view == "store")
        result = coord.run("who directed Shanghai Express")
        answers[view] = [(a.label, a.proofs) for a in result.answers]
    assert answers["store"] == answers["memory"] and answers["store"][0][0] == "Josef von Sternberg"


def test_view_chosen_by_size(tmp_path: Path, movies_file: Path) -> None:
    with KnowledgeGraph.open("oxigraph", tmp_path / "s") as kg:
        kg.load(movies_file)
        size = len(kg)
        for limit, store in ((size + 1, False), (size, True)):
            cfg = KGReasonConfig(graph=GraphSource("store", location=str(tmp_path / "s")), question_model=None,
                                 memory_view_max_triples=limit)
            coord = Coordinator(cfg)
            coord.runtime._graph = kg
            assert coord.runtime.uses_store_view() is store
            assert isinstance(coord.runtime.view(), StoreView) is store


def test_label_index_persists_in_the_store_and_links_typos(tmp_path: Path, movies_file: Path) -> None:
    folder = tmp_path / "s"
    with KnowledgeGraph.open("oxigraph", folder) as kg:
        kg.load(movies_file)
    assert (folder / LABELS_FILE).is_file()
    with KnowledgeGraph.open("oxigraph", folder, create=False) as kg:
        labels = kg.labels()
        assert type(labels).__name__ == "LabelStore" and len(labels) == 14
        assert labels.exact("Heat") == [entity_iri("Heat")] and labels.exact("heat") == []
        assert [e.iri for e in labels.normalised("MARLENE dietrich")] == [entity_iri("Marlene Dietrich")]
        assert [e.iri for e in labels.partial("Dietrich")] == [entity_iri("Marlene Dietrich")]
        linker = EntityLinker(kg)
        best = linker.run("Marlene Dietrch").best
        assert best is not None and best.iri == entity_iri("Marlene Dietrich") and best.method == "fuzzy"
        assert linker.run("Zzyzx Qwerty").best is None
        # a later load updates the index in the same folder
        extra = tmp_path / "more.txt"
        extra.write_text("Solaris|directed_by|Andrei Tarkovsky\n", encoding="utf-8")
        kg.load(extra)
        assert kg.labels().exact("Andrei Tarkovsky") == [entity_iri("Andrei Tarkovsky")]
        assert kg.labels().exact("Heat") == [entity_iri("Heat")]


def test_missing_store_is_refused_not_created(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = tmp_path / "typo"
    for args in (["stats", "--store", str(missing)], ["ask", "who directed Kismet", "--store", str(missing)],
                 ["serve", "--store", str(missing)]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        assert "does not exist" in res.output and len(res.output.strip().splitlines()) == 1
        assert "Traceback" not in res.output
    assert not missing.exists()


def _load_cmd(path: Path, store: Path) -> list[str]:
    return [sys.executable, "-m", "ui.cli", "load", str(path), "--store", str(store)]


@pytest.mark.slow
def test_kill_9_during_a_load_leaves_the_store_before_or_after(tmp_path: Path, movies_file: Path) -> None:
    """A load killed with SIGKILL at several moments: the store holds exactly the old triples or exactly the
    new ones (and its label index matches), and the next load cleans up and succeeds."""
    big = tmp_path / "big.txt"
    big.write_text("".join(f"Film {i}|rel_{i % 7}|Person {i % 5000}\n" for i in range(60_000)), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    store = tmp_path / "store"

    def reset() -> int:
        shutil.rmtree(store, ignore_errors=True)
        with KnowledgeGraph.open("oxigraph", store) as kg:
            kg.load(movies_file)
            return len(kg)

    before = reset()
    t0 = time.monotonic()
    subprocess.run(_load_cmd(big, store), env=env, check=True, capture_output=True)
    full = time.monotonic() - t0
    with KnowledgeGraph.open("oxigraph", store, create=False) as kg:
        after = len(kg)
    assert after > before + 60_000
    outcomes = []
    for frac in (0.15, 0.35, 0.55, 0.7, 0.85, 0.95, 1.1):
        reset()
        proc = subprocess.Popen(_load_cmd(big, store), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(full * frac)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        with KnowledgeGraph.open("oxigraph", store, create=False) as kg:
            n = len(kg)
            assert n in (before, after), f"killed at {frac:.0%} of the load: {n} triples (before {before}, after {after})"
            new_label = kg.labels().exact("Film 59999")
            assert new_label == ([URIRef(entity_iri("Film 59999"))] if n == after else [])
            assert kg.labels().exact("Kismet") == [entity_iri("Kismet")]
        outcomes.append((killed, n == after))
    assert any(killed and not done for killed, done in outcomes), outcomes  # some kill landed mid-load
    res = subprocess.run(_load_cmd(big, store), env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert not list(tmp_path.glob(".store.kgreason-staging-*"))
    with KnowledgeGraph.open("oxigraph", store, create=False) as kg:
        assert len(kg) == after


# ------------------------------------------------------------------ the streaming converter and label index
_TRICKY = ("\ufeffAmélie|directed_by|Jean-Pierre Jeunet\r\n\r\n   \n"
           'A "q" \\ b|rel x|C<d>{e}%20 ^`\n'
           "Heat|directed_by|Michael Mann\nHeat|starred_actors|Al Pacino\nplaceOfBirth|is_a|camelCase thing")


@pytest.mark.parametrize("text,name", [
    (_TRICKY, "t.txt"),
    ("subject|relation|object\n" + _TRICKY.lstrip("\ufeff"), "h.txt"),  # a header line, detected
    (_TRICKY.replace("|", "\t"), "t.tsv"),
    ('"A, B",likes,C\nD,likes,"E ""F"""\n', "t.csv"),  # CSV quoting
])
@pytest.mark.parametrize("gz", [False, True])
def test_streamed_conversion_reads_what_the_memory_parser_reads(tmp_path: Path, text: str, name: str,
                                                                 gz: bool) -> None:
    import gzip

    import pyoxigraph as ox

    from knowledge.bulk_load import DelimitedToNTriples
    from knowledge.loaders import parse_delimited

    path = tmp_path / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(text.encode("utf-8")) if gz else text.encode("utf-8"))
    labels: list = []
    conv = DelimitedToNTriples(path, chunk_bytes=16, on_labels=labels.extend)  # many blocks, lines across them
    nt = b"".join(conv.chunks())
    streamed = {(q.subject.value, q.predicate.value, q.object.value) for q in ox.parse(nt, ox.RdfFormat.N_TRIPLES)}
    triples, entities = parse_delimited(text.lstrip("\ufeff"), path)
    assert streamed == {(str(s), str(p), str(o)) for s, p, o in triples}
    assert conv.entities == entities and len(labels) == entities and conv.rewritten == []
    assert sorted(labels) == sorted((str(s), str(o)) for s, p, o in triples
                                    if str(p).endswith("#label") and "/e/" in str(s))


def test_streamed_conversion_errors_name_the_line(tmp_path: Path) -> None:
    from knowledge.bulk_load import DelimitedToNTriples
    from knowledge.errors import EncodingError, ParseError

    good = "".join(f"Film {i}|directed_by|Person {i}\n" for i in range(6))
    for data, error, where in ((good + "x|y\n", ParseError, ":7"), (good + " |r|o\n", ParseError, ":7"),
                               (good.encode() + b"ab|r|\xffc\n", EncodingError, ":7:6")):
        path = tmp_path / "bad.txt"
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        with pytest.raises(error, match=f"{path}{where}"):
            b"".join(DelimitedToNTriples(path, chunk_bytes=40).chunks())
    res = CliRunner().invoke(app, ["load", str(path), "--store", str(tmp_path / "s")])
    assert res.exit_code == 2 and f"{path}:7:6" in res.output and "Traceback" not in res.output
    with KnowledgeGraph.open("oxigraph", tmp_path / "s", create=False) as kg:
        assert len(kg) == 0  # nothing of the load that failed (the converter stopped it after 6 good lines)


def _label_rows(folder: Path) -> tuple[list, dict, list]:
    """The rows, the metadata and what the FTS5 index finds for every trigram of the keys."""
    import sqlite3

    db = sqlite3.connect(folder / LABELS_FILE)
    try:
        db.execute("INSERT INTO keys (keys) VALUES ('integrity-check')")
        norms = [r[0] for r in db.execute("SELECT norm FROM labels")]
        grams = sorted({n[i:i + 3] for n in norms for i in range(len(n) - 2)})
        found = [(g, sorted(r[0] for r in db.execute("SELECT norm FROM keys WHERE keys MATCH ?",
                                                        ('"' + g.replace('"', '""') + '"',)))) for g in grams]
        return (sorted(db.execute("SELECT iri, label, norm FROM labels")),
                dict(db.execute("SELECT key, value FROM meta")), found)
    finally:
        db.close()


@pytest.mark.parametrize("listed", [100_000, 1])
def test_streamed_label_index_equals_a_scan_of_the_store(tmp_path: Path, movies_file: Path,
                                                         monkeypatch: pytest.MonkeyPatch, listed: int) -> None:
    """The label index a delimited load writes from its converter (fresh, on top of the previous index, with
    names written twice, listed or too many to list) holds exactly what indexing the store's label triples
    gives."""
    import pyoxigraph as ox

    import knowledge.bulk_load as bulk
    from knowledge.label_store import build_from_oxigraph

    store = tmp_path / "store"
    more = tmp_path / "more.txt"
    more.write_text("Heat|directed_by|Michael Mann\nSolaris|directed_by|Andrei Tarkovsky\n"
                    "Solaris|written_by|Stanisław Lem\nAndrei Tarkovsky|born_in|Zavrazhye\n", encoding="utf-8")
    vocab = tmp_path / "vocab.ttl"  # makes a named thing a class: its label leaves the index
    vocab.write_text(f"<{entity_iri('Zavrazhye')}> a <http://www.w3.org/2002/07/owl#Class> .\n", encoding="utf-8")
    monkeypatch.setattr(bulk, "_SEEN_NAMES", 3)  # names forgotten while streaming: labels written again
    monkeypatch.setattr(bulk, "_MAX_REWRITTEN", listed)
    scans: list = []
    monkeypatch.setattr(bulk, "build_from_oxigraph", lambda *a: scans.append(1) or build_from_oxigraph(*a))
    again = tmp_path / "again.txt"  # names met again after the converter forgot them
    again.write_text("A|r|B\nC|r|D\nE|r|F\nG|r|H\nA|r|H\nB|r|C\nFilmX|r|A\n", encoding="utf-8")
    for store, files in ((store, [again]), (store, [movies_file]), (store, [more]), (store, [vocab]),
                         (store, [more, movies_file]), (tmp_path / "two", [movies_file, more])):
        bulk.load_into_store(store, files)
        st = ox.Store(str(store))
        try:
            scanned = tmp_path / "scan"
            scanned.mkdir(exist_ok=True)
            build_from_oxigraph(st, scanned / LABELS_FILE, len(st)).close()
        finally:
            del st
        assert _label_rows(store) == _label_rows(scanned), files
    rows, meta, _ = _label_rows(tmp_path / "store")
    assert not any(iri == str(entity_iri("Zavrazhye")) for iri, _, _ in rows)
    assert (str(entity_iri("Stanisław Lem")), "Stanisław Lem", "stanisław lem") in rows
    assert len(scans) == 1  # only the Turtle file's load indexed the store's labels by scanning it
    assert len(_label_rows(tmp_path / "two")[0]) == 14 + 4  # each name once, though both files name Heat


_QUADS = ('<http://ex.org/a> <http://ex.org/knows> <http://ex.org/b> <http://ex.org/g1> .\n'
          '<http://ex.org/a> <http://www.w3.org/2000/01/rdf-schema#label> "Zoë Ñandú"@es .\n'
          '<http://ex.org/b> <http://www.w3.org/2000/01/rdf-schema#label> "Bea" <http://ex.org/g2> .\n'
          '<http://ex.org/b> <http://ex.org/age> "41"^^<http://www.w3.org/2001/XMLSchema#integer> <http://ex.org/g2> .\n'
          '_:x <http://ex.org/knows> <http://ex.org/a> <http://ex.org/g1> .\n'
          '<http://ex.org/a> <http://ex.org/knows> <http://ex.org/b> .\n')
_TRIG = ('@prefix ex: <http://ex.org/> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n'
         'ex:g1 { ex:a ex:knows ex:b . [] ex:knows ex:a . }\nex:a rdfs:label "Zoë Ñandú"@es .\n'
         'ex:g2 { ex:b rdfs:label "Bea" ; ex:age 41 . }\nex:a ex:knows ex:b .\n')


@pytest.mark.parametrize("name, text", [("g.nq", _QUADS), ("g.trig", _TRIG)])
@pytest.mark.parametrize("gz", [False, True])
def test_streamed_quads_load_what_the_memory_parser_reads(tmp_path: Path, name: str, text: str, gz: bool) -> None:
    """N-Quads / TriG stream into a store (parsed as read, not whole): the same triples as the in-memory parse,
    named graphs merged into the default graph, blank nodes fresh per load, labels indexed."""
    import gzip

    import pyoxigraph as ox

    from knowledge.bulk_load import load_into_store
    from knowledge.loaders import parse_file

    def key(t: tuple) -> tuple:
        return tuple("_:" if isinstance(x, (ox.BlankNode, BNode)) else str(getattr(x, "value", x)) for x in t)

    from rdflib import BNode

    path = tmp_path / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(text.encode("utf-8")) if gz else text.encode("utf-8"))
    store = tmp_path / "store"
    for _ in range(2):  # loaded twice: the blank node is a new one each time, the rest is already there
        load_into_store(store, [path])
    st = ox.Store(str(store))
    try:
        quads = list(st)
        assert all(q.graph_name == ox.DefaultGraph() for q in quads)
        streamed = sorted(key((q.subject, q.predicate, q.object)) for q in quads)
    finally:
        del st
    memory = [key(t) for t in parse_file(path).triples]
    assert len(memory) == 6 and len(set(memory)) == 5  # <a> knows <b> twice: in a named graph and in the default
    assert set(streamed) == set(memory) and len(streamed) == 6  # the blank node twice (two loads), the rest once
    with KnowledgeGraph.open("oxigraph", store, create=False) as kg:
        assert kg.labels().exact("Zoë Ñandú") == [URIRef("http://ex.org/a")]
        assert kg.labels().exact("Bea") == [URIRef("http://ex.org/b")]


@pytest.mark.parametrize("name, text, where", [
    ("bad.nq", _QUADS + '<http://ex.org/c> <http://ex.org/knows> "open .\n', ":7:"),
    ("bad.trig", _TRIG + "ex:g3 { ex:c ex:knows ex:d \n", ":8:"),
])
def test_a_bad_streamed_quads_file_names_its_line_and_changes_nothing(tmp_path: Path, name: str, text: str,
                                                                     where: str) -> None:
    from knowledge.errors import ParseError
    from knowledge.loaders import parse_file

    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParseError, match=f"{path}{where}") as memory:
        parse_file(path)
    good = tmp_path / "good.nq"
    good.write_text(_QUADS, encoding="utf-8")
    res = CliRunner().invoke(app, ["load", str(good), "--store", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["load", str(path), "--store", str(tmp_path / "s")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.output.strip().splitlines()[-1].endswith(str(memory.value).split(f"{path}", 1)[1]), res.output
    with KnowledgeGraph.open("oxigraph", tmp_path / "s", create=False) as kg:
        assert len(kg) == 5  # the good load only


@pytest.mark.parametrize("name", ["big.nq", "big.trig"])
def test_quads_stream_into_a_store_in_bounded_memory(tmp_path: Path, name: str) -> None:
    """A 3-4 MB N-Quads / TriG file is not held in memory as it loads: Python allocates far less than the file
    (parsed whole, as before, it was ~31 MB of terms)."""
    import tracemalloc

    from knowledge.bulk_load import load_into_store

    n = 40_000
    path = tmp_path / name
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            triple = f"<http://ex.org/e{i}> <http://ex.org/p{i % 7}> <http://ex.org/e{i * 7 % n}>"
            out.write(f"{triple} <http://ex.org/g{i % 3}> .\n" if name.endswith(".nq") else
                      f"<http://ex.org/g{i % 3}> {{ {triple} . }}\n")
    tracemalloc.start()
    try:
        load_into_store(tmp_path / "store", [path])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < path.stat().st_size / 2, (peak, path.stat().st_size)
    with KnowledgeGraph.open("oxigraph", tmp_path / "store", create=False) as kg:
        assert len(kg) == n
