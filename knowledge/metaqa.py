"""Convert MetaQA's `kb.txt` (subject|relation|object) plus the movie ontology into one compressed RDF file.

Every entity gets rdfs:label (its exact name) and rdf:type from the domains/ranges of the properties it is
used with. Run: `python -m knowledge.metaqa KB.txt OUT.nt.gz` (the bundled demo graph was built this way)."""
from __future__ import annotations

import gzip
import io
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rdflib import RDF, RDFS
from rdflib.term import Node

from knowledge.demo import demo_graph_path, ontology_path
from knowledge.loaders import decode_utf8, parse_delimited, parse_rdf, read_bytes
from knowledge.namespaces import DEFAULT_NS
from knowledge.stores import _to_ox
from knowledge.terms import Triple


@dataclass
class ConversionReport:
    """What a conversion wrote."""

    output: str
    triples: int
    entities: int
    typed: int
    bytes: int
    seconds: float


class MetaQAConverter:
    """kb.txt + ontology (Turtle) -> gzipped N-Triples with labels and types."""

    def __init__(self, ontology: str | Path | None = None, namespace: str = DEFAULT_NS) -> None:
        self.ontology = Path(ontology) if ontology else ontology_path()
        self.namespace = namespace

    def triples(self, kb: str | Path) -> tuple[list[Triple], int, int]:
        """All output triples (ontology, facts, labels, types), the entity count and the typed count."""
        kb = Path(kb)
        facts, entities = parse_delimited(decode_utf8(read_bytes(kb), kb), kb, namespace=self.namespace)
        onto = parse_rdf(read_bytes(self.ontology), self.ontology, "turtle")
        domains: dict[Node, list[Node]] = {}
        ranges: dict[Node, list[Node]] = {}
        for s, p, o in onto:
            if p == RDFS.domain:
                domains.setdefault(s, []).append(o)
            elif p == RDFS.range:
                ranges.setdefault(s, []).append(o)
        types: set[Triple] = set()
        for s, p, o in facts:
            for cls in domains.get(p, ()):
                types.add((s, RDF.type, cls))
            for cls in ranges.get(p, ()):
                types.add((o, RDF.type, cls))
        # the delimited loader declares each relation an rdf:Property; the ontology says more (owl:ObjectProperty)
        declared = {s for s, p, o in onto if p == RDF.type}
        facts = [t for t in facts if not (t[1] == RDF.type and t[0] in declared)
                 and not (t[1] == RDFS.label and t[0] in declared)]
        typed = len({s for s, _, _ in types})
        return onto + facts + sorted(types, key=lambda t: (str(t[0]), str(t[2]))), entities, typed

    def run(self, kb: str | Path, output: str | Path | None = None) -> ConversionReport:
        """Write the converted graph to `output` (default: the bundled demo file)."""
        import pyoxigraph as ox

        t0 = time.perf_counter()
        out = Path(output) if output else demo_graph_path()
        triples, entities, typed = self.triples(kb)
        buf = io.BytesIO()
        ox.serialize([ox.Triple(_to_ox(s), _to_ox(p), _to_ox(o)) for s, p, o in triples], buf,
                     ox.RdfFormat.N_TRIPLES)
        out.parent.mkdir(parents=True, exist_ok=True)
        with gzip.GzipFile(filename=out.name.removesuffix(".gz"), mode="wb", fileobj=out.open("wb"),
                           compresslevel=9, mtime=0) as fh:
            fh.write(buf.getvalue())
        return ConversionReport(str(out), len(triples), entities, typed, out.stat().st_size,
                                time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or len(args) > 2:
        print("usage: python -m knowledge.metaqa KB.txt [OUT.nt.gz]", file=sys.stderr)
        return 2
    report = MetaQAConverter().run(args[0], args[1] if len(args) > 1 else None)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
