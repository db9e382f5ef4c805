"""The MetaQA converter and the bundled demo graph: labels, types from the ontology, role annotations."""
from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Literal

from knowledge.demo import demo_graph_path
from knowledge.graph import KnowledgeGraph
from knowledge.metaqa import MetaQAConverter
from knowledge.namespaces import KGO, entity_iri, property_iri


def test_converter_types_and_labels_every_entity(tmp_path: Path, movies_file: Path) -> None:
    out = tmp_path / "m.nt.gz"
    report = MetaQAConverter().run(movies_file, out)
    assert report.entities == report.typed == 14
    kg = KnowledgeGraph.open()
    kg.load(out)
    assert set(kg.types(entity_iri("Kismet"))) == {KGO.Movie}
    assert set(kg.types(entity_iri("Marlene Dietrich"))) == {KGO.Person}
    assert set(kg.types(entity_iri("1944"))) == {KGO.Year}
    assert (entity_iri("Grégoire Colin"), RDFS.label, Literal("Grégoire Colin")) in kg
    tags = next(p for p in kg.properties() if p.iri == property_iri("has_tags"))
    assert tags.object_roles == ["tag", "tags"] and tags.domain == [KGO.Movie] and tags.range == [KGO.Tag]
    directed = next(p for p in kg.properties() if p.iri == property_iri("directed_by"))
    assert (directed.label, directed.subject_roles, directed.object_roles, directed.count) == \
        ("directed by", ["movie"], ["director"], 4)


def test_demo_file_is_small_and_shipped() -> None:
    path = demo_graph_path()
    assert path.exists() and path.stat().st_size < 8_000_000


def test_empty_open_is_empty() -> None:
    assert len(KnowledgeGraph.open()) == 0


@pytest.mark.slow
def test_demo_graph_matches_kb(shared_data: Path) -> None:
    kg = KnowledgeGraph.demo()
    st = kg.stats()
    assert st.entities == 43234
    assert sum(st.properties.values()) == 133582
    assert all(kg.types(iri) for iri, _ in kg.labels().items())
    assert kg.objects(entity_iri("Kismet"), property_iri("directed_by")) == [entity_iri("William Dieterle")]
    assert RDF.type not in {p.iri for p in kg.properties()}
