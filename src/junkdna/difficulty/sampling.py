"""Settings 1 and 2, which turn on how much data a model has: DataAdequacy (a nested sample of the
training split) and MajorityMinority (languages with much or little pre-training or fine-tuning
data, one group per level). Both sample with ``tasks.splits.nested_order``: seeded, stratified
where the head asks for it, and nested."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

from junkdna.difficulty.base import NO_FACTS, Difficulty, RunFacts, register
from junkdna.errors import JunkDNAError
from junkdna.heads import get_head
from junkdna.tasks.base import TaskData
from junkdna.tasks.splits import nested_order, prefix_size

log = logging.getLogger(__name__)


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


# The paper's Table 2 (Appendix C) as printed: each language's data in mBART's pre-training
# corpus CC-25 (GB; Liu et al. 2020) and in OPUS-100, the fine-tuning corpus (MB; Zhang et al.
# 2020). Majority Ru, Vi; minority Gu, My.
PAPER_TABLE2: dict[str, tuple[float, float]] = {
    "ru": (278.0, 116.0),
    "vi": (137.3, 42.0),
    "gu": (1.9, 22.0),
    "my": (1.6, 2.5),
}
# Where a level's data amounts come from (``MajorityMinority.data``): a documented table per
# language, or "train" (the fine-tuning rows the runs sample, recorded by ``apply``).
DATA_SIZES: dict[str, dict[str, float]] = {
    "cc25": {lang: gb for lang, (gb, _) in PAPER_TABLE2.items()},
    "opus100": {lang: mb for lang, (_, mb) in PAPER_TABLE2.items()},
}
FROM_TRAIN = "train"
GROUPS = ("majority", "minority")
MODES = ("zero-shot", "few-shot")


def inverse_share(amounts: dict[str, float], group: str) -> float | None:
    """(majority + minority data) / the ``group``'s data: 1 for a group holding all of it, large
    for one holding little (None when the group holds none: the share is 0)."""
    mine = amounts[group]
    return None if not mine else sum(amounts.values()) / mine


@register
@dataclass(frozen=True)
class MajorityMinority(Difficulty):
    """Setting 2: a multi-domain task whose languages form a majority group (much data) and a
    minority group (little); a level is one group, trained on and evaluated on its own domains.

    A domain belongs to a group when all its languages do: a language (MultiEmo "en") or a
    direction between two languages of the group ("ru-vi"). With a ``pivot`` language (e.g.
    "en" for OPUS-100's English-centric pairs), a direction to or from the pivot belongs to the
    group of its other language: "en-ru" and "ru-en" are majority when Ru is (the paper's 2-to-2
    pairs, the authors' ``lang_pairs=en-ru,en-vi,vi-en,ru-en``). Domains of neither group are
    dropped.

    * ``mode="zero-shot"``: no fine-tuning data (the training split is emptied); run it under
      regime "none", as the paper does ("perform language translation tasks without any
      fine-tuning"). Its difficulty is the languages' pre-training data, so ``data`` must name a
      documented table (``DATA_SIZES``, e.g. "cc25" from the paper's Table 2).
    * ``mode="few-shot"``: fine-tuned on the group's domains, ``majority_examples`` or
      ``minority_examples`` training rows per domain (None: all; a count above what a domain
      has keeps all of it, with a warning), sampled seeded, stratified and nested as in
      DataAdequacy. Its difficulty is "the amount of data employed for those languages during
      the fine-tuning phase": ``data="train"`` measures it by the rows sampled for each group
      (``apply`` records both groups'), or a table ("opus100", Table 2).

    ``eval_examples`` keeps the first N validation rows of each domain (the same rows in every
    run; the two directions of a language pair are the same sentences).

    Measure (larger = harder): the inverse of the level's group's share of the two groups' data,
    (majority + minority) / group, a group's data being the sum over its languages (a table) or
    its domains' training rows. As DataAdequacy's full / kept rows, it is 1 for a group holding
    all the data and grows as the group's share shrinks; the whole pre-training corpus is not
    the denominator because the paper prints only these four languages of CC-25.
    """

    name: ClassVar[str] = "majority_minority"
    setting: ClassVar[int] = 2
    description: ClassVar[str] = (
        "majority vs minority languages of a multi-domain task: one group per level, with much "
        "or little pre-training or fine-tuning data"
    )
    measure_label: ClassVar[str] = (
        "inverse share of the two groups' data held by the level's group (pre-training or "
        "fine-tuning)"
    )
    majority: tuple[str, ...] = ("en",)
    minority: tuple[str, ...] = ()
    majority_examples: int | None = None  # few-shot: training rows per majority domain
    minority_examples: int | None = None  # few-shot: training rows per minority domain
    mode: str = "few-shot"  # "zero-shot" (evaluation only) or "few-shot" (fine-tuned)
    group: str = "minority"  # the level: the group it trains on and is evaluated on
    eval_examples: int | None = None  # validation rows per domain (the first N)
    data: str = FROM_TRAIN  # what measures the groups' data: "train" or a DATA_SIZES table
    pivot: str | None = None  # a language shared by both groups' directions (e.g. "en")

    def __post_init__(self):
        object.__setattr__(self, "majority", tuple(self.majority))
        object.__setattr__(self, "minority", tuple(self.minority))
        where = "majority_minority"
        if not self.majority or not self.minority or set(self.majority) & set(self.minority):
            raise JunkDNAError(f"{where}: give majority and minority languages, distinct")
        if self.group not in GROUPS:
            raise JunkDNAError(f"{where}: group must be majority or minority, got {self.group!r}")
        if self.pivot is not None and self.pivot in (*self.majority, *self.minority):
            raise JunkDNAError(
                f"{where}: the pivot {self.pivot!r} is shared by both groups' directions; it "
                "cannot be a majority or minority language itself"
            )
        if self.mode not in MODES:
            raise JunkDNAError(f"{where}: mode must be zero-shot or few-shot, got {self.mode!r}")
        if self.data != FROM_TRAIN and self.data not in DATA_SIZES:
            valid = ", ".join([FROM_TRAIN, *DATA_SIZES])
            raise JunkDNAError(f"{where}: data must be one of {valid}, got {self.data!r}")
        for key in ("majority_examples", "minority_examples", "eval_examples"):
            value = getattr(self, key)
            if value is not None and (int(value) != value or value < 1):
                raise JunkDNAError(f"{where}: {key} must be a positive integer, got {value}")
        if self.mode == "zero-shot":
            if self.majority_examples is not None or self.minority_examples is not None:
                raise JunkDNAError(
                    f"{where}: a zero-shot level is not fine-tuned (regime 'none'); "
                    "majority_examples and minority_examples are for few-shot levels"
                )
            if self.data == FROM_TRAIN:
                raise JunkDNAError(
                    f"{where}: a zero-shot level has no fine-tuning data to measure; name the "
                    f"pre-training data of its languages, e.g. data = 'cc25' "
                    f"(tables: {', '.join(DATA_SIZES)})"
                )
        if self.data in DATA_SIZES:
            table = DATA_SIZES[self.data]
            unknown = [lang for lang in (*self.majority, *self.minority) if lang not in table]
            if unknown:
                raise JunkDNAError(
                    f"{where}: table {self.data!r} has no size for {unknown}; it has "
                    f"{', '.join(table)}"
                )

    def params(self) -> dict[str, Any]:
        """Without a pivot, the parameters as recorded before it existed (so the task info and
        default labels of such levels read the same as before)."""
        out = super().params()
        if out["pivot"] is None:
            del out["pivot"]
        return out

    # ------------------------------------------------------------------ measure
    def amounts(self, facts: RunFacts = NO_FACTS) -> dict[str, float] | None:
        """Each group's data (majority, minority) as ``data`` defines it; None where unknown.
        From the parameters alone (no run facts), "train" assumes as many domains per language
        in both groups (one each; two directions each with a pivot), which the ratio needs."""
        if self.data in DATA_SIZES:
            table = DATA_SIZES[self.data]
            return {
                "majority": sum(table[lang] for lang in self.majority),
                "minority": sum(table[lang] for lang in self.minority),
            }
        if facts.train_full and facts.train_kept is not None:
            mine = facts.train_kept
            other = facts.train_full - mine
            return {self.group: mine, next(g for g in GROUPS if g != self.group): other}
        if self.majority_examples is None or self.minority_examples is None:
            return None
        return {
            "majority": self.majority_examples * len(self.majority),
            "minority": self.minority_examples * len(self.minority),
        }

    def measure(self, facts: RunFacts = NO_FACTS) -> float | None:
        amounts = self.amounts(facts)
        return None if amounts is None else inverse_share(amounts, self.group)

    def run_facts(self, info: dict[str, Any]) -> RunFacts:
        """The two groups' sampled training rows (``apply`` records them): train_full = both
        groups', train_kept = the level's group's."""
        rows = (info.get(self.name) or {}).get("group_train_rows") or {}
        if set(rows) != set(GROUPS):
            return RunFacts()
        return RunFacts(train_full=sum(rows.values()), train_kept=rows[self.group])

    # ------------------------------------------------------------------ data
    def domains(self, present, group: str) -> list[str]:
        """The ``present`` domains of ``group``: those whose languages ("ru", or "ru-vi") all
        belong to it, the pivot aside ("en-ru"), sorted."""
        langs = set(self.majority if group == "majority" else self.minority)
        out = []
        for d in set(present):
            own = set(str(d).split("-")) - {self.pivot}
            if own and own <= langs:
                out.append(d)
        return sorted(out)

    def fits_regime(self, finetunes: bool) -> str | None:
        if self.mode == "zero-shot" and finetunes:
            return "a zero-shot level has no training data: run it under regime 'none' only"
        return None

    def apply(self, task: TaskData, seed: int = 0) -> TaskData:
        where = "majority_minority"
        if not task.domain_field:
            raise JunkDNAError(
                f"{where}: task {task.name!r} has no domains; use a multi-domain task "
                "(e.g. multiemo_mix, opus100_en_centric)"
            )
        present = set(_values(task.validation, task.domain_field))
        groups = {g: self.domains(present, g) for g in GROUPS}
        for g in GROUPS:
            langs = self.majority if g == "majority" else self.minority
            covered = {lang for d in groups[g] for lang in str(d).split("-")}
            missing = [lang for lang in langs if lang not in covered]
            if missing:
                raise JunkDNAError(
                    f"{where}: no domain of {task.name!r} covers the {g} language(s) {missing}; "
                    f"it has {sorted(present)}"
                )
        mine = groups[self.group]
        train_domains = [str(d) for d in _values(task.train, task.domain_field)]
        available = Counter(train_domains)
        if self.mode == "zero-shot":  # evaluated as pre-trained: no fine-tuning data at all
            group_rows = dict.fromkeys(GROUPS, 0)
            kept: dict[str, int] = dict.fromkeys(mine, 0)
            keep: list[int] = []
        else:
            wanted = {"majority": self.majority_examples, "minority": self.minority_examples}
            amounts = {}
            for g in GROUPS:
                for d in groups[g]:
                    want = available[d] if wanted[g] is None else int(wanted[g])
                    if want > available[d]:
                        log.warning(
                            "%s: %d training rows asked for domain %r of %r, it has %d: all kept",
                            where, want, d, task.name, available[d],
                        )  # fmt: skip
                    amounts[d] = min(want, available[d])
            # Both groups' amounts are recorded: the measure is the level's share of them.
            group_rows = {g: sum(amounts[d] for d in groups[g]) for g in GROUPS}
            rows = self._train_rows(task, seed, {d: amounts[d] for d in mine})
            keep = sorted(i for idx in rows.values() for i in idx)
            kept = {d: len(rows[d]) for d in mine}
        validation = self._eval_rows(task.validation, task.domain_field, mine)
        test = None if task.test is None else self._eval_rows(task.test, task.domain_field, mine)
        train = task.train.select(keep)
        entry = {
            "group": self.group,
            "mode": self.mode,
            "domains": mine,
            "train_kept": kept,
            "group_train_rows": group_rows,
            "validation_rows": dict(Counter(map(str, _values(validation, task.domain_field)))),
            "data": self.data,
        }
        # The baseline's majority class: of the level's training rows (zero-shot: of the
        # group's training split, which it does not train on).
        pool = train if len(train) else task.train.select(
            [i for i, d in enumerate(train_domains) if d in mine]
        )  # fmt: skip
        info = {self.name: entry, **_majority_baseline(task, pool, validation)}
        return self.record(task, seed, train=train, validation=validation, test=test, info=info)

    def _eval_rows(self, ds, field: str, domains: list[str]):
        """The rows of ``domains``, at most ``eval_examples`` per domain (the first ones)."""
        seen: dict[str, int] = {}
        keep = []
        cap = self.eval_examples
        for i, d in enumerate(_values(ds, field)):
            if d in domains and (cap is None or seen.get(d, 0) < cap):
                seen[d] = seen.get(d, 0) + 1
                keep.append(i)
        return ds.select(keep)

    def _train_rows(self, task: TaskData, seed: int, amounts: dict[str, int]) -> dict:
        import numpy as np

        domains = np.asarray(_values(task.train, task.domain_field))
        stratify = get_head(task.head).stratify
        labels = np.asarray(_values(task.train, task.label_field)) if stratify else None
        out = {}
        for d, k in amounts.items():
            rows = np.flatnonzero(domains == d)
            order = nested_order(labels[rows] if labels is not None else None, len(rows), seed)
            out[d] = rows[order[:k]].tolist()
        return out


def _values(ds, field: str) -> list:
    """A column as a list in one batched read (``ds[field]`` of datasets 4+ is a lazy column that
    formats row by row: seconds for the 200,000 rows of a language mix)."""
    if hasattr(ds, "select_columns"):
        return ds.select_columns([field])[:][field]
    return list(ds[field])


def _majority_baseline(task: TaskData, pool, validation) -> dict[str, Any]:
    """A classification level's majority-class baseline on its scored rows: the share of the
    most frequent label of ``pool`` (the level's training rows)."""
    if not get_head(task.head).stratify or not task.label_names or not len(pool):
        return {}
    if not len(validation):
        return {}
    majority = Counter(_values(pool, task.label_field)).most_common(1)[0][0]
    ys = _values(validation, task.label_field)
    share = sum(y == majority for y in ys) / len(ys)
    return {
        "majority_label": task.label_names[majority],
        "majority_baseline": {"validation": share, "validation_rows": len(ys)},
    }
