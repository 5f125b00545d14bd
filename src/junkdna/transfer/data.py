"""Features of one split of a task: its rows (text fields, then the extras its head reads) and
labels, encoded by the task's head kind (``junkdna.heads``). Batching lives in
``heads.batching``."""

from __future__ import annotations

from junkdna.errors import JunkDNAError
from junkdna.heads import get_head
from junkdna.heads.batching import column
from junkdna.recipe import Recipe
from junkdna.tasks.base import TaskData


def encode(tokenizer, task: TaskData, split: str, recipe: Recipe, generation: bool = False):
    """Features of one split (``train`` or ``validation``) and the raw labels, in data order."""
    ds = getattr(task, split)
    if ds is None or len(ds) == 0:
        raise JunkDNAError(f"task {task.name!r} has no {split} examples")
    # Choices and language codes ride along at the end of each row (see ``row_extras``).
    texts = [column(ds, f, split) for f in (*task.text_fields, *row_extras(task))]
    rows = [list(t) for t in zip(*texts, strict=True)]  # (n, text fields + extras)
    labels = column(ds, task.label_field, split)
    return get_head(task.head).encode(tokenizer, rows, labels, recipe, task, generation), labels


def row_extras(task: TaskData) -> tuple[str, ...]:
    """Fields appended after the text fields of every row: the choices, then the language codes,
    then the bytes a text likelihood is divided by."""
    return (
        ((task.choices_field,) if task.choices_field else ())
        + tuple(task.lang_fields or ())
        + ((task.bytes_field,) if getattr(task, "bytes_field", None) else ())
    )
