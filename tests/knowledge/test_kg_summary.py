"""What the Knowledge tab and `kgreason stats` say about a user's own graph (tests/data/acme.ttl)."""
from __future__ import annotations

from pathlib import Path

from knowledge.graph import KnowledgeGraph

ACME = Path(__file__).resolve().parents[1] / "data" / "acme.ttl"


def test_roles_come_from_domain_and_range_class_labels() -> None:
    kg = KnowledgeGraph.open()
    kg.load([ACME])
    roles = {p.label: (p.subject_roles, p.object_roles) for p in kg.properties()}
    assert roles == {"member of": (["person"], ["team"]), "works on": (["person"], ["project"]),
                     "reports to": (["person"], ["person"]), "owned by": (["project"], ["team"])}


def test_classes_are_the_graphs_own_and_entity_counts_agree() -> None:
    kg = KnowledgeGraph.open()
    report = kg.load([ACME])
    stats = kg.stats()
    assert stats.classes == {"person": 5, "project": 3, "team": 2}  # not ObjectProperty, Class
    assert stats.entities == report.entities == 10                    # 5 people, 2 teams, 3 projects
