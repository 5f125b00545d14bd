"""Setting 4, across tasks: tasks ordered by what the dense model lacks. HumanModelGap measures
it against the published human score (the paper's Table 1, reproduced by ``paper_table1``);
DenseHeadroom, for tasks without one, against a perfect score over the headroom above the
majority-class baseline. Neither changes the data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from junkdna.difficulty.base import NO_FACTS, Difficulty, RunFacts, register
from junkdna.errors import JunkDNAError
from junkdna.tasks.base import TaskData


def normalized_gap(human: float, model: float) -> float:
    """(human - model) / human * 100: the percentage of human performance the model lacks."""
    if human == 0:
        raise JunkDNAError("normalized gap: human score is 0, the gap is undefined")
    return (human - model) / human * 100.0


# The paper's Table 1 exactly as printed, in percent: (human, RoBERTa-large) per task. The paper
# takes the human scores from Nangia & Bowman 2019 (QQP as accuracy, STS-B as Pearson); both rows
# give every printed gap to two decimals (CSQA: (89.0 - 72.1) / 89.0 = 18.99).
PAPER_TABLE1: dict[str, tuple[float, float]] = {
    "sst2": (97.8, 96.2),
    "cola": (66.4, 64.9),
    "qqp": (80.4, 91.8),
    "stsb": (92.7, 92.2),
    "qnli": (91.2, 94.4),
    "rte": (93.6, 84.3),
    "winogrande": (94.0, 78.1),
    "csqa": (89.0, 72.1),
}


def paper_table1() -> dict[str, float]:
    return {t: round(normalized_gap(h, m), 2) for t, (h, m) in PAPER_TABLE1.items()}


@register
@dataclass(frozen=True)
class HumanModelGap(Difficulty):
    """Setting 4: tasks ordered by how far the dense model is from humans (larger = harder).

    ``apply`` leaves the data alone and records the task's human score; ``gap(task, score)``
    turns a measured dense score (the metric's value, a fraction) into the normalized gap.
    """

    name: ClassVar[str] = "human_model_gap"
    setting: ClassVar[int] = 4
    description: ClassVar[str] = "tasks ordered by the dense model's gap to the human score"
    measure_label: ClassVar[str] = "normalized human-model gap (%)"
    needs_human_score: ClassVar[bool] = True

    def measure(self, facts: RunFacts = NO_FACTS) -> float | None:
        """``normalized_gap`` of the dense score against the human score (None without both,
        or with a human score of 0, where the gap is undefined)."""
        if facts.dense is None or not facts.human:
            return None
        return normalized_gap(facts.human, facts.dense)

    def apply(self, task: TaskData, seed: int = 0) -> TaskData:
        human = task.info.get("human")
        if human is None:
            raise JunkDNAError(
                f"human_model_gap: task {task.name!r} has no published human score; "
                "choose a task that has one (see `junkdna tasks`)"
            )
        return self.record(task, seed)

    @staticmethod
    def gap(task: str, scores: dict[str, float] | float) -> float:
        """Normalized gap of a measured score against the task's human score.

        `scores` is a metric result dict (the human score's key is picked, e.g. QQP accuracy)
        or a single number in the same units as the human score.
        """
        from junkdna.tasks.registry import get_spec

        spec = get_spec(task)
        if spec.human is None:
            raise JunkDNAError(f"human_model_gap: task {task!r} has no published human score")
        value = scores[spec.human.key] if isinstance(scores, dict) else float(scores)
        return normalized_gap(spec.human.value, value)


def headroom_gap(dense: float, baseline: float) -> float:
    """(1 - dense) / (1 - baseline) * 100: the share of the headroom above the baseline that the
    dense model leaves (0 = perfect, 100 = at the baseline, > 100 = below it)."""
    if not baseline < 1:
        raise JunkDNAError(f"dense_headroom: the baseline is {baseline}; it must be below 1")
    return (1.0 - dense) / (1.0 - baseline) * 100.0


@register
@dataclass(frozen=True)
class DenseHeadroom(Difficulty):
    """Setting 4 for tasks without a published human score (the offline BIG-bench tasks): tasks
    ordered by ``headroom_gap`` of the dense model against the task's majority-class baseline
    (larger = harder). The human-model gap with a perfect "human" (1.0), normalized by what is
    above chance so that a 3-class and a 4-class task compare; for metrics in [0, 1] whose best
    value is 1 (accuracy, F1). ``apply`` leaves the data alone; the baseline is the task's.
    """

    name: ClassVar[str] = "dense_headroom"
    setting: ClassVar[int] = 4
    description: ClassVar[str] = (
        "tasks ordered by the dense model's error over the headroom above the majority baseline"
    )
    measure_label: ClassVar[str] = "dense error above the baseline (%)"
    needs_baseline: ClassVar[bool] = True

    def measure(self, facts: RunFacts = NO_FACTS) -> float | None:
        """``headroom_gap`` of the dense score (None without the dense score and a baseline
        below 1)."""
        if facts.dense is None or facts.baseline is None or not facts.baseline < 1:
            return None
        return headroom_gap(facts.dense, facts.baseline)

    def apply(self, task: TaskData, seed: int = 0) -> TaskData:
        # Nothing to check here: a task without a baseline gets its measure from the study file's
        # difficulty_value (the study checks refuse a task that has neither).
        return self.record(task, seed)
