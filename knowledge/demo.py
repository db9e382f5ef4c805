"""The bundled demo graph: MetaQA's WikiMovies KB with the movie ontology (built by knowledge.metaqa)."""
from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def demo_graph_path() -> Path:
    """Path of the compressed demo graph shipped in the package."""
    return DATA / "movies.nt.gz"


def ontology_path() -> Path:
    """Path of the movie ontology (classes, properties, labels, roles)."""
    return DATA / "movies_ontology.ttl"
