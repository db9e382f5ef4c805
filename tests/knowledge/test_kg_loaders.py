"""Every input format reads to the same triples; delimiters are detected from content; names keep Unicode."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from rdflib import RDFS, Literal, URIRef

from knowledge.errors import InputError, ParseError
from knowledge.graph import KnowledgeGraph
from knowledge.loaders import detect_format, parse_file
from knowledge.namespaces import entity_iri, property_iri

EX = "http://ex.org/"
SAMPLES = {
    "g.ttl": '@prefix ex: <http://ex.org/> .\nex:a ex:knows ex:b ; ex:name "Zoë"@en .\n',
    "g.nt": '<http://ex.org/a> <http://ex.org/knows> <http://ex.org/b> .\n'
            '<http://ex.org/a> <http://ex.org/name> "Zoë"@en .\n',
    "g.nq": '<http://ex.org/a> <http://ex.org/knows> <http://ex.org/b> <http://ex.org/g> .\n'
            '<http://ex.org/a> <http://ex.org/name> "Zoë"@en .\n',
    "g.trig": '@prefix ex: <http://ex.org/> .\nex:g { ex:a ex:knows ex:b . }\nex:a ex:name "Zoë"@en .\n',
    "g.rdf": '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
             'xmlns:ex="http://ex.org/">\n<rdf:Description rdf:about="http://ex.org/a">\n'
             '<ex:knows rdf:resource="http://ex.org/b"/>\n<ex:name xml:lang="en">Zoë</ex:name>\n'
             '</rdf:Description>\n</rdf:RDF>\n',
    "g.jsonld": '{"@id": "http://ex.org/a", "http://ex.org/knows": {"@id": "http://ex.org/b"},\n'
                ' "http://ex.org/name": {"@value": "Zoë", "@language": "en"}}\n',
}
EXPECTED = {(URIRef(EX + "a"), URIRef(EX + "knows"), URIRef(EX + "b")),
            (URIRef(EX + "a"), URIRef(EX + "name"), Literal("Zoë", lang="en"))}


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("gz", [False, True])
def test_every_rdf_format_reads_the_same_triples(tmp_path: Path, name: str, gz: bool) -> None:
    data = SAMPLES[name].encode("utf-8")
    path = tmp_path / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data) if gz else data)
    assert set(parse_file(path).triples) == EXPECTED


def test_explicit_format_beats_extension(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text(SAMPLES["g.ttl"], encoding="utf-8")
    assert detect_format(path) == "delimited"
    assert set(parse_file(path, format="ttl").triples) == EXPECTED
    with pytest.raises(InputError, match="unknown format 'yaml'"):
        parse_file(path, format="yaml")


@pytest.mark.parametrize("text,ext", [
    ("Amélie|directed_by|Jean-Pierre Jeunet\n", "dat"),
    ("Amélie\tdirected_by\tJean-Pierre Jeunet\n", "tsv"),
    ('"Amélie",directed_by,"Jean-Pierre Jeunet"\n', "csv"),
    ("subject,relation,object\nAmélie,directed_by,Jean-Pierre Jeunet\n", "txt"),
])
def test_delimiter_detected_from_content(tmp_path: Path, text: str, ext: str) -> None:
    path = tmp_path / f"triples.{ext}"
    path.write_text(text, encoding="utf-8")
    triples = set(parse_file(path).triples)
    movie = entity_iri("Amélie")
    assert (movie, property_iri("directed_by"), entity_iri("Jean-Pierre Jeunet")) in triples
    assert (movie, RDFS.label, Literal("Amélie")) in triples
    assert (property_iri("directed_by"), RDFS.label, Literal("directed by")) in triples


def test_forced_delimiter_and_header(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("head;rel;tail\nA, B;likes;C\n", encoding="utf-8")
    with pytest.raises(ParseError):
        parse_file(path)  # no '|', tab or ',' splitting into three fields
    triples = set(parse_file(path, delimiter=";", header=True).triples)
    assert (entity_iri("A, B"), property_iri("likes"), entity_iri("C")) in triples
    assert not any(t[0] == entity_iri("head") for t in triples)


def test_custom_namespace(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("a|r|b\n", encoding="utf-8")
    kg = KnowledgeGraph.open()
    kg.load(path, namespace="urn:my:")
    assert kg.objects(URIRef("urn:my:e/a"), URIRef("urn:my:p/r")) == [URIRef("urn:my:e/b")]


def test_xml_error_has_a_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.rdf"
    path.write_text(SAMPLES["g.rdf"].replace("</rdf:Description>", "</rdf:Descr>"), encoding="utf-8")
    with pytest.raises(ParseError, match=r"bad\.rdf:\d+"):
        parse_file(path)


@pytest.mark.slow
def test_kb_loads_fast_enough_to_use(shared_data: Path) -> None:
    """The full MetaQA KB: every fact and every name arrives (speed is in benchmarks/bench_load.py)."""
    kg = KnowledgeGraph.open()
    report = kg.load(shared_data / "metaqa" / "kb.txt")
    assert report.entities == 43234
    assert len(kg.labels()) == 43234
    assert sum(1 for _ in kg.rdf.triples((None, property_iri("directed_by"), None))) == 15957
