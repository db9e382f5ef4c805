"""One suite over every store backend: loading, neighbours, SPARQL, labels, stats, atomic failed loads."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from rdflib import RDFS, Literal, URIRef

from knowledge.errors import BackendError, EmptyInputError, EncodingError, MissingFileError, ParseError, \
    QueryError, UpdateRefused
from knowledge.graph import KnowledgeGraph
from knowledge.namespaces import entity_iri, property_iri
from knowledge.stores import backend_names, get_backend


def test_registry_names_every_backend() -> None:
    assert backend_names() == ["memory", "oxigraph", "sparql"]
    with pytest.raises(BackendError, match="unknown backend 'neo4j'"):
        get_backend("neo4j")


def test_load_and_walk(backend_graph: KnowledgeGraph, movies_file: Path) -> None:
    report = backend_graph.load(movies_file)
    assert report.entities == 14
    assert report.triples_added == len(backend_graph) > 10
    kismet, starred = entity_iri("Kismet"), property_iri("starred_actors")
    marlene = entity_iri("Marlene Dietrich")
    assert backend_graph.objects(kismet, starred) == [marlene]
    assert sorted(backend_graph.subjects(starred, marlene)) == sorted([kismet, entity_iri("Shanghai Express")])
    assert backend_graph.label(entity_iri("Beau Travail")) == "Beau Travail"
    assert backend_graph.label(property_iri("directed_by")) == "directed by"
    assert backend_graph.label(entity_iri("Grégoire Colin")) == "Grégoire Colin"
    # loading the same file again adds nothing new
    assert backend_graph.load(movies_file).triples_added == 0


def test_query_binds_values_and_refuses_updates(backend_graph: KnowledgeGraph, movies_file: Path) -> None:
    backend_graph.load(movies_file)
    res = backend_graph.query("SELECT ?m WHERE { ?m ?p ?who } ORDER BY ?m",
                              {"p": property_iri("starred_actors"), "who": entity_iri("Marlene Dietrich")})
    assert [r[0] for r in res.rows] == sorted([entity_iri("Kismet"), entity_iri("Shanghai Express")])
    # a hostile value stays a value: no injection through bindings
    evil = 'x" } ; DROP ALL ; SELECT * WHERE { ?s ?p "'
    assert backend_graph.query("SELECT ?s WHERE { ?s ?p ?name }", {"name": Literal(evil)}).rows == []
    assert backend_graph.query("ASK { ?s ?p ?o }").boolean is True
    before = len(backend_graph)
    with pytest.raises(UpdateRefused):
        backend_graph.query("DELETE WHERE { ?s ?p ?o }")
    assert len(backend_graph) == before
    backend_graph.query("INSERT DATA { <http://ex.org/a> <http://ex.org/b> <http://ex.org/c> }", allow_update=True)
    assert len(backend_graph) == before + 1


def test_bad_sparql_names_line_and_column(backend_graph: KnowledgeGraph) -> None:
    with pytest.raises(QueryError, match=r"<query>:2:\d+"):
        backend_graph.query("SELECT ?s\nWHERE { ?s ?p }}")


def test_labels_follow_changes(backend_graph: KnowledgeGraph, movies_file: Path) -> None:
    backend_graph.load(movies_file)
    assert backend_graph.labels().exact("Heat") == [entity_iri("Heat")]
    new = URIRef("http://ex.org/new")
    backend_graph.add([(new, RDFS.label, Literal("Brand New"))])
    assert backend_graph.labels().exact("Brand New") == [new]


def test_stats_count_properties(backend_graph: KnowledgeGraph, movies_file: Path) -> None:
    backend_graph.load(movies_file)
    st = backend_graph.stats()
    assert st.triples == len(backend_graph)
    assert st.entities == 14
    assert st.properties["directed by"] == 4 and st.properties["starred actors"] == 4


BAD_INPUTS = {
    "bad.ttl": (b"@prefix ex: <http://ex.org/> .\nex:a ex:b ex:c .\nex:a ex:b \"open .\n", ParseError, r":3:\d+"),
    "two.txt": (b"a|r|b\nc|r\nd|r|e\n", ParseError, r":2: expected 3 fields.*found 2"),
    "four.txt": (b"a|r|b\nc|r|d\n\nd|r|e|f\n", ParseError, r":4: expected 3 fields.*found 4"),
    "empty.nt": (b"", EmptyInputError, r"empty"),
    "latin1.txt": ("a|r|b\nc|r|Gr\xe9goire\n".encode("latin-1"), EncodingError, r":2:7: not UTF-8"),
    "blob.bin": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", EncodingError, r"binary file"),
    "cut.txt.gz": (gzip.compress(b"".join(b"a%d|r|b%d\n" % (i, i * i) for i in range(5000)))[:2000], ParseError, r"truncated gzip data"),
    "blob.txt.gz": (gzip.compress(b"a|r|b\n\x00\x01"), EncodingError, r":2: binary file"),
    "blank.nt.gz": (gzip.compress(b" \n" * 10_000), EmptyInputError, r"empty"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_file_leaves_graph_unchanged(backend_graph: KnowledgeGraph, movies_file: Path, tmp_path: Path,
                                         name: str) -> None:
    data, error, pattern = BAD_INPUTS[name]
    bad = tmp_path / name
    bad.write_bytes(data)
    backend_graph.load(movies_file)
    before = set(backend_graph.triples((None, None, None)))
    good = tmp_path / "good.txt"
    good.write_text("Solaris|directed_by|Andrei Tarkovsky\n", encoding="utf-8")
    with pytest.raises(error, match=pattern) as info:
        backend_graph.load([good, bad])  # the good file comes first: still nothing may be added
    assert str(bad) in str(info.value)
    assert set(backend_graph.triples((None, None, None))) == before


def test_white_space_before_the_first_triple_is_no_empty_file(backend_graph: KnowledgeGraph, tmp_path: Path) -> None:
    """More blank lines than the checked head of a file (8 KiB) before the data: the file is read, not refused."""
    for name, data in (("late.txt", b"\n" * 10_000 + b"Solaris|directed_by|Andrei Tarkovsky\n"),
                       ("late.nt.gz", gzip.compress(b" \n" * 10_000 + b"<urn:a> <urn:b> <urn:c> .\n"))):
        (tmp_path / name).write_bytes(data)
        backend_graph.load(tmp_path / name)
    assert backend_graph.objects(entity_iri("Solaris"), property_iri("directed_by")) == [entity_iri("Andrei Tarkovsky")]
    assert backend_graph.objects(URIRef("urn:a"), URIRef("urn:b")) == [URIRef("urn:c")]


def test_missing_file(backend_graph: KnowledgeGraph, tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="nope.ttl: no such file"):
        backend_graph.load(tmp_path / "nope.ttl")
    assert len(backend_graph) == 0


def test_oxigraph_store_persists(tmp_path: Path, movies_file: Path) -> None:
    with KnowledgeGraph.open("oxigraph", tmp_path / "db") as kg:
        kg.load(movies_file)
        size = len(kg)
    with KnowledgeGraph.open("oxigraph", tmp_path / "db") as again:
        assert len(again) == size
        assert again.objects(entity_iri("Heat"), property_iri("directed_by")) == [entity_iri("Michael Mann")]


def test_hostile_names_round_trip(backend_graph: KnowledgeGraph, tmp_path: Path) -> None:
    """Names full of SPARQL syntax are data, stored and read back exactly (no injection on any store)."""
    name = 'O"Brien } ; DROP ALL ; INSERT DATA { <urn:x> <urn:y> "z" } # \\ \'quoted\''
    path = tmp_path / "evil.txt"
    path.write_text(f"{name}|directed_by|Ana Lily Amirpour\n", encoding="utf-8")
    backend_graph.load(path)
    evil = entity_iri(name)
    assert backend_graph.label(evil) == name
    assert backend_graph.objects(evil, property_iri("directed_by")) == [entity_iri("Ana Lily Amirpour")]
    res = backend_graph.query("SELECT ?s WHERE { ?s ?label ?name }", {"label": RDFS.label, "name": Literal(name)})
    assert [r[0] for r in res.rows] == [evil]
    assert URIRef("urn:x") not in {t[0] for t in backend_graph.triples((None, None, None))}
