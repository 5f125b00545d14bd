"""Offline tasks built from BIG-bench task JSON (real data, no hub needed).

Mapping from the BIG-bench format (``{"examples": [{"input": ..., "target_scores": {...}}]}``):

- ``choice``: the label is the option with the highest target score (rows whose best score is
  tied, whose best option is not a known label, or whose input is empty are dropped and counted);
  ``split_on`` cuts the input into two text fields for sentence-pair tasks.
- ``winogrande_twins``: the Natural-Instructions WinoGrande subtask lists twin sentences with a
  blank and the answer of each ("Sentence 1: ... _ ... Answer1: holes. Sentence 2: ..."). Each
  sentence becomes one row: the sentence filled with the first option and with the second option
  (a sentence pair), label = which filling is right. The options are in the same order for both
  twins, so labels are balanced and the order carries no signal.

Which are easy and which hard for MiniLM (measured numbers: tasks/baselines.py):
MultiEmo sentence polarity (positive/negative) is easy, the 4-way MultiEmo sentiment is harder, and
both are learnable; WinoWhy is learnable (through its surface cues); VitaminC fact verification and
WinoGrande twins stay at the majority/chance level for a 22M-parameter encoder on the budgets tried.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from junkdna.registry import Registry
from junkdna.tasks.spec import BigBenchSource, TaskSpec, register

Row = dict | None  # None: the source example was dropped
Builder = Callable[..., Iterator[tuple[int, Row]]]
BUILDERS: Registry[Builder] = Registry("bigbench builder")
# task JSON -> the list of source units that splits are drawn over (BIG-bench: its examples)
READERS: Registry[Callable[[dict], list]] = Registry("bigbench reader")
READERS.add("examples", lambda task_json: task_json.get("examples"))


@BUILDERS.register("choice")
def choice(examples: list[dict], spec: TaskSpec, split_on: str | None = None):
    labels = list(spec.label_names or ())
    for pos, ex in enumerate(examples):
        text = str(ex.get("input", "")).strip()
        scores = ex.get("target_scores") or {}
        top = max(scores.values(), default=None)
        best = [k for k, v in scores.items() if v == top]
        if not text or len(best) != 1 or best[0] not in labels:
            yield pos, None
            continue
        if split_on is None:
            parts = [text]
        else:
            first, sep, second = text.partition(split_on)
            parts = [first.strip(), second.strip()]
            if not sep or not all(parts):
                yield pos, None
                continue
        yield (
            pos,
            {**dict(zip(spec.text_fields, parts, strict=True)), "label": labels.index(best[0])},
        )


_TWINS = re.compile(
    r"Sentence 1:\s*(?P<s1>.+?)\s*Answer1:\s*(?P<a1>.+?)\s*Sentence 2:\s*(?P<s2>.+?)\s*"
    r"Answer2:\s*(?P<a2>.+?)\s*$",
    re.DOTALL,
)


def _twins(examples: list[dict]):
    """(position, None) for a dropped example, else (position, (s1, s2, a1, a2)) per twin pair."""
    for pos, ex in enumerate(examples):
        targets = ex.get("target") or []
        seen: set[tuple[str, str]] = set()
        for target in [targets] if isinstance(targets, str) else targets:
            m = _TWINS.search(str(target))
            if not m:
                yield pos, None
                continue
            s1, s2 = m["s1"], m["s2"]
            a1, a2 = (m[k].strip().rstrip(".").strip() for k in ("a1", "a2"))
            if (s1, s2) in seen or a1 == a2 or s1.count("_") != 1 or s2.count("_") != 1:
                yield pos, None
                continue
            seen.add((s1, s2))
            yield pos, (s1, s2, a1, a2)


def _twin_rows(examples: list[dict], row: Callable[[str, str, str, int], dict]):
    """Each twin sentence as one row: ``row(sentence, option1, option2, label)``."""
    for pos, twins in _twins(examples):
        if twins is None:
            yield pos, None
            continue
        s1, s2, a1, a2 = twins
        for sentence, label in ((s1, 0), (s2, 1)):
            yield pos, row(sentence, a1, a2, label)


@BUILDERS.register("winogrande_twins")
def winogrande_twins(examples: list[dict], spec: TaskSpec):
    first, second = spec.text_fields
    return _twin_rows(
        examples,
        lambda s, a1, a2, y: {first: s.replace("_", a1), second: s.replace("_", a2), "label": y},
    )


@BUILDERS.register("winogrande_mc")
def winogrande_mc(examples: list[dict], spec: TaskSpec):
    """The same twins as WinoGrande's own format: the sentence with its blank, the two options as
    choices (in the same order for both twins), label = the right option's index."""
    (field,) = spec.text_fields
    return _twin_rows(
        examples, lambda s, a1, a2, y: {field: s, spec.choices_field: [a1, a2], "label": y}
    )


