"""Whether a retrained model is fit to answer the chat: its last dev metrics against floors, and the name of the
models a Coordinator answers with."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: dev metrics below these make switching to a model ask for confirmation (fractions; percentages are scaled)
QUALITY_FLOORS: dict[str, dict[str, float]] = {
    "ner": {"f1": 0.5},
    "questions": {"entity_exact": 0.5, "path_accuracy": 0.5},
}


def weak_metrics(task: str, metrics: Mapping[str, float]) -> list[str]:
    """The dev metrics of a `task` model under their floor, as "entity_exact 0.08 (floor 0.50)"; [] when fine.
    A model with none of the floored metrics reported counts as weak too (nothing shows it works)."""
    floors = QUALITY_FLOORS.get(task, {})
    seen = {k: float(v) / (100.0 if float(v) > 1.0 else 1.0) for k, v in metrics.items() if k in floors}
    if floors and not seen:
        return ["no dev " + " / ".join(floors) + " reported"]
    return [f"{k} {v:.2f} (floor {floors[k]:.2f})" for k, v in seen.items() if v < floors[k]]


def active_models(config: Any) -> dict[str, str]:
    """Which question and NER models a Coordinator's config answers with, in words."""
    question = config.question_model
    ner = config.ner_model
    return {
        "questions": "shipped" if question == "auto" else "none (zero-shot planning)" if question is None
        else str(question),
        "ner": "none" if ner is None else "shipped" if ner == "auto" else str(ner),
    }
