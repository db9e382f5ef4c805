"""Runs the agents over a blackboard: independent agents concurrently, each under a timeout; a failing or
slow agent degrades the answer with an explanation instead of crashing the turn."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from agents.config import KGReasonConfig
from agents.messages import Blackboard, StepRecord, TurnResult
from agents.roles import Agent, Answerer, Extractor, Linker, Planner, Reasoner, Retriever
from agents.runtime import Runtime
from agents.session import Session
from reasoning.types import Topic


class Coordinator:
    """Extractor -> (Linker || Retriever) -> Planner -> Reasoner -> Answerer, with a trace of every step."""

    def __init__(self, config: KGReasonConfig | None = None, graph: Any | None = None,
                 runtime: Runtime | None = None) -> None:
        self.config = config or KGReasonConfig()
        self.runtime = runtime or Runtime(self.config, graph)
        rt = self.runtime
        self.stages: list[list[Agent]] = check_stages([
            [Extractor(rt)],
            [Linker(rt), Retriever(rt)],
            [Planner(rt)],
            [Reasoner(rt)],
            [Answerer(rt)],
        ])
        self._pool: ThreadPoolExecutor | None = None

    @property
    def graph(self) -> Any:
        return self.runtime.graph

    def warm_up(self) -> None:
        """Open the graph, build the adjacency view (and derived rules) and load models now; the models
        load on the pool while the graph loads here."""
        models = self._executor().submit(self._warm_models)
        self.runtime.view()
        models.result()

    def _warm_models(self) -> None:
        if self.runtime.parser is not None:
            self.runtime.parse(["warm up"])
        elif self.runtime.ner is not None:
            self.runtime.tag(["warm up"])
        if self.runtime.graph_planner is not None:
            self.runtime.graph_planner.scorer.run("warm up", ["warm up"])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "Coordinator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kgreason-agent")
        return self._pool

    def run(self, question: str, session: Session | None = None,
            on_step: Callable[[StepRecord], None] | None = None) -> TurnResult:
        """Answer one question; `on_step` (optional) gets each StepRecord as soon as its agent finishes."""
        return self._turn(question, session, None, on_step)

    def run_batch(self, questions: Sequence[str], batch_size: int = 256) -> list[TurnResult]:
        """Answer many questions as `run` does, with the question model run once per chunk of `batch_size`;
        the next chunk is parsed on the pool while this one goes through the agents. Each result's `ms`
        includes its share of its chunk's model time."""
        parser = self.runtime.parser
        if parser is None or not questions:
            planner = self.runtime.graph_planner if questions else None
            if planner is None:
                return [self._turn(q, None, None) for q in questions]
            results = []
            for i in range(0, len(questions), batch_size):  # a graph model encodes each chunk's questions at once
                chunk = list(questions[i:i + batch_size])
                t = time.perf_counter()
                view = self.runtime.view()
                planner.prepare(chunk, [[m.text for m in self.runtime.detector.run(q, view)] for q in chunk])
                model_ms = (time.perf_counter() - t) * 1000
                for q in chunk:
                    result = self._turn(q, None, None)
                    result.ms += model_ms / len(chunk)
                    results.append(result)
            return results
        chunks = [list(questions[i:i + batch_size]) for i in range(0, len(questions), batch_size)]

        def parse(chunk: list[str]) -> tuple[list[Any], float]:
            t = time.perf_counter()
            out = self.runtime.parse(chunk)
            return out, (time.perf_counter() - t) * 1000

        results: list[TurnResult] = []
        pending = self._executor().submit(parse, chunks[0])
        for k, chunk in enumerate(chunks):
            parsed, model_ms = pending.result()
            if k + 1 < len(chunks):
                pending = self._executor().submit(parse, chunks[k + 1])
            for q, p in zip(chunk, parsed):
                result = self._turn(q, None, p)
                result.ms += model_ms / len(chunk)
                results.append(result)
        return results

    def _turn(self, question: str, session: Session | None, parsed: Any,
              on_step: Callable[[StepRecord], None] | None = None) -> TurnResult:
        t0 = time.perf_counter()
        bb = Blackboard(question=question, session=session, parsed=parsed, view=self.runtime.view())
        trace: list[StepRecord] = []
        deadline = t0 + self.config.question_timeout_s
        for stage in self.stages:
            if time.perf_counter() >= deadline:  # the budget is spent: no later agent runs, pooled or not
                if not any(r.status == "skipped" for r in trace):
                    bb.notes.append(f"the question took longer than {self.config.question_timeout_s:g} s; "
                                    "the remaining steps were skipped")
                for agent in stage:
                    record = StepRecord(agent.name, agent.summarise_input(bb), "over the question's time budget",
                                        0.0, "skipped")
                    trace.append(record)
                    if on_step is not None:
                        on_step(record)
                continue
            # blocking steps (models, indexes, remote stores) go to the pool under the timeout; in-memory
            # steps run here, concurrently with them, without a thread hand-off
            pooled = {agent.name: self._executor().submit(self._timed, agent.step, bb)
                      for agent in stage if agent.blocking(bb)}
            records = {agent.name: self._step(agent, bb) for agent in stage if agent.name not in pooled}
            for agent in stage:
                record = records.get(agent.name) or self._step(agent, bb, pooled[agent.name], deadline)
                trace.append(record)
                if on_step is not None:
                    on_step(record)
        found = bool(bb.answers)
        ranking = bb.ranking
        if session is not None:
            topic = ranking.topic if ranking else None
            if topic is None and bb.links is not None and bb.links.topics:
                topic = bb.links.topics[0]  # nothing found, but the turn was about this entity
            session.remember(question, topic, [Topic(a.iri, a.label, "") for a in bb.answers])
        reply = "\n".join(part for part in [bb.reply, *(f"(note: {n})" for n in bb.notes)] if part)
        return TurnResult(question, bb.answers, reply, found, trace,
                          topic=ranking.topic.label if ranking and ranking.topic else None,
                          path=ranking.plan.label if ranking and ranking.plan else None,
                          derivations=dict(ranking.explanations) if ranking else {},
                          ms=(time.perf_counter() - t0) * 1000)

    @staticmethod
    def _timed(fn: Callable[[Blackboard], Any], bb: Blackboard) -> tuple[Any, float]:
        t = time.perf_counter()
        out = fn(bb)
        return out, (time.perf_counter() - t) * 1000

    def _step(self, agent: Agent, bb: Blackboard, pooled: Future | None = None,
              deadline: float | None = None) -> StepRecord:
        """Run `agent` here, or wait for its `pooled` run under the timeout (and at most until the question's
        `deadline`); store its output and record the step. A failing or late agent leaves a note and its field
        empty: it degrades the turn, never crashes it."""
        summary_in = agent.summarise_input(bb)
        wait = self.config.agent_timeout_s
        if deadline is not None:
            wait = max(0.0, min(wait, deadline - time.perf_counter()))
        try:
            out, ms = self._timed(agent.step, bb) if pooled is None else pooled.result(wait)
        except Exception as exc:  # noqa: BLE001
            if pooled is not None and isinstance(exc, FutureTimeout):
                bb.notes.append(f"the {agent.name} took longer than {self.config.agent_timeout_s:g} s and was skipped")
                return StepRecord(agent.name, summary_in, "timeout", self.config.agent_timeout_s * 1000, "timeout")
            bb.notes.append(f"the {agent.name} failed ({type(exc).__name__}: {exc})")
            return StepRecord(agent.name, summary_in, f"{type(exc).__name__}: {exc}", 0.0, "error")
        agent.store(bb, out)
        return StepRecord(agent.name, summary_in, agent.summarise(out), round(ms, 3), "ok")


#: what a turn starts with; every other field an agent reads must be written by an earlier stage
TURN_INPUTS = frozenset({"question", "session", "parsed", "view"})


def check_stages(stages: list[list[Agent]]) -> list[list[Agent]]:
    """The stages as given, once checked: each agent reads only the turn's inputs and fields written by earlier
    stages, and no two agents write the same field."""
    written: set[str] = set()
    for stage in stages:
        for agent in stage:
            early = set(agent.reads) - written - TURN_INPUTS
            if early:
                raise ValueError(f"the {agent.name} reads {', '.join(sorted(early))} before any stage writes it")
        fields = [agent.writes for agent in stage]
        if written & set(fields) or len(set(fields)) < len(fields):
            raise ValueError(f"two agents write the same blackboard field: {fields}")
        written |= set(fields)
    return stages
