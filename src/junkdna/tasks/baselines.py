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
