"""Evaluation: a task head's predictions -> the task's metric dict (first key = primary metric).

Works on an in-memory model, so a pruned or fine-tuned model is scored without being saved.
Classification and regression read the logits; seq2seq and causal LM generate greedily (or with
beams) and compare the stripped text with the target text (see ``junkdna.heads``).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from junkdna.heads import get_head
from junkdna.heads.batching import column, scoring
from junkdna.recipe import Recipe
from junkdna.tasks import metrics as task_metrics
from junkdna.tasks.base import TaskData
from junkdna.transfer import data


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]  # first key = the primary metric
    items: task_metrics.ItemOutcomes | None  # one outcome per item (None: no item-level form)


def evaluate(
    model: nn.Module,
    tokenizer,
    task: TaskData,
    recipe: Recipe | None = None,
    split: str = "validation",
) -> dict[str, float]:
    """Score ``model`` on one split of ``task`` with ``task.metric``."""
    return evaluate_items(model, tokenizer, task, recipe, split).metrics


def evaluate_items(
    model: nn.Module,
    tokenizer,
    task: TaskData,
    recipe: Recipe | None = None,
    split: str = "validation",
) -> Evaluation:
    """``evaluate``, plus each item's outcome (``tasks.metrics.item_outcomes``)."""
    recipe = recipe or Recipe()
    head = get_head(task.head)
    features, labels = data.encode(tokenizer, task, split, recipe, generation=True)
    with scoring(model, recipe):
        preds = head.predict(model, tokenizer, features, recipe)
    labels = head.scoring_labels(labels, task)
    scores = task_metrics.compute(task.metric, preds, labels)
    if task.domain_field:  # multi-domain tasks: the metric per domain too ("accuracy/en")
        from junkdna.tasks.domains import per_domain

        domains = column(getattr(task, split), task.domain_field, split)
        scores.update(per_domain(task.metric, preds, labels, domains))
    return Evaluation(scores, task_metrics.item_outcomes(task.metric, preds, labels))
