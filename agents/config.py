"""The one validated configuration of the QA pipeline; the CLI and the app only fill it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from knowledge.errors import InputError, MissingFileError

GRAPH_KINDS = ("demo", "files", "store", "endpoint", "memory")
VIEWS = ("auto", "memory", "store")
CLOSURES = (None, "rdfs", "owlrl", "rdfs+owlrl")
#: word embedders zero-shot planning may match synonyms with, and the cosine from which two words count as
#: synonyms under each ("off": words as written and as lemmas only)
SYNONYM_COSINE = {"static": 0.6, "minilm": 0.7}
SYNONYMS = (*SYNONYM_COSINE, "off")


@dataclass(frozen=True)
class GraphSource:
    """Where the graph comes from: the bundled movie graph, files, an oxigraph folder, a SPARQL endpoint or an
    empty in-memory graph ("memory"). `agents.graphs.open_graph` opens it."""

    kind: str = "demo"
    paths: tuple[Path, ...] = ()
    location: str | None = None
    format: str | None = None
    delimiter: str | None = None
    header: bool = False  # delimited triple files start with a header line

    def __post_init__(self) -> None:
        if self.kind not in GRAPH_KINDS:
            raise InputError(f"unknown graph source {self.kind!r}; choose one of {', '.join(GRAPH_KINDS)}")
        if self.kind == "files":
            if not self.paths:
                raise InputError("graph source 'files' needs at least one file")
            for p in self.paths:
                if not Path(p).is_file():
                    raise MissingFileError("graph file not found", path=p)
        if self.kind in ("store", "endpoint") and not self.location:
            raise InputError(f"graph source {self.kind!r} needs a location")


@dataclass(frozen=True)
class KGReasonConfig:
    """Graph source, models, index, rules and run-time limits for one Coordinator.

    `question_model`: a model folder, "auto" (the shipped model when present) or None (zero-shot planning).
    `ner_model`: optional NER folder whose spans add entity mentions. `index_dir`: optional retrieval index."""

    graph: GraphSource = field(default_factory=GraphSource)
    question_model: str | Path | None = "auto"
    ner_model: str | Path | None = None
    index_dir: Path | None = None
    rules: tuple[Path, ...] = ()
    bundled_rules: bool = False
    closure: str | None = None
    agent_timeout_s: float = 10.0
    #: the whole question's time budget: a stage that would start after it is skipped (every agent, pooled or
    #: not), and a pooled agent waits at most for what is left of it
    question_timeout_s: float = 30.0
    device: str | None = None
    max_hops: int = 3
    #: zero-shot planning also matches words by embedding similarity ("author" ~ "writer"): "static" (the shipped
    #: model2vec table: a look-up per word), "minilm" (the transformer: ~10x slower planning) or "off"
    zero_shot_synonyms: str = "static"
    max_answers: int = 200
    #: threads torch may use for the question/NER models, set in each thread that runs them (None: torch's
    #: default; the question parser already runs single short inputs on one thread). On an idle 2-core machine
    #: the default gave 278 questions/s against 174 with 1 thread; 1 helps only on an oversubscribed CPU.
    model_threads: int | None = None
    #: how questions read the graph: "memory" (an adjacency view of every triple: fastest), "store" (hop-by-hop
    #: queries against the store, bounded memory: graphs bigger than memory) or "auto" (the store for endpoints
    #: and for Oxigraph folders of at least `memory_view_max_triples` triples)
    view: str = "auto"
    memory_view_max_triples: int = 1_000_000

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise InputError(f"unknown view {self.view!r}; choose one of {', '.join(VIEWS)}")
        if self.zero_shot_synonyms not in SYNONYMS:
            raise InputError(f"unknown synonyms {self.zero_shot_synonyms!r}; choose one of {', '.join(SYNONYMS)}")
        if self.closure not in CLOSURES:
            raise InputError(f"unknown closure {self.closure!r}; choose rdfs, owlrl or rdfs+owlrl")
        if not 1 <= self.max_hops <= 3:
            raise InputError("max_hops must be 1, 2 or 3")
        if self.model_threads is not None and self.model_threads < 1:
            raise InputError("model_threads must be at least 1")
        if self.agent_timeout_s <= 0 or self.question_timeout_s <= 0:
            raise InputError("agent_timeout_s and question_timeout_s must be positive")
        for p in self.rules:
            if not Path(p).is_file():
                raise MissingFileError("rules file not found", path=p)
        for name in ("question_model", "ner_model", "index_dir"):
            value = getattr(self, name)
            if value not in (None, "auto") and not Path(value).exists():
                raise MissingFileError(f"{name.replace('_', ' ')} folder not found", path=value)
