"""Shared, lazily created resources of one Coordinator: graph, adjacency view, models, index, rules."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from agents.config import SYNONYM_COSINE, KGReasonConfig
from reasoning.graphview import GraphView, Triple, ViewCache
from reasoning.paths import PathReasoner
from reasoning.planner import EntityDetector, ZeroShotPlanner
from reasoning.provenance import Derivation
from reasoning.ranking import AnswerRanker
from reasoning.senses import SenseChooser


class Runtime:
    """Opens what the config names on first use; thread-safe so concurrent agents share one copy."""

    def __init__(self, config: KGReasonConfig, graph: Any | None = None) -> None:
        self.config = config
        self._graph = graph
        self._lock = threading.RLock()  # guards the graph, rules and the table of per-resource locks
        self._locks: dict[str, threading.Lock] = {}
        self._made: dict[str, Any] = {}
        self.views = ViewCache()
        self.derivations: dict[Triple, Derivation] = {}
        self._rules_done = False
        self.detector = EntityDetector()

    def _once(self, name: str, make):  # type: ignore[no-untyped-def]
        """Create a resource once; each has its own lock, so loading a model does not wait on the graph."""
        if name in self._made:
            return self._made[name]
        with self._lock:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._made:
                self._made[name] = make()
            return self._made[name]

    @property
    def graph(self) -> Any:
        with self._lock:
            if self._graph is None:
                self._graph = self._open_graph()
            return self._graph

    def _open_graph(self) -> Any:
        from agents.graphs import open_graph

        return open_graph(self.config.graph)  # a store folder must exist: only `load` and `ingest` make one

    def view(self) -> GraphView:
        """The adjacency view, with rule-derived triples once rules are configured; for a big store or an
        endpoint (see `uses_store_view`), a store-backed view that queries the store hop by hop."""
        graph = self.graph
        if self.uses_store_view():
            with self._lock:
                made = self._made.get("store_view")
                if made is None or made[0] != graph.version:
                    from reasoning.store_view import StoreView

                    made = self._made["store_view"] = (graph.version, StoreView(graph))
                return made[1]
        with self._lock:
            if not self._rules_done:
                self._apply_rules(graph)
                self._rules_done = True
        return self.views.get(graph)

    def uses_store_view(self) -> bool:
        """Whether questions read the store hop by hop (config `view`; "auto": endpoints, and Oxigraph folders
        whose load metadata counts at least `memory_view_max_triples` triples) rather than a memory view."""
        def choose() -> bool:
            cfg = self.config
            if cfg.view != "auto":
                return cfg.view == "store"
            graph = self.graph
            if graph.backend.name == "memory":
                return False
            if graph.backend.name == "sparql":
                return True
            store = graph.label_store()
            size = store.meta("triples") if store is not None else None
            return (int(size) if size is not None else len(graph)) >= cfg.memory_view_max_triples
        found = self._once("uses_store_view", choose)
        if found and (self.config.rules or self.config.bundled_rules or self.config.closure):
            from knowledge.errors import InputError

            raise InputError("rules and closures are forward-chained over the memory view only; "
                             "pass --view memory (the graph must fit in memory) or drop the rules")
        return found

    def _apply_rules(self, graph: Any) -> None:
        from reasoning.rules import RuleEngine, RuleSet, owl_closure

        cfg = self.config
        sets = [RuleSet.load(p) for p in cfg.rules] + ([RuleSet.bundled()] if cfg.bundled_rules else [])
        if not sets and not cfg.closure:
            return
        derived: list[Triple] = []
        if cfg.closure:
            derived.extend(owl_closure(graph, cfg.closure))
        base = GraphView.build(graph, derived)
        for rs in sets:
            result = RuleEngine(rs).run(base)
            base.add_triples(result.derived)
            derived.extend(result.derived)
            self.derivations.update(result.derivations)
        if derived:  # kept beside the graph, in the adjacency view; the graph and its store are not changed
            self.views.set_extra(derived)
        self.views.prime(graph, base)  # the view the rules ran on already holds every derived triple

    @property
    def path_reasoner(self) -> PathReasoner:
        """Follows relation paths with proofs (rule-derived triples expanded); `ranker` runs it for the
        `Reasoner` agent."""
        return self._once("path_reasoner", lambda: PathReasoner(self.views, self.derivations))

    @property
    def ranker(self) -> AnswerRanker:
        return self._once("ranker", lambda: AnswerRanker(self.path_reasoner,
                                                         max_answers=self.config.max_answers))

    def parse(self, questions: list[str]) -> list[Any]:
        """Run the question model (which must exist) with the configured torch threads in this thread."""
        self._threads()
        return list(self.parser.run(questions))  # type: ignore[union-attr]

    def tag(self, texts: list[str]) -> list[Any]:
        """Run the NER model (which must exist) with the configured torch threads in this thread."""
        self._threads()
        return list(self.ner.run(texts))  # type: ignore[union-attr]

    def _threads(self) -> None:
        n = self.config.model_threads
        if n is not None:
            import torch

            if torch.get_num_threads() != n:
                torch.set_num_threads(n)

    @property
    def parser(self) -> Any | None:
        """The question model, or None when the config asks for zero-shot planning (or none is shipped)."""
        def make() -> Any | None:
            from finetune.pathpairs import is_pair_model
            from finetune.questions import SHIPPED_QUESTIONS, QuestionParser

            choice = self.config.question_model
            if choice is None or (choice != "auto" and is_pair_model(choice)):
                return None  # zero-shot, or a graph model (`graph_planner`)
            folder = SHIPPED_QUESTIONS if choice == "auto" else Path(choice)
            if choice == "auto" and not (folder / "model_card.json").is_file():
                return None
            return QuestionParser(folder, device=self.config.device)
        return self._once("parser", make)

    @property
    def ner(self) -> Any | None:
        def make() -> Any | None:
            if self.config.ner_model is None:
                return None
            from finetune.ner import NerTagger

            return NerTagger(self.config.ner_model, device=self.config.device)
        return self._once("ner", make)

    @property
    def linker(self) -> Any:
        def make() -> Any:
            from knowledge.linker import EntityLinker

            return EntityLinker(self.graph)
        return self._once("linker", make)

    @property
    def index(self) -> Any | None:
        def make() -> Any | None:
            if self.config.index_dir is None:
                return None
            from knowledge.retrieval import KnowledgeIndex  # type: ignore[import-not-found]

            return KnowledgeIndex.open(self.config.index_dir, graph=self.graph)
        return self._once("index", make)

    def set_index(self, index: Any | None) -> None:
        """Retrieve from `index` from now on (an app hands over an index it built or loaded in the background)."""
        with self._lock:
            self._made["index"] = index

    @property
    def zero_shot(self) -> ZeroShotPlanner:
        def make() -> ZeroShotPlanner:
            name = self.config.zero_shot_synonyms
            if name == "off":
                return ZeroShotPlanner(max_hops=self.config.max_hops)
            from knowledge.embeddings import index_embedder

            return ZeroShotPlanner(max_hops=self.config.max_hops, encode=index_embedder(name).encode,
                                   synonym_cosine=SYNONYM_COSINE[name])
        return self._once("zero_shot", make)

    @property
    def senses(self) -> SenseChooser:
        """Picks, among the entities a name may stand for, those whose relations the question names: by words as
        written or as lemmas, not synonyms, since it drops the others ("what words describe film Heist": "film" ~
        "movie", what the tag "heist" reaches, would drop the film)."""
        return self._once("senses", lambda: SenseChooser(ZeroShotPlanner(max_hops=self.config.max_hops)))

    @property
    def graph_planner(self) -> Any | None:
        """The path-pair planner of a graph model (`--question-model` naming one, or handed over by
        `set_graph_model`), else None."""
        def make() -> Any | None:
            from finetune.pathpairs import is_pair_model

            choice = self.config.question_model
            if choice in (None, "auto") or not is_pair_model(choice):
                return None
            return self._pair_planner(Path(choice))
        return self._once("graph_planner", make)

    def _pair_planner(self, folder: Path) -> Any:
        from agents.graphmodel import PairPlanner
        from finetune.pathpairs import PathScorer

        return PairPlanner(PathScorer(folder, device=self.config.device), max_hops=self.config.max_hops,
                           zero_shot=self.zero_shot)

    def set_graph_model(self, folder: str | Path | None) -> None:
        """Plan with the graph model in `folder` from now on (None: stop using one); background adaptation
        hands its trained model over this way."""
        planner = self._pair_planner(Path(folder)) if folder is not None else None
        with self._lock:
            self._made["graph_planner"] = planner
