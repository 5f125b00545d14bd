"""Measured dense scores of the offline tasks, with the recipe and command that measured them.

A task (or a data level) on which the dense model learns nothing proves nothing about pruning, so
every offline task shows its majority-class baseline (computed when the task is prepared, in its
meta.json) next to what dense MiniLM reaches. Numbers here are measured, never guessed; a task
without an entry has not been measured yet.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    task: str
    model: str
    score: float  # primary metric on the validation split
    recipe: str
    command: str
    date: str


MEASURED: dict[tuple[str, str], Measured] = {}


def measured(task: str, model: str = "minilm") -> Measured | None:
    return MEASURED.get((task, model))


# Setting 3, offline QA: smollm2-135m without fine-tuning, log-likelihood over 4 choices
# (chance 0.25), 200 fixed validation questions, evidence cut to 128 words. Closed book is barely
# above chance: the distractors are spans of the same passage, so without it they are hard.
_QA_CMD = "python benchmarks/bench_qa.py --questions 200 --evidence-words 128"
for _mode, _score in (("open-book", 0.385), ("closed-book", 0.275)):
    MEASURED[(f"squad_mc[{_mode}]", "smollm2-135m")] = Measured(
        f"squad_mc[{_mode}]",
        "smollm2-135m",
        _score,
        f"no fine-tuning; ExternalInformation('{_mode}', 128, 200); accuracy by summed log-prob",
        _QA_CMD,
        "2025-11-29",
    )
