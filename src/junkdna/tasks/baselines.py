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


# Setting 3, offline QA (squad_mc v2): smollm2-135m without fine-tuning, log-likelihood over 4
# choices (chance 0.25; distractors of the same answer kind from other articles), 200 fixed
# validation questions, evidence cut to 128 words. (v1, distractors from the same passage:
# open 0.385, closed 0.275 - closed book at chance.)
_QA_CMD = "python benchmarks/bench_qa.py --questions 200 --evidence-words 128 --threads 1"
for _mode, _score in (("open-book", 0.895), ("closed-book", 0.62)):
    MEASURED[(f"squad_mc[{_mode}]", "smollm2-135m")] = Measured(
        f"squad_mc[{_mode}]",
        "smollm2-135m",
        _score,
        f"no fine-tuning; ExternalInformation('{_mode}', 128, 200); accuracy by summed log-prob",
        _QA_CMD,
        "2026-11-29",
    )
