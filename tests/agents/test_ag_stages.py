"""The pipeline declares its stages: what each agent reads and writes is checked when the Coordinator is made."""
from __future__ import annotations

import dataclasses

import pytest

from agents.coordinator import TURN_INPUTS, check_stages
from agents.messages import Blackboard
from agents.roles import Answerer, Extractor, Linker, Planner, Reasoner, Retriever

STAGES = [[Extractor], [Linker, Retriever], [Planner], [Reasoner], [Answerer]]


def _make(stages):
    return [[cls(None) for cls in stage] for stage in stages]  # type: ignore[arg-type]


def test_the_shipped_order_reads_only_what_earlier_stages_wrote() -> None:
    stages = _make(STAGES)
    assert check_stages(stages) is stages
    fields = {f.name for f in dataclasses.fields(Blackboard)}
    for agent in (a for stage in stages for a in stage):
        assert agent.writes in fields and set(agent.reads) <= fields - TURN_INPUTS


def test_an_agent_reading_a_later_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="planner reads links before any stage writes it"):
        check_stages(_make([[Extractor], [Planner], [Linker, Retriever], [Reasoner], [Answerer]]))
    with pytest.raises(ValueError, match="linker reads extraction"):
        check_stages(_make([[Extractor, Linker], [Retriever]]))  # same stage: runs concurrently


def test_two_agents_writing_one_field_are_refused() -> None:
    with pytest.raises(ValueError, match="same blackboard field"):
        check_stages(_make([[Extractor], [Linker, Retriever], [Linker]]))
