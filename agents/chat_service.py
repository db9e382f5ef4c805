"""The chat server's state: one Coordinator, the loaded graph, conversations and training jobs.

Everything here only calls the library (agents.*); one instance lives per running app (no module state)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.index_job import IndexJob, IndexStatus
from agents.locks import ReadWriteLock
from agents.training_jobs import ChildTrainingJob, TrainingStatus, remove_files

GRAPH_SUFFIXES = (".ttl", ".nt", ".nq", ".trig", ".n3", ".rdf", ".owl", ".xml", ".jsonld", ".json",
                  ".txt", ".tsv", ".csv", ".gz")
DOCUMENT_SUFFIXES = (".txt", ".md", ".text")
TRAIN_SUFFIXES = (".txt", ".conll", ".tsv", ".jsonl", ".csv")
TRAINING_THREADS = max(1, min(4, (os.cpu_count() or 2) // 2))  # the training child's torch threads
MAX_QUESTION_CHARS = 1000  # the longest question the server reads (the page's box has the same limit)


class Refused(RuntimeError):
    """A request the server turns down; its message is safe to show to the client."""


@dataclass(frozen=True)
class ServeOptions:
    """What `kgreason serve` was asked for."""

    kg: list[str] = field(default_factory=list)
    store: str | None = None
    endpoint: str | None = None
    host: str = "127.0.0.1"
    port: int = 7860
    auth: tuple[str, str] | None = None
    max_file_size: str = "50mb"
    cache: str | None = None
    index: bool = True  # open or build the retrieval index in the background after warm-up
    auth_file: str | None = None  # user:password:role lines (agents.auth)
    data_dir: str | None = None  # the only folder the server-path box may read from
    # train a graph-only question model for a loaded graph in the background (`kgreason serve`: on, --no-adapt)
    adapt: bool = False
    adapt_seconds: float = 600.0  # its time budget


@dataclass(frozen=True)
class StepEvent:
    """One agent step, streamed while the question is being answered."""

    step: Any


@dataclass(frozen=True)
class TurnEvent:
    """The finished turn."""

    result: Any


class ChatService:
    """Owns the Coordinator (built lazily), guards the graph with a readers-writer lock."""

    def __init__(self, options: ServeOptions, max_conversations: int = 1000) -> None:
        self.options = options
        self._lock = ReadWriteLock()
        self._build_lock = threading.Lock()
        self._coordinator: Any = None
        self._conversations: OrderedDict[str, Any] = OrderedDict()
        self._conv_lock = threading.Lock()
        self._max_conversations = max_conversations
        self._job: ChildTrainingJob | None = None
        self._train_lock = threading.Lock()
        self._summaries: dict[str, tuple[int, Any]] = {}
        self._examples: list[str] | None = None  # the chat's example questions (None: not made yet)
        self._index: Any = None
        self._warm = "not started"  # what warm_up is doing (shown on the page until "ready")
        self._warming = threading.Event()  # warm_up has started ...
        self._warm_done = threading.Event()  # ... and finished (questions wait for it, not for agent timeouts)
        cache = Path(options.cache) / "index" if options.cache else None
        self._index_job = IndexJob(self._use_index, cache_dir=cache)
        from agents.adapt import AdaptationJob

        self._graph_model: str | None = None
        self._adapt_job = AdaptationJob(self._use_graph_model, max_seconds=options.adapt_seconds,
                                        cache_dir=Path(options.cache) / "graphmodel" if options.cache else None)
        self._access: Any = None

    # -- who may do what -------------------------------------------------------------------------------
    @property
    def access(self) -> Any:
        """The server's accounts (agents.auth.AccessPolicy): --auth-file, --auth (one admin), or none."""
        if self._access is None:
            from agents.auth import AccessPolicy

            if self.options.auth_file:
                self._access = AccessPolicy.from_file(self.options.auth_file)
            elif self.options.auth:
                self._access = AccessPolicy.single_admin(*self.options.auth)
            else:
                self._access = AccessPolicy()
        return self._access

    def is_admin(self, user: str | None) -> bool:
        """Whether `user` may change the graph or the models (what the page shows; `require_admin` checks)."""
        return bool(self.access.may_change(user))

    def require_admin(self, user: str | None) -> None:
        """Refuse unless `user` may change the graph or the models (checked on the server for every change)."""
        if not self.access.may_change(user):
            raise Refused("refused: only admins may load graphs, ingest documents, train or switch models")

    def server_path(self, given: str) -> str:
        """A path typed in the page, allowed only inside --data-dir (InputError otherwise)."""
        from agents.auth import resolve_data_path

        return str(resolve_data_path(self.options.data_dir, given))

    # -- the library ------------------------------------------------------------------------------
    def config(self) -> Any:
        """The pipeline config for what `serve` was asked for (bundled movie graph when nothing is given)."""
        from agents.config import GraphSource, KGReasonConfig

        if self.options.kg:
            source = GraphSource(kind="files", paths=tuple(Path(p) for p in self.options.kg))
        elif self.options.store:
            source = GraphSource(kind="store", location=self.options.store)
        elif self.options.endpoint:
            source = GraphSource(kind="endpoint", location=self.options.endpoint)
        else:
            source = GraphSource(kind="demo")
        return KGReasonConfig(graph=source)

    @property
    def coordinator(self) -> Any:
        with self._build_lock:
            if self._coordinator is None:
                from agents.coordinator import Coordinator

                self._coordinator = Coordinator(self.config())
            return self._coordinator

    def warm_up(self, index: bool | None = None) -> None:
        """Open the graph, build the adjacency view and load the models now (not on the first question);
        then open or build the retrieval index in the background (`index_status` tells how far it got)."""
        self._warm = "loading the graph and building its adjacency view"
        self._warming.set()
        try:
            self.coordinator.runtime.view()
            self._warm = "loading the question model"
            self.coordinator.warm_up()
            self._warm_done.set()  # questions can be answered now; the summaries only fill the Knowledge tab
            self._warm = "summarising the graph"
            self.stats()
            self.properties()
        except Exception as exc:
            self._warm = f"failed: {type(exc).__name__}: {exc}"
            raise
        finally:
            self._warm_done.set()
        self._warm = "ready"
        # a graph served through the store view (too big for memory) is not fingerprinted nor embedded in the
        # background: that reads every triple and would take hours and GBs (README: Graphs bigger than memory)
        if (self.options.index if index is None else index) and not self.coordinator.runtime.uses_store_view():
            self.start_index()
        if self.options.adapt and self.config().graph.kind != "demo":  # the shipped model fits the bundled graph
            self.start_adapt()

    def status_markdown(self) -> str:
        """What the page shows under the chat: warm-up progress, then the retrieval index."""
        if self._warm != "ready":
            return f"**Starting:** {self._warm}… (questions asked now are answered when this is done)"
        return "\n\n".join(x for x in (self.index_status().markdown(), self.adapt_status().markdown()) if x)

    # -- the retrieval index (background) -----------------------------------------------------------
    def start_index(self) -> None:
        """Open the graph's cached index, or build it, in a background thread; the chat works meanwhile."""
        self._index_job.start(self.graph, self._lock.reading)

    def index_status(self) -> IndexStatus:
        return self._index_job.status()

    def wait_index(self, timeout: float | None = None) -> IndexStatus:
        return self._index_job.join(timeout)

    def start_adapt(self) -> None:
        """Train (or take from the cache) a graph-only question model for the graph in the background."""
        self._adapt_job.start(self.graph, self._lock.reading)

    def adapt_status(self) -> Any:
        return self._adapt_job.status() if self.options.adapt else self._adapt_job.status().__class__("off")

    def _use_graph_model(self, folder: Path) -> None:
        with self._build_lock:
            self._graph_model = str(folder)
            coordinator = self._coordinator
        if coordinator is not None:
            coordinator.runtime.set_graph_model(folder)

    def _use_index(self, index: Any) -> None:
        with self._build_lock:
            self._index = index
            coordinator = self._coordinator
        if coordinator is not None:
            coordinator.runtime.set_index(index)

    @property
    def graph(self) -> Any:
        return self.coordinator.graph

    def label(self, node: Any) -> str:
        return self.graph.label(node)

    def new_session(self) -> Any:
        from agents.session import Session

        return Session()

    # -- questions ---------------------------------------------------------------------------------
    def ask(self, question: str, session: Any) -> Iterator[StepEvent | TurnEvent]:
        """Answer `question`, yielding each agent step as it finishes, then the turn (Refused when too long)."""
        self.check_question(question)
        events: queue.Queue[Any] = queue.Queue()
        done = object()
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                if self._warming.is_set():
                    self._warm_done.wait()
                with self._lock.reading():
                    box["result"] = self.coordinator.run(question, session,
                                                         on_step=lambda step: events.put(StepEvent(step)))
            except BaseException as exc:  # noqa: BLE001  (re-raised in the caller's thread)
                box["error"] = exc
            finally:
                events.put(done)

        threading.Thread(target=work, name="ask", daemon=True).start()
        while (event := events.get()) is not done:
            yield event
        if "error" in box:
            raise box["error"]
        yield TurnEvent(box["result"])

    @staticmethod
    def check_question(question: str) -> None:
        """Refused for questions longer than MAX_QUESTION_CHARS (checked on the server, whatever the page allows)."""
        if len(question) > MAX_QUESTION_CHARS:
            raise Refused(f"refused: questions are at most {MAX_QUESTION_CHARS:,} characters "
                          f"(this one has {len(question):,})")

    def answer(self, question: str, conversation: str = "", user: str | None = None) -> tuple[Any, str]:
        """Blocking ask in a server-side conversation: '' starts a new one; returns (turn, conversation id).

        Ids are issued by the server and belong to the user who started them; others get Refused."""
        key, session = self._conversation(conversation, user)
        result = None
        for event in self.ask(question, session):
            if isinstance(event, TurnEvent):
                result = event.result
        return result, key

    def _conversation(self, key: str, user: str | None) -> tuple[str, Any]:
        import secrets

        with self._conv_lock:
            if not key:
                key = secrets.token_urlsafe(16)
                self._conversations[key] = (user, self.new_session())
                while len(self._conversations) > self._max_conversations:
                    self._conversations.popitem(last=False)
            owner_session = self._conversations.get(key)
            if owner_session is None or owner_session[0] != user:
                raise Refused("unknown or expired conversation id; pass \"\" to start a new conversation")
            self._conversations.move_to_end(key)
            return key, owner_session[1]

    # -- the graph -----------------------------------------------------------------------------------
    def load(self, paths: Sequence[str], format: str | None = None) -> Any:
        """Load graph files into the live graph, all or nothing; raises InputError naming file:line."""
        with self._lock.writing():
            report = self.graph.load(list(paths), format=format)
        state = self._index_job.status().state
        if self._index is not None and state == "ready" and report.triples is not None:
            # only what the load brings is embedded; searches wait for the few ms the index is written
            self._index_job.extend(self._index, self.graph, report.triples, self._lock.reading, self._lock.writing,
                                   self._index_job.cache_dir)
        elif self._index is not None or state != "idle":
            self.start_index()  # still building (or a store): the old index keeps serving until the new one
        if self.options.adapt:
            self.start_adapt()  # the graph model so far keeps planning until the new graph's is ready
        try:
            self._add_examples(report)
        except Exception:  # the load itself succeeded: examples are a courtesy, never its failure
            logging.getLogger(__name__).exception("could not build example questions after a load")
        return report

    def ingest(self, paths: Sequence[str]) -> Any:
        """Read documents through NER and add what they mention to the graph; only the commit blocks questions."""
        from agents.ingest import DocumentIngestor

        runtime = self.coordinator.runtime
        # passages join the live index in memory only: the cache stays the index of the graph as loaded
        ingestor = DocumentIngestor(self.graph, self._index, runtime.ner, save_index=False)
        started = time.perf_counter()
        prepared = ingestor.prepare(list(paths))  # reading, splitting and NER hold no lock: questions go on
        with self._lock.reading():
            linked = ingestor.link(prepared)
        with self._lock.writing():  # questions wait for this commit only
            return ingestor.commit(linked, started=started)

    def stats(self) -> Any:
        return self._cached("stats", lambda: self.graph.stats())

    def properties(self) -> list[Any]:
        return self._cached("properties", lambda: list(self.graph.properties()))

    def _cached(self, name: str, make: Any) -> Any:
        """Graph summaries are slow on big graphs: keep them until the graph changes."""
        with self._lock.reading():
            version = self.graph.version
            with self._conv_lock:
                hit = self._summaries.get(name)
            if hit is not None and hit[0] == version:
                return hit[1]
            value = make()
            with self._conv_lock:
                self._summaries[name] = (version, value)
            return value

    def sample_triples(self, limit: int = 50) -> list[tuple[str, str, str]]:
        with self._lock.reading():
            return [(self.label(s), self.label(p), self.label(o))
                    for s, p, o in self.graph.triples((None, None, None), limit=limit)]

    def examples(self, n: int = 4) -> list[str]:
        """Questions the chat answers: those about graphs loaded since start-up first, then the start-up graph's
        (from a small cache file when the graph's files are unchanged, so the page can be built before the graph
        is loaded, else computed from the graph and cached)."""
        with self._conv_lock:
            if self._examples is not None:
                return list(self._examples)
        out = self._startup_examples(n)
        with self._conv_lock:
            if self._examples is None:
                self._examples = out
            return list(self._examples)

    def _add_examples(self, report: Any, n: int = 4) -> None:
        """After a load: up to `n` questions about the relations it brought (a streamed store load does not list
        its triples: about any relation) go first, then the earlier examples the chat still answers."""
        from agents.examples import still_answered

        relations = None if report.triples is None else {p for _, p, _ in report.triples}
        new = self._compute_examples(n, relations)
        with self._conv_lock:  # none made yet (no page): nothing earlier to keep, and no cache written from this graph
            earlier = [q for q in self._examples or [] if q not in new]
        with self._lock.reading():
            earlier = still_answered(self.coordinator, earlier[:2])
        with self._conv_lock:
            self._examples = new + earlier

    def _startup_examples(self, n: int) -> list[str]:
        path = self._examples_cache()
        if path is not None and path.is_file():
            try:
                cached = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(cached, list) and all(isinstance(q, str) for q in cached) and len(cached) >= n:
                    return cached[:n]
            except (OSError, ValueError):
                pass
        out = self._compute_examples(n)
        if path is not None and out:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(out), encoding="utf-8")
            except OSError:
                pass
        return out

    def _examples_cache(self) -> Path | None:
        """Cache file for the example questions, keyed by the graph files' paths, sizes and mtimes."""
        if self.options.store or self.options.endpoint:
            return None  # a store or endpoint can change behind our back
        if self.options.kg:
            files = [Path(p) for p in self.options.kg]
        else:
            from knowledge.demo import demo_graph_path

            files = [demo_graph_path()]
        try:
            # "checked": examples are questions the pipeline answered (agents.examples), not older unchecked ones
            key = "checked\n" + "\n".join(f"{f.resolve()}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)
        except OSError:
            return None
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        return self.cache_root() / "examples" / f"{digest}.json"

    def cache_root(self) -> Path:
        """--cache, else the one cache root ($KGREASON_CACHE, else XDG, else ~/.cache/kgreason)."""
        from agents.indexing import cache_root

        return Path(self.options.cache) if self.options.cache else cache_root()

    def _compute_examples(self, n: int, relations: Any = None) -> list[str]:
        from agents.examples import example_questions

        self.properties()  # takes the read lock itself (not reentrant while a writer waits)
        with self._lock.reading():
            return example_questions(self.coordinator, n, relations)

    # -- retraining ----------------------------------------------------------------------------------
    def models_dir(self) -> Path:
        """Where retrained models are written: `models/` under the cache root."""
        return self.cache_root() / "models"

    def start_training(self, task: str, train_file: str, dev_file: str, epochs: int,
                       train_qtypes: str | None = None, dev_qtypes: str | None = None,
                       base: str | None = None, limit: int | None = None,
                       uploads: Sequence[str] = ()) -> TrainingStatus:
        """Start retraining the `ner` or `questions` model in a child process; one job at a time (Refused while
        one runs). Question files need their path labels (qtype files) unless they sit beside the data.
        `uploads`: temporary copies of uploaded files, deleted when the job ends (now if it cannot start)."""
        import secrets

        from agents.training import TASKS, child_main

        try:
            if task not in TASKS:
                raise ValueError(f"unknown model {task!r}: choose 'ner' or 'questions'")
            with self._train_lock:  # check and start as one step: two clicks cannot start two jobs
                if self._job is not None and self._job.running():
                    raise Refused("refused: a training job is already running (cancel it or wait)")
                out = self.models_dir() / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
                kwargs = dict(task=task, train_file=train_file, dev_file=dev_file, out=str(out),
                              epochs=epochs, train_qtypes=train_qtypes, dev_qtypes=dev_qtypes, base=base,
                              limit=limit)
                self._job = ChildTrainingJob(task, child_main, kwargs, epochs, threads=TRAINING_THREADS,
                                             cleanup=uploads).start()
                return self._job.status()
        except BaseException:
            remove_files(uploads)
            raise

    def cancel_training(self) -> bool:
        """Stop the running training job; False when none runs."""
        with self._train_lock:
            return self._job.cancel() if self._job is not None else False

    def training_status(self) -> TrainingStatus:
        return self._job.status() if self._job is not None else TrainingStatus()

    def join_training(self, timeout: float | None = None) -> TrainingStatus:
        return self._job.join(timeout) if self._job is not None else TrainingStatus()

    def active_models(self) -> dict[str, str]:
        """The question and NER models the chat answers with now, in words."""
        from agents.model_check import active_models

        return active_models(self.coordinator.config)

    def activate(self, task: str, model_dir: str) -> None:
        """Answer with the model in `model_dir` from now on (a new Coordinator over the same graph)."""
        import dataclasses

        from agents.coordinator import Coordinator

        field_name = {"ner": "ner_model", "questions": "question_model"}[task]
        with self._lock.writing():
            old = self.coordinator
            config = dataclasses.replace(old.config, **{field_name: model_dir})
            fresh = Coordinator(config, graph=old.graph)
            fresh.runtime.set_index(self._index)
            if self._graph_model is not None:
                fresh.runtime.set_graph_model(self._graph_model)
            fresh.warm_up()
            with self._build_lock:
                self._coordinator = fresh
            old.close()
