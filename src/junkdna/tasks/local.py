"""A task from a local JSONL or CSV file: text column(s) and a label column -> TaskData.

Used until (and alongside) the task registry: any labelled file becomes a task. The validation
split is either a second file or a seeded hold-out of the first (recorded in ``info``).
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from junkdna.errors import JunkDNAError
from junkdna.heads import get_head
from junkdna.tasks.base import TaskData

SUFFIXES = (".jsonl", ".csv")


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
    or its text."""
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
    choices_field: str = "choices",
) -> TaskData:
    from datasets import Dataset

    kind = get_head(head)  # an unknown head: did-you-mean error
    # A local file's choices make a multiple-choice task (a head that requires them).
    with_choices = kind.choices == "required"
    path = Path(path)
    needed = [*text_fields, label_field]
    if with_choices:
        needed.append(choices_field)
    rows = read_rows(path)
    _check_columns(rows, needed, path)
    if validation is not None:
        val_rows = read_rows(validation)
        _check_columns(val_rows, needed, Path(validation))
        train_rows, split = rows, f"validation file {validation}"
    else:
        if not 0 < validation_fraction < 1:
            raise JunkDNAError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
        n_val = max(1, round(validation_fraction * len(rows)))
        if n_val >= len(rows):
            raise JunkDNAError(f"task file {str(path)!r} has too few rows ({len(rows)}) to split")
        order = list(range(len(rows)))
        random.Random(seed).shuffle(order)
        val_rows = [rows[i] for i in order[:n_val]]
        train_rows = [rows[i] for i in order[n_val:]]
        split = f"seeded hold-out: {validation_fraction:g} of the file, seed {seed}"
    if with_choices:
        y_train = _choice_labels(train_rows, label_field, choices_field, path)
        y_val = _choice_labels(val_rows, label_field, choices_field, validation or path)
        num_labels, names = len(train_rows[0][choices_field]), None
    else:
        y_train, y_val, num_labels, names = _encode_labels(
            kind.labels, train_rows, val_rows, label_field
        )

    def dataset(rs, ys):
        cols = {f: [str(r[f]) for r in rs] for f in text_fields}
        if with_choices:
            cols[choices_field] = [[str(c) for c in r[choices_field]] for r in rs]
        return Dataset.from_dict({**cols, label_field: ys})

    return TaskData(
        name=path.stem,
        head=head,
        train=dataset(train_rows, y_train),
        validation=dataset(val_rows, y_val),
        text_fields=tuple(text_fields),
        label_field=label_field,
        metric=metric or kind.default_metric,  # generation: exact string match
        num_labels=num_labels,
        label_names=names,
        choices_field=choices_field if with_choices else None,
        info={"source": str(path), "split": split, "train": len(y_train), "validation": len(y_val)},
    )
