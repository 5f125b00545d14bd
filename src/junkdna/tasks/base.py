"""What the training loop and the evaluators receive: one task's prepared data.

``TaskData`` is the contract between the task registry (which builds it from a spec and a
difficulty setting) and the transfer/evaluation code (which only consumes it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TaskData:
    name: str
    head: str  # a head kind: a name in junkdna.heads.HEADS (e.g. "multiple-choice")
    train: Any  # datasets.Dataset
    validation: Any  # datasets.Dataset (used for the reported metric)
    text_fields: tuple[str, ...]  # one field, or two for sentence pairs
    label_field: str  # class id (int), score (float) or target text
    metric: str  # name in junkdna.tasks.metrics.METRICS; its first key is the primary metric
    num_labels: int | None = None
    label_names: tuple[str, ...] | None = None
    test: Any = None
    info: dict[str, Any] = field(default_factory=dict)  # provenance: source, split rule, sizes
    choices_field: str | None = None  # field with the list of choices (multiple-choice, or a
    # causal LM scoring each choice by log-likelihood)
    lang_fields: tuple[str, str] | None = None  # seq2seq: per-row source/target language codes
    domain_field: str | None = None  # multi-domain tasks: metrics are also reported per domain
    bytes_field: str | None = None  # text-likelihood: per-row bytes the bits are divided by
