"""A task from a local JSONL or CSV file: text column(s) and a label column -> TaskData.

Used until (and alongside) the task registry: any labelled file becomes a task. The validation
split is either a second file or a seeded hold-out of the first (recorded in ``info``).
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from junkdna.errors import JunkDNAError
from junkdna.heads import get_head
from junkdna.tasks.base import TaskData

SUFFIXES = (".jsonl", ".csv")
DEFAULT_CHOICES = "choices"  # the choices field when none is named


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise JunkDNAError(
            f"task file {str(path)!r} does not exist; give a .jsonl or .csv file, or a registered "
            "task name (`junkdna tasks` lists them)"
        )
    if path.suffix not in SUFFIXES:
        raise JunkDNAError(f"task file {str(path)!r}: expected one of {', '.join(SUFFIXES)}")
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise JunkDNAError(
                    f"task file {path}:{i}: not valid JSON ({e.msg}); each line must be one JSON "
                    "object"
                ) from None
    return rows


def _check_columns(rows: list[dict], needed: Sequence[str], path: Path) -> None:
    if not rows:
        raise JunkDNAError(f"task file {str(path)!r} has no rows")
    present = sorted(rows[0])
    missing = [c for c in needed if c not in rows[0]]
    if missing:
        raise JunkDNAError(
            f"task file {str(path)!r} lacks column(s) {', '.join(map(repr, missing))}; "
            f"columns present: {', '.join(present)} (choose with --text-field / --label-field)"
        )
    for i, r in enumerate(rows):
        if any(c not in r or r[c] is None for c in needed):
            raise JunkDNAError(f"task file {str(path)!r}: row {i + 1} lacks one of {list(needed)}")


def _as_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v)
    return None


def _choice_labels(rows: list[dict], field: str, choices: str, path) -> list[int]:
    """Multiple choice: each row's choices are a JSON list; the label is the right choice's index
    or its text. ``rows`` in file order, so that an error names the file's row."""
    out = []
    for i, r in enumerate(rows):
        opts = r[choices]
        if not isinstance(opts, list) or len(opts) < 2:
            raise JunkDNAError(
                f"task file {str(path)!r}: row {i + 1}: {choices!r} must be a list of at least 2 "
                f"choices (a JSON list in a .jsonl file), got {opts!r}"
            )
        texts, label = [str(o) for o in opts], r[field]
        # A string that is one of the choices is that choice (choices may be numbers written as
        # text); otherwise an int, or a string of digits, is an index.
        y = texts.index(label) if isinstance(label, str) and label in texts else _as_int(label)
        if y is None or not 0 <= y < len(opts):
            raise JunkDNAError(
                f"task file {str(path)!r}: row {i + 1}: label {r[field]!r} is neither a choice "
                f"index in 0..{len(opts) - 1} nor the text of one of the choices"
            )
        out.append(y)
    return out


def choice_takers() -> list[str]:
    """The heads that can use a choices field."""
    from junkdna.heads import HEADS

    return [n for n in HEADS.names() if HEADS.get(n).choices != "never"]


def check_choices_field(head: str, choices_field: str | None) -> None:
    """A choices field given for a head that never reads one is an error, not a silent no-op."""
    if choices_field is not None and get_head(head).choices == "never":
        raise JunkDNAError(
            f"choices field {choices_field!r}: head {head!r} does not use choices; heads that "
            f"do: {', '.join(choice_takers())} (a generating head scores each choice by its "
            "log-likelihood)"
        )


def _choices_used(kind, given: str | None, rows: list[dict]) -> str | None:
    """The field whose choices the task uses: the one given; else ``choices`` when the head
    requires choices or can score them and the file has that column; else None."""
    check_choices_field(kind.name, given)
    if given is not None or kind.choices == "never":
        return given
    if kind.choices == "required" or (rows and DEFAULT_CHOICES in rows[0]):
        return DEFAULT_CHOICES
    return None


def _check_generation_labels(kind, rows, val_rows, field: str, metric: str | None, path) -> None:
    """Labels that are all integers (JSON numbers, in the file and its validation file) under a
    generating head without choices are choice indices that lost their choices: the generated
    text would be compared with ``0``..``k``. Numbers as answers are text (``"12"``) or scored
    by ``numeric_match``."""
    if kind.labels != "text" or metric == "numeric_match" or not rows:
        return
    labels = [r[field] for r in (*rows, *val_rows)]
    if not all(isinstance(y, int) and not isinstance(y, bool) for y in labels):
        return
    lists = [k for k, v in rows[0].items() if isinstance(v, list) and k != field]
    hint = f" (this file's list column {lists[0]!r} looks like them)" if lists else ""
    raise JunkDNAError(
        f"task file {str(path)!r}: row 1: label {rows[0][field]!r} is an integer, and head "
        f"{kind.name!r} without choices would compare its generated text with it; for multiple "
        f"choice give the choices field (--choices-field FIELD){hint}, for a numeric answer "
        f'write it as text ("{rows[0][field]}") or use --metric numeric_match'
    )


