"""Settings 1 and 2, which change how much training data a model gets: DataAdequacy (a nested
sample of the training split) and MajorityMinority (unequal amounts per domain). Both sample with
``tasks.splits.nested_order``: seeded, stratified where the head asks for it, and nested."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from junkdna.difficulty.base import NO_FACTS, Difficulty, RunFacts, register
from junkdna.errors import JunkDNAError
from junkdna.heads import get_head
from junkdna.tasks.base import TaskData
from junkdna.tasks.splits import nested_order, prefix_size


@register
@dataclass(frozen=True)
class DataAdequacy(Difficulty):
    """Setting 1: keep a seeded, stratified, nested random sample of the training split.

    Give ``fraction`` in (0, 1] or ``examples`` (a count). For one seed, every sample is a prefix
    of one stratified order, so 10% lies inside 25% inside 70% inside 100%, and a count sample
    nests with the fractions too. Validation and test are untouched.
    """

    name: ClassVar[str] = "data_adequacy"
    setting: ClassVar[int] = 1
    description: ClassVar[str] = "how much of the training split the model is fine-tuned on"
    measure_label: ClassVar[str] = "full / kept training rows"
    label_param: ClassVar[str | None] = "fraction"
    fraction: float | None = None
    examples: int | None = None

    def __post_init__(self):
        if (self.fraction is None) == (self.examples is None):
            raise JunkDNAError("data_adequacy: give exactly one of fraction or examples")
        if self.fraction is not None and not 0 < self.fraction <= 1:
            raise JunkDNAError(f"data_adequacy: fraction must be in (0, 1], got {self.fraction}")
        if self.examples is not None and (int(self.examples) != self.examples or self.examples < 1):
            raise JunkDNAError(
                f"data_adequacy: examples must be a positive integer, got {self.examples}"
            )

    def indices(self, task: TaskData, seed: int) -> list[int]:
        n = len(task.train)
        if self.examples is not None and self.examples > n:
            raise JunkDNAError(
                f"data_adequacy: {self.examples} examples asked, {task.name!r} has {n}"
            )
        stratify = get_head(task.head).stratify
        labels = task.train[task.label_field] if stratify else None
        k = prefix_size(self.fraction, self.examples, n)
        return sorted(nested_order(labels, n, seed)[:k].tolist())

    def apply(self, task: TaskData, seed: int = 0) -> TaskData:
        idx = self.indices(task, seed)
        sample = {"train_full": len(task.train), "train_kept": len(idx), "stratified": True}
        return self.record(task, seed, train=task.train.select(idx), info={self.name: sample})

    def measure(self, facts: RunFacts = NO_FACTS) -> float | None:
        """Training rows of the full split / rows kept: what the run trained on where the facts
        say (``apply`` records both), else what the parameters say: 1 / fraction (a count of
        examples needs the run's sizes). The two differ only by the rounding of the sample size."""
        if facts.train_full and facts.train_kept:
            return facts.train_full / facts.train_kept
        return None if self.fraction is None else 1 / self.fraction

    def run_facts(self, info: dict[str, Any]) -> RunFacts:
        sample = info.get(self.name) or {}
        return RunFacts(train_full=sample.get("train_full"), train_kept=sample.get("train_kept"))


@register
@dataclass(frozen=True)
class MajorityMinority(Difficulty):
    """Setting 2: one multi-domain task; majority domains keep ``majority_examples`` training
    rows each, minority domains ``minority_examples`` (0 in zero-shot mode: they are only
    evaluated). Domains named in neither are dropped from every split. Samples are seeded,
    stratified (classification) and nested, as in DataAdequacy; metrics come per domain.

    No measure of a level: the setting's contrast (majority vs minority domains) lies inside
    each run, in its per-domain metrics, not between levels; and ordering levels by minority
    data (zero-shot harder than few-shot) would contradict the paper, which finds the larger
    drop in few-shot. A study that wants a level test gives each level a ``value``.
    """

    name: ClassVar[str] = "majority_minority"
    setting: ClassVar[int] = 2
    description: ClassVar[str] = (
        "training rows per domain of a multi-domain task: many for majority domains, few or "
        "none for minority ones"
    )
    measure_label: ClassVar[str] = "none (the contrast is per domain, inside each run)"
    majority: tuple[str, ...] = ("en",)
    minority: tuple[str, ...] = ()
    majority_examples: int | None = None  # None: all of a majority domain's rows
    minority_examples: int = 0
    mode: str = "zero-shot"  # "zero-shot" (minority_examples == 0) or "few-shot"

    def __post_init__(self):
        object.__setattr__(self, "majority", tuple(self.majority))
        object.__setattr__(self, "minority", tuple(self.minority))
        where = "majority_minority"
        if not self.minority or set(self.majority) & set(self.minority):
            raise JunkDNAError(f"{where}: give minority domains distinct from the majority ones")
        modes = {"zero-shot": self.minority_examples == 0, "few-shot": self.minority_examples > 0}
        if self.mode not in modes:
            raise JunkDNAError(f"{where}: mode must be zero-shot or few-shot, got {self.mode!r}")
        if not modes[self.mode]:
            raise JunkDNAError(
                f"{where}: mode {self.mode!r} with minority_examples={self.minority_examples} "
                "(zero-shot means 0 minority training rows, few-shot more than 0)"
            )

    def measure(self, facts: RunFacts = NO_FACTS) -> float | None:
        return None

    def apply(self, task: TaskData, seed: int = 0) -> TaskData:
        if not task.domain_field:
            raise JunkDNAError(
                f"majority_minority: task {task.name!r} has no domains; use a multi-domain task "
                "(e.g. multiemo_mix, opus100_mix)"
            )
        wanted = (*self.majority, *self.minority)
        present = set(task.train[task.domain_field])
        missing = [d for d in wanted if d not in present]
        if missing:
            raise JunkDNAError(
                f"majority_minority: domain(s) {missing} not in {task.name!r}; it has "
                f"{sorted(present)}"
            )
        keep = self._train_rows(task, seed)
        kept = {d: len(keep[d]) for d in wanted}
        train = task.train.select(sorted(i for rows in keep.values() for i in rows))

        def only(ds):
            if ds is None:
                return None
            return ds.select([i for i, d in enumerate(ds[task.domain_field]) if d in wanted])

        return self.record(
            task,
            seed,
            train=train,
            validation=only(task.validation),
            test=only(task.test),
            info={self.name: {"train_kept": kept}},
        )

    def _train_rows(self, task: TaskData, seed: int) -> dict[str, list[int]]:
        import numpy as np

        domains = np.asarray(task.train[task.domain_field])
        stratify = get_head(task.head).stratify
        labels = np.asarray(task.train[task.label_field]) if stratify else None
        amounts = {d: self.majority_examples for d in self.majority}
        amounts.update(dict.fromkeys(self.minority, self.minority_examples))
        out = {}
        for d, amount in amounts.items():
            rows = np.flatnonzero(domains == d)
            k = len(rows) if amount is None else amount
            if k > len(rows):
                raise JunkDNAError(
                    f"majority_minority: {k} training rows asked for domain {d!r}, it has "
                    f"{len(rows)}"
                )
            order = nested_order(labels[rows] if labels is not None else None, len(rows), seed)
            out[d] = rows[order[:k]].tolist()
        return out
