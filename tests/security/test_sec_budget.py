"""Bounded work per question: a per-question time budget that covers every agent, pooled or not."""
from __future__ import annotations

from pathlib import Path

import pytest

from agents.config import GraphSource, KGReasonConfig
from agents.coordinator import Coordinator
from knowledge.errors import InputError

FACTS = "Alice|works_for|Acme Corp\nAcme Corp|located_in|Paris\nBob|works_for|Globex\n"


def _coordinator(tmp_path: Path, budget: float) -> Coordinator:
    kg = tmp_path / "people.txt"
    kg.write_text(FACTS, encoding="utf-8")
    config = KGReasonConfig(graph=GraphSource(kind="files", paths=(kg,)), question_model=None,
                            question_timeout_s=budget)
    return Coordinator(config)


def test_spent_budget_skips_every_later_agent_and_invents_nothing(tmp_path: Path) -> None:
    with _coordinator(tmp_path, 1e-9) as coordinator:
        result = coordinator.run("where is the employer of Alice located")
    assert not result.found and result.answers == []
    assert result.trace and {step.status for step in result.trace} == {"skipped"}
    assert result.reply.startswith("(note: the question took longer than")


def test_a_normal_budget_answers(tmp_path: Path) -> None:
    with _coordinator(tmp_path, 30.0) as coordinator:
        result = coordinator.run("where is the employer of Alice located")
    assert "skipped" not in {step.status for step in result.trace}


def test_budget_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="question_timeout_s"):
        KGReasonConfig(question_timeout_s=0)
