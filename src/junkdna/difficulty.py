"""The paper's difficulty settings as small objects that compose with any task.

Each setting is a frozen dataclass with a ``name``, its ``params()`` (JSON-able, stored with every
result) and ``apply(task, seed) -> TaskData``, which returns a new TaskData whose
``info["difficulty"]`` records the setting. ``from_params(name, params)`` rebuilds one from a
study file or a stored result.

1. DataAdequacy - how much target-domain training data (here).
2. majority vs minority domains - generative issue (applies per-domain amounts of data).
3. external information (open vs closed book) - generative issue (changes the prompts).
4. HumanModelGap - across tasks: normalized human-model gap (here); DenseHeadroom - the same
   idea for tasks without a published human score (the dense model's gap to a perfect score,
   normalized by the headroom above the majority baseline).

Settings 2 and 3 subclass ``Difficulty`` the same way: fields are their parameters, ``apply``
transforms the task's splits and calls ``self.record``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from junkdna.errors import JunkDNAError
from junkdna.heads import get_head
from junkdna.registry import Registry
from junkdna.tasks.base import TaskData
from junkdna.tasks.splits import nested_order, prefix_size

DIFFICULTIES: Registry[type] = Registry("difficulty setting")


def register(cls):
    DIFFICULTIES.add(cls.name, cls)
    return cls


@dataclass(frozen=True)
class Difficulty:
    name: ClassVar[str]
    setting: ClassVar[int]  # the paper's setting number (1-4)

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def apply(self, task: TaskData, seed: int = 0) -> TaskData:
        raise NotImplementedError

    def record(self, task: TaskData, seed: int, **changes: Any) -> TaskData:
        """A copy of `task` with `changes` and this setting stamped into its info."""
        entry = {"name": self.name, "setting": self.setting, "params": self.params(), "seed": seed}
        info = {**task.info, "difficulty": entry, **changes.pop("info", {})}
        return dataclasses.replace(task, info=info, **changes)


def from_params(name: str, params: dict[str, Any] | None = None) -> Difficulty:
    cls = DIFFICULTIES.get(name)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params or {}) - fields)
    if unknown:
        raise JunkDNAError(
            f"difficulty {name!r} has no parameter(s) {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(fields)) or 'none'}"
        )
    return cls(**(params or {}))


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
        return self.record(task, seed, train=task.train.select(idx), info={"data_adequacy": sample})


def normalized_gap(human: float, model: float) -> float:
    """(human - model) / human * 100: the percentage of human performance the model lacks."""
    if human == 0:
        raise JunkDNAError("normalized gap: human score is 0, the gap is undefined")
    return (human - model) / human * 100.0


# The paper's Table 1 inputs, in percent: (human, RoBERTa-large). Human scores are the published
# ones (GLUE: Nangia & Bowman 2019, QQP as accuracy, STS-B as Pearson; WinoGrande: Sakaguchi et
# al. 2020; CSQA: Talmor et al. 2019). The paper prints only the gaps; these RoBERTa-large scores
# are the one-decimal values that reproduce every printed gap to two decimals (CSQA needs 72.02
# against the published 88.9: the paper's own rounding of its dev score).
PAPER_TABLE1: dict[str, tuple[float, float]] = {
    "sst2": (97.8, 96.2),
    "cola": (66.4, 64.9),
    "qqp": (80.4, 91.8),
    "stsb": (92.7, 92.2),
    "qnli": (91.2, 94.4),
    "rte": (93.6, 84.3),
    "winogrande": (94.0, 78.1),
    "csqa": (88.9, 72.02),
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

    def apply(self, task: TaskData, seed: int = 0) -> TaskData:
        # Nothing to check here: a task without a baseline gets its measure from the study file's
        # difficulty_value (the study checks refuse a task that has neither).
        return self.record(task, seed)


QA_SAMPLE_SEED = 0  # fixed: every run, mode and seed of a study scores the same questions


@register
@dataclass(frozen=True)
class ExternalInformation(Difficulty):
    """Setting 3: the same questions with the evidence in the prompt (open book, cut to the first
    ``evidence_words`` words) or without it (closed book).

    The budget is in words, not model tokens, so every model sees the same evidence. Works on any
    task with ``question`` and ``evidence`` fields (tasks/qa.py); the task's text becomes one
    ``prompt`` field. ``questions`` keeps a fixed sample of that many validation questions (the
    same in both modes and for every run seed), for sweeps that cannot afford all of them.
    """

    name: ClassVar[str] = "external_information"
    setting: ClassVar[int] = 3
    mode: str = "open-book"
    evidence_words: int = 128
    questions: int | None = None

    def __post_init__(self):
        from junkdna.tasks.qa import PROMPTS

        PROMPTS.get(self.mode)  # unknown mode -> did-you-mean error
        if int(self.evidence_words) != self.evidence_words or self.evidence_words < 1:
            raise JunkDNAError(
                f"external_information: evidence_words must be a positive integer, "
                f"got {self.evidence_words}"
            )
        if self.questions is not None and self.questions < 1:
            raise JunkDNAError(
                f"external_information: questions must be >= 1, got {self.questions}"
            )

    def apply(self, task: TaskData, seed: int = 0) -> TaskData:
        from junkdna.tasks.qa import EVIDENCE, PROMPT, QUESTION, build_prompt

        if task.text_fields != (QUESTION, EVIDENCE):
            raise JunkDNAError(
                f"external_information: task {task.name!r} has text fields {task.text_fields}; "
                f"it needs ({QUESTION!r}, {EVIDENCE!r}) (a QA task, e.g. squad_mc or triviaqa)"
            )

        def prompts(ds):
            if ds is None:
                return None
            texts = [
                build_prompt(self.mode, q, e, self.evidence_words)
                for q, e in zip(ds[QUESTION], ds[EVIDENCE], strict=True)
            ]
            return ds.add_column(PROMPT, texts)

        validation = task.validation
        if self.questions is not None and self.questions < len(validation):
            import numpy as np

            pick = np.random.default_rng(QA_SAMPLE_SEED).permutation(len(validation))
            validation = validation.select(sorted(pick[: self.questions].tolist()))
        info = {"external_information": {"questions": len(validation)}}
        if task.choices_field:
            n_choices = [len(c) for c in validation[task.choices_field]]
            info["chance"] = float(sum(1 / k for k in n_choices) / len(n_choices))
        return self.record(
            task,
            seed,
            train=prompts(task.train),
            validation=prompts(validation),
            test=prompts(task.test),
            text_fields=(PROMPT,),
            info=info,
        )


@register
@dataclass(frozen=True)
class MajorityMinority(Difficulty):
    """Setting 2: one multi-domain task; majority domains keep ``majority_examples`` training
    rows each, minority domains ``minority_examples`` (0 in zero-shot mode: they are only
    evaluated). Domains named in neither are dropped from every split. Samples are seeded,
    stratified (classification) and nested, as in DataAdequacy; metrics come per domain.
    """

    name: ClassVar[str] = "majority_minority"
    setting: ClassVar[int] = 2
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
            info={"majority_minority": {"train_kept": kept}},
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
