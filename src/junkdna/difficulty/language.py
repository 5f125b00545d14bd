"""Setting 2 as an evaluation-only probe: the same parallel text in a group of languages a model
reads well (majority) or barely reads (minority), one group per level (``LanguageProbe``)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, ClassVar

from junkdna.difficulty.base import NO_FACTS, Difficulty, RunFacts, register
from junkdna.errors import JunkDNAError, did_you_mean
from junkdna.tasks.base import TaskData


@register
@dataclass(frozen=True)
class LanguageProbe(Difficulty):
    """Setting 2, evaluation only: a level is a group of ``languages`` of a parallel multi-language
    task (``udhr_lm``: the declaration's preamble and articles in 532 languages), scored as
    pre-trained or pruned, without fine-tuning (regime ``none``).

    ``apply`` keeps the validation rows of the group's languages (domains, e.g. ``rus``, ``vie``)
    whose item (the task's label: the article) every language of the group has, so that each
    item averages the same languages; items are then the unit of the two-level test, paired
    across levels when both groups have the same items (``tasks.metrics.BY_LABEL``). ``items``
    keeps only the items listed, whole (a study that cannot afford every article; a text is
    never cut, since its bits are divided by the bytes of the same whole item in the reference
    language): a byte-level tokenizer gives a Gujarati or Burmese text a token per byte, three
    per character, so the minority costs three times the tokens of the majority.

    Measure (larger = harder): the group's dense bits per byte, -log2 of the dense model's score
    (``byte_probability``, the mean over the group's texts of 2^-b, b a text's bits per byte of
    the same item in the reference language: the bits spent on the same content). It is the
    bits per byte at which every text would give that score: the group's mean bits per byte
    where its texts are scored alike, a little less where they differ (Jensen), and always in
    the dense score's order. Unlike the paper's Table 2 (each language's share of
    mBART's pre-training data), it needs no documented corpus: it measures how well the model
    reads the language, which is what a share of pre-training data stands in for.
    """

    name: ClassVar[str] = "language_probe"
    setting: ClassVar[int] = 2
    description: ClassVar[str] = (
        "majority vs minority languages, evaluation only: the same parallel text in a group of "
        "languages the model reads well or barely"
    )
    measure_label: ClassVar[str] = (
        "dense bits per reference byte of the group (-log2 of the dense byte_probability)"
    )
    label_param: ClassVar[str | None] = "languages"
    languages: tuple[str, ...] = ()
    items: tuple | None = None  # the items (labels, e.g. article numbers) kept; None: all

    def __post_init__(self):
        langs = (self.languages,) if isinstance(self.languages, str) else self.languages
        object.__setattr__(self, "languages", tuple(str(x) for x in langs))
        if not self.languages:
            raise JunkDNAError("language_probe: give the level's languages, e.g. ['rus', 'vie']")
        if len(set(self.languages)) != len(self.languages):
            raise JunkDNAError(f"language_probe: a language is listed twice in {self.languages}")
        if self.items is not None:
            object.__setattr__(self, "items", tuple(self.items))
            if not self.items or len(set(self.items)) != len(self.items):
                raise JunkDNAError(
                    f"language_probe: items must list distinct items, got {list(self.items)}"
                )

    def fits_regime(self, finetunes: bool) -> str | None:
        if finetunes:
            return "a language probe only evaluates: run it under regime 'none'"
        return None

    def measure(self, facts: RunFacts = NO_FACTS) -> float | None:
        if facts.dense is None or not 0 < facts.dense <= 1:
            return None
        return -math.log2(facts.dense)

    def apply(self, task: TaskData, seed: int = 0) -> TaskData:
        where = "language_probe"
        if not task.domain_field:
            raise JunkDNAError(
                f"{where}: task {task.name!r} has no languages (domains); use a parallel "
                "multi-language task such as udhr_lm"
            )
        langs, items = _columns(task.validation, task.domain_field, task.label_field)
        langs = [str(x) for x in langs]
        present = sorted(set(langs))
        missing = [x for x in self.languages if x not in present]
        if missing:
            hint = did_you_mean(missing[0], present)
            raise JunkDNAError(
                f"{where}: task {task.name!r} has no language {missing[0]!r}.{hint} It has "
                f"{len(present)} (see the {task.domain_field!r} column of its rows)"
            )
        of_lang: dict[str, set] = defaultdict(set)
        for lang, item in zip(langs, items, strict=True):
            of_lang[lang].add(item)
        shared = set.intersection(*(of_lang[x] for x in self.languages))
        if self.items is not None:
            absent = [y for y in self.items if y not in shared]
            if absent:
                raise JunkDNAError(
                    f"{where}: item(s) {absent} are not in every language of {list(self.languages)}"
                )
            shared = set(self.items)
        mine = set(self.languages)
        keep = [i for i, (x, y) in enumerate(zip(langs, items, strict=True))
                if x in mine and y in shared]  # fmt: skip
        entry: dict[str, Any] = {
            "languages": list(self.languages),
            "items": len(shared),
            "rows": len(keep),
            "items_not_in_every_language": sum(len(of_lang[x] - shared) for x in mine),
        }

        def of_group(ds):
            if ds is None:
                return None
            (lang,) = _columns(ds, task.domain_field)
            return ds.select([i for i, x in enumerate(lang) if str(x) in mine])

        return self.record(
            task,
            seed,
            validation=task.validation.select(keep),
            train=of_group(task.train),
            test=of_group(task.test),
            info={self.name: entry},
        )


def _columns(ds, *fields: str) -> list[list]:
    """Columns of a dataset as lists, in one batched read (row by row is slow on 16,000 rows)."""
    if not len(ds):
        return [[] for _ in fields]
    table = ds.select_columns(list(fields))[:] if hasattr(ds, "select_columns") else ds
    return [list(table[f]) for f in fields]