def _bb(
    name, member, builder, fields, labels, description, family, notes="", head="classification",
    choices_field=None, zero_shot=None, **options,
):  # fmt: skip
    register(
        TaskSpec(
            name=name,
            description=description,
            source=BigBenchSource(member, builder, tuple(sorted(options.items()))),
            head=head,
            choices_field=choices_field,
            text_fields=fields,
            metric="accuracy",
            num_labels=len(labels),
            label_names=labels,
            family=family,
            notes=notes,
            zero_shot=zero_shot,
        )
    )


MULTIEMO_LANGS = ("en", "de", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "zh")
MULTIEMO_LABELS = ("ambivalent", "positive", "negative", "neutral")  # the file's key order
MULTIEMO_NOTE = (
    "MultiEmo (Kocon et al. 2021) via BIG-bench; sentence level, all domains; the 11 language "
    "files are translations in the same order, so one split rule gives the same split in all."
)

for _lang in MULTIEMO_LANGS:
    _bb(
        f"multiemo_{_lang}",
        f"multiemo/all_sentence_{_lang}/task.json",
        "choice",
        ("text",),
        MULTIEMO_LABELS,
        f"MultiEmo sentence sentiment ({_lang}): positive/negative/neutral/ambivalent",
        "multiemo",
        MULTIEMO_NOTE,
    )
_bb(
    "multiemo_en_polarity",
    "multiemo/all_sentence_en/task.json",
    "choice",
    ("text",),
    ("positive", "negative"),
    "MultiEmo sentence polarity (en): positive vs negative (an offline SST-2 analogue)",
    "multiemo",
    "the multiemo_en sentences whose label is positive or negative (neutral and ambivalent "
    "dropped); same split positions as multiemo_en",
)
_bb(
    "multiemo_en_text",
    "multiemo/all_text_en/task.json",
    "choice",
    ("text",),
    MULTIEMO_LABELS,
    "MultiEmo whole-review sentiment (en): positive/negative/neutral/ambivalent",
    "multiemo",
    "text level: whole reviews (long; use a longer max length than for sentences)",
)
_bb(
    "vitaminc",
    "vitaminc_fact_verification/task.json",
    "choice",
    ("evidence", "claim"),
    ("True", "False", "Neither"),
    "VitaminC fact verification: does the Wikipedia passage support the claim (True/False/Neither)",
    "fact-verification",
    "input 'Title: passage\\nClaim: claim' is cut at '\\nClaim: ' into (evidence, claim)",
    split_on="\nClaim: ",
)
_bb(
    "winogrande_twins",
    "natural_instructions/subtask029_winogrande_full_object/task.json",
    "winogrande_twins",
    ("filled_option1", "filled_option2"),
    ("option1", "option2"),
    "WinoGrande-style twin sentences (objects): which filling of the blank is right",
    "commonsense",
    "from Natural Instructions subtask029 (WinoGrande, object twins); twins share a split",
)
_bb(
    "winogrande_mc",
    "natural_instructions/subtask029_winogrande_full_object/task.json",
    "winogrande_mc",
    ("sentence",),
    ("option1", "option2"),
    "WinoGrande-style twins (objects) as multiple choice: fill the blank with one of two options",
    "commonsense",
    "the winogrande_twins data in WinoGrande's own multiple-choice form (the paper's framing)",
    head="multiple-choice",
    choices_field="choices",
    zero_shot="partial",
)
_bb(
    "winowhy",
    "winowhy/task.json",
    "choice",
    ("text",),
    ("correct", "incorrect"),
    "WinoWhy: is the stated reason for a Winograd pronoun resolution correct",
    "commonsense",
)
