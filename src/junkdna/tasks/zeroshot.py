"""Zero-shot accuracy reads the one task registry: any registered task with a zero-shot form
(``TaskSpec.zero_shot_form``: every task with choices, and the classification tasks that name a
form such as RTE's True/False question) is scored by the yardstick (``junkdna ppl --zeroshot``,
``junkdna compare``) on the rows that studies train and evaluate on, loaded by the task's own
loader (``tasks.registry.load_task``).

Which split is scored: the task's ``test`` split where it has a labelled one, else its
``validation`` split, as lm-evaluation-harness picks (test docs if the task has them, else
validation docs). So the offline tasks (``*_val``, ``squad_val_mc``) are scored on their test
split (drawn by the fixed seed from the published validation set, disjoint from the rows a
study trains or selects on), and the hub tasks on the split lm-eval uses (ARC and OpenBookQA:
test; PIQA, BoolQ, HellaSwag, WinoGrande, GLUE: validation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from junkdna.errors import JunkDNAError, did_you_mean
from junkdna.tasks.forms import FORMS, ChoiceItem
from junkdna.tasks.registry import get_spec, list_specs, load_task
from junkdna.tasks.spec import SPECS

# The default zero-shot tasks offline: the seven of the Wanda paper's table (BoolQ, RTE,
# HellaSwag, WinoGrande, ARC-e, ARC-c, OpenBookQA) on their published validation sets.
OFFLINE_DEFAULT = (
    "boolq_val",
    "rte_val",
    "hellaswag_val",
    "winogrande_val",
    "arc_easy_val",
    "arc_challenge_val",
    "openbookqa_val",
)


@dataclass(frozen=True)
class ZeroShotSet:
    """The questions of one task, formed for zero-shot scoring."""

    task: str
    split: str  # which of the task's splits they come from
    source: str  # the task's source (provenance)
    form: str  # name in tasks.forms.FORMS
    items: list[ChoiceItem]
    skipped: int = 0  # rows the form does not apply to (a WinoGrande sentence without one blank)

    @property
    def chance(self) -> float:
        """The expected accuracy of a uniform guess: the mean of 1/k over the questions."""
        return sum(1 / it.k for it in self.items) / len(self.items) if self.items else float("nan")

    def info(self) -> dict:
        """Where the questions came from (recorded beside their scores)."""
        return {"split": self.split, "source": self.source, "form": self.form,
                "chance": self.chance, "skipped": self.skipped}  # fmt: skip


def zero_shot_names() -> list[str]:
    return [s.name for s in list_specs() if s.zero_shot_form is not None]


def check_zero_shot(names: Sequence[str]) -> list[str]:
    """The names, each a registered task with a zero-shot form (else a one-line error)."""
    valid = zero_shot_names()
    for name in names:
        if name not in SPECS:
            raise JunkDNAError(f"unknown zero-shot task {name!r}.{did_you_mean(name, valid)}")
        spec = SPECS.get(name)
        if spec.zero_shot_form is None:
            raise JunkDNAError(
                f"task {name!r} ({spec.head}, no choices) has no zero-shot form to score; "
                f"zero-shot tasks: {', '.join(valid)}"
            )
    return list(names)


def scored_split(task) -> tuple[str, object]:
    """(name, rows) of the split zero-shot scores: test if labelled rows are there, else
    validation."""
    if task.test is not None and len(task.test) > 0:
        return "test", task.test
    return "validation", task.validation


def item_of(spec, row: dict) -> ChoiceItem | None:
    """One row of a task as a question, by the task's zero-shot form."""
    form = FORMS.get(spec.zero_shot_form)
    return form.item(row, spec.text_fields, spec.label_field, spec.choices_field)


def zero_shot_set(name: str, limit: int | None = None) -> ZeroShotSet:
    """The first ``limit`` questions (all if None) of a task's scored split."""
    check_zero_shot([name])
    spec = get_spec(name)
    task = load_task(name)
    split, rows = scored_split(task)
    if limit is not None:
        rows = rows.select(range(min(limit, len(rows))))
    built = [item_of(spec, r) for r in rows]
    items = [it for it in built if it is not None]
    if not items:
        raise JunkDNAError(f"zero-shot task {name!r} has no items in its {split} split")
    source = str(task.info.get("source", spec.source.describe()))
    return ZeroShotSet(name, split, source, spec.zero_shot_form, items, len(built) - len(items))


def zero_shot_items(names: Sequence[str], limit: int | None) -> list[ZeroShotSet]:
    """Each task's questions: the text, before any model or tokenizer."""
    return [zero_shot_set(n, limit) for n in check_zero_shot(names)]
