"""Switching the chat to a retrained model: weak dev metrics are named; the active models are said in words."""
from __future__ import annotations

from agents.config import KGReasonConfig
from agents.model_check import active_models, weak_metrics


def test_weak_dev_metrics_are_named_and_good_ones_pass() -> None:
    assert weak_metrics("questions", {"entity_exact": 0.08, "path_accuracy": 0.9, "n": 20}) == [
        "entity_exact 0.08 (floor 0.50)"]
    assert weak_metrics("ner", {"f1": 0.0}) == ["f1 0.00 (floor 0.50)"]
    assert weak_metrics("ner", {"f1": 93.8}) == []  # a percentage is read as one
    assert weak_metrics("questions", {"train_loss": 0.1}) == ["no dev entity_exact / path_accuracy reported"]


def test_active_models_in_words() -> None:
    assert active_models(KGReasonConfig()) == {"questions": "shipped", "ner": "none"}
    assert active_models(KGReasonConfig(question_model=None))["questions"] == "none (zero-shot planning)"