def _encode_labels(kind: str, train: list, val: list, field: str):
    """``kind``: the head's label kind. Returns (train labels, validation labels, num_labels,
    label names)."""
    if kind == "number":
        try:
            return [float(r[field]) for r in train], [float(r[field]) for r in val], 1, None
        except (TypeError, ValueError):
            raise JunkDNAError(f"regression labels in {field!r} must be numbers") from None
    if kind == "text":
        return [str(r[field]) for r in train], [str(r[field]) for r in val], None, None
    values = [r[field] for r in train + val]
    ints = [_as_int(v) for v in values]
    if all(i is not None for i in ints):
        if min(ints) < 0:
            raise JunkDNAError(f"class ids in {field!r} must be >= 0, got {min(ints)}")
        n = max(max(ints) + 1, 2)
        return ints[: len(train)], ints[len(train) :], n, None
    names = sorted({str(v) for v in values})  # class names -> ids in sorted order
    ids = {name: i for i, name in enumerate(names)}
    ys = [ids[str(v)] for v in values]
    return ys[: len(train)], ys[len(train) :], max(len(names), 2), tuple(names)


def load_local_task(
    path: str | Path,
    text_fields: Sequence[str] = ("text",),
    label_field: str = "label",
    head: str = "classification",
    metric: str | None = None,
    validation: str | Path | None = None,
    validation_fraction: float = 0.2,
    seed: int = 0,
    choices_field: str | None = None,
) -> TaskData:
    """``choices_field``: the field listing each row's choices (None: ``choices`` when the head
    requires choices, or can score them and the file has that column). A head that generates
    text (causal LM, seq2seq) then scores every choice by its log-likelihood."""
    from datasets import Dataset

    kind = get_head(head)  # an unknown head: did-you-mean error
    path = Path(path)
    rows = read_rows(path)
    choices_field = _choices_used(kind, choices_field, rows)
    metric = _metric(kind, metric, choices_field)
    needed = [*text_fields, label_field] + ([choices_field] if choices_field else [])
    _check_columns(rows, needed, path)
    val_rows = None
    if validation is not None:
        val_rows = read_rows(validation)
        _check_columns(val_rows, needed, Path(validation))
    # Labels are checked in file order, so that an error names the file's row.
    if choices_field:
        ys = _choice_labels(rows, label_field, choices_field, path)
        val_ys = None if val_rows is None else _choice_labels(
            val_rows, label_field, choices_field, validation
        )  # fmt: skip
    else:
        _check_generation_labels(kind, rows, val_rows or [], label_field, metric, path)
    if val_rows is not None:
        train_rows, split = rows, f"validation file {validation}"
        train_idx, val_idx = list(range(len(rows))), list(range(len(val_rows)))
    else:
        if not 0 < validation_fraction < 1:
            raise JunkDNAError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
        n_val = max(1, round(validation_fraction * len(rows)))
        if n_val >= len(rows):
            raise JunkDNAError(f"task file {str(path)!r} has too few rows ({len(rows)}) to split")
        order = list(range(len(rows)))
        random.Random(seed).shuffle(order)
        val_idx, train_idx = order[:n_val], order[n_val:]
        val_rows, val_ys = [rows[i] for i in val_idx], (ys if choices_field else None)
        train_rows = [rows[i] for i in train_idx]
        split = f"seeded hold-out: {validation_fraction:g} of the file, seed {seed}"
    info: dict[str, Any] = {"source": str(path), "split": split}
    if choices_field:
        y_train = [ys[i] for i in train_idx]
        y_val = [val_ys[i] for i in val_idx]
        # A generating head scores any number of choices per row; a scoring head needs k fixed.
        num_labels = None if kind.choices_metric else len(train_rows[0][choices_field])
        names = None
        info["choices"] = choices_field
    else:
        y_train, y_val, num_labels, names = _encode_labels(
            kind.labels, train_rows, val_rows, label_field
        )
        if kind.labels == "class":
            info |= _majority(y_train, y_val, names)

    def dataset(rs, ys):
        cols = {f: [str(r[f]) for r in rs] for f in text_fields}
        if choices_field:
            cols[choices_field] = [[str(c) for c in r[choices_field]] for r in rs]
        return Dataset.from_dict({**cols, label_field: ys})

    return TaskData(
        name=path.stem,
        head=head,
        train=dataset(train_rows, y_train),
        validation=dataset(val_rows, y_val),
        text_fields=tuple(text_fields),
        label_field=label_field,
        metric=metric,
        num_labels=num_labels,
        label_names=names,
        choices_field=choices_field,
        info={**info, "train": len(y_train), "validation": len(y_val)},
    )


def _metric(kind, metric: str | None, choices_field: str | None) -> str:
    """The task's metric: the one given, else the head's default. A head that scores choices by
    log-likelihood predicts (summed, per-token) choice pairs: only its choice metric reads them."""
    from junkdna.tasks.metrics import METRICS

    if metric is not None:
        METRICS.get(metric)  # an unknown name: did-you-mean error
    if not (choices_field and kind.choices_metric):
        return metric or kind.default_metric  # generation: exact string match
    if metric not in (None, kind.choices_metric):
        raise JunkDNAError(
            f"metric {metric!r} cannot score head {kind.name!r} over choices (field "
            f"{choices_field!r}): each choice is scored by its log-likelihood; valid: "
            f"{kind.choices_metric}"
        )
    return kind.choices_metric


def _majority(y_train: list, y_val: list, names) -> dict[str, Any]:
    """The majority-class baseline: the share of validation rows in the training majority class
    (what ``study.run`` and the plausibility check read)."""
    if not y_train or not y_val:
        return {}
    majority = Counter(y_train).most_common(1)[0][0]
    share = sum(y == majority for y in y_val) / len(y_val)
    return {
        "majority_label": names[majority] if names else majority,
        "majority_baseline": {"validation": share, "validation_rows": len(y_val)},
    }
