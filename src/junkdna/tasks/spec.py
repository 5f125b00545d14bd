"""A task is data: a declarative spec (source, fields, label, metric, head, difficulty metadata).

Adding a task is adding a ``TaskSpec`` to ``SPECS`` (see glue.py, bigbench_tasks.py). Specs are
validated when registered, so a typo in a field or metric name fails at import, not mid-sweep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from junkdna.errors import JunkDNAError
from junkdna.heads import HEADS
from junkdna.registry import Registry
from junkdna.tasks.forms import check_form
from junkdna.tasks.metrics import METRICS

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class HumanScore:
    """Published human performance, in the metric's units (fractions, like ``compute``)."""

    value: float
    key: str  # which key of the metric's result it compares to (QQP: "accuracy", not "f1")
    citation: str


@dataclass(frozen=True)
class HubSource:
    """A Hugging Face dataset, loaded with ``datasets.load_dataset(path, config)``."""

    path: str
    config: str | None = None
    # our split name -> the hub's split name (GLUE test labels are hidden: no "test" here)
    splits: Mapping[str, str] = field(
        default_factory=lambda: {"train": "train", "validation": "validation"}
    )
    formatter: str | None = None  # name in tasks.glue.FORMATTERS (raw row -> our fields)
    offline = False

    def describe(self) -> str:
        return f"hub:{self.path}" + (f"/{self.config}" if self.config else "")


@dataclass(frozen=True)
class BigBenchSource:
    """One task JSON of the BIG-bench archive, turned into rows by a named builder."""

    member: str  # path under bigbench/benchmark_tasks/
    builder: str  # name in tasks.bigbench_tasks.BUILDERS
    options: tuple[tuple[str, Any], ...] = ()  # builder keyword arguments (hashable)
    reader: str = "examples"  # name in tasks.bigbench_tasks.READERS: task JSON -> source units
    offline = True

    def describe(self) -> str:
        return f"bigbench-1.0.0:{self.member}"


@dataclass(frozen=True)
class PackageSource:
    """A member of a pinned data source (``junkdna.data.sources``): a split saved by
    ``datasets.save_to_disk`` (a folder), a ``.jsonl.gz`` file, or a folder of files ending in
    ``/`` that ``reader`` turns into units ({file name: bytes} -> units), turned into rows by a
    named builder; train / validation / test are drawn from its units by the fixed split seed,
    with ``eval_fraction`` of them each for validation and test. ``evaluation_only``: every unit
    is in validation and train and test are empty (a probe of the pre-trained model fits
    nothing, so nothing needs holding out)."""

    source: str  # name in data.sources.SOURCES
    member: str  # folder or .jsonl.gz inside the source's archive
    builder: str  # name in tasks.bigbench_tasks.BUILDERS
    options: tuple[tuple[str, Any], ...] = ()
    eval_fraction: float = 0.1
    reader: str | None = None  # name in tasks.bigbench_tasks.READERS: rows -> source units
    evaluation_only: bool = False
    offline = True

    def __post_init__(self):
        if self.member.endswith("/") and self.reader is None:
            raise JunkDNAError(f"package source {self.member!r} is a folder: name its reader")

    def describe(self) -> str:
        from junkdna.data.sources import get_source

        return f"{get_source(self.source).spec}:{self.member}"


@dataclass(frozen=True)
class TaskSpec:
    name: str
    description: str
    source: HubSource | BigBenchSource | PackageSource
    head: str
    text_fields: tuple[str, ...]
    metric: str
    label_field: str = "label"
    num_labels: int | None = None
    label_names: tuple[str, ...] | None = None
    human: HumanScore | None = None
    choices_field: str | None = None  # multiple-choice: the field holding the list of choices
    lang_fields: tuple[str, str] | None = None  # seq2seq: fields with source/target language codes
    domain_field: str | None = None  # multi-domain tasks: per-domain metrics
    # text-likelihood: a field with the UTF-8 bytes a row's bits are divided by (parallel text:
    # the same item's bytes in a reference language); None: the row's own bytes
    bytes_field: str | None = None
    version: str = "1"  # bump when the formatting or the split rule of this task changes
    family: str = ""  # e.g. "glue", "multiemo": groups tasks in listings and studies
    notes: str = ""  # mapping from the source format, caveats
    # How a causal LM scores the task zero-shot: a name in tasks.forms.FORMS. None: "choices"
    # for a task with choices; a task with neither (generation, regression) is not scored so.
    zero_shot: str | None = None

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        where = f"task spec {self.name!r}"
        if self.head not in HEADS:
            raise JunkDNAError(f"{where}: head {self.head!r} is not one of {', '.join(HEADS)}")
        METRICS.get(self.metric)  # unknown metric -> did-you-mean error
        if not self.text_fields or len(self.text_fields) > 2:
            raise JunkDNAError(f"{where}: text_fields must name one or two fields")
        if self.label_field in self.text_fields:
            raise JunkDNAError(f"{where}: label field {self.label_field!r} is also a text field")
        head = HEADS.get(self.head)
        if head.labels == "class" and (not self.num_labels or self.num_labels < 2):
            raise JunkDNAError(f"{where}: a {self.head} task needs num_labels >= 2")
        if head.choices == "required" and self.choices_field is None:
            raise JunkDNAError(f"{where}: a {self.head} task needs a choices_field")
        if self.choices_field is not None and head.choices == "never":
            takers = [n for n in HEADS.names() if HEADS.get(n).choices != "never"]
            raise JunkDNAError(
                f"{where}: choices_field is only for heads {', '.join(takers)} "
                "(a causal LM scores each choice by log-likelihood)"
            )
        if self.choices_field is not None and head.choices_metric not in (None, self.metric):
            raise JunkDNAError(
                f"{where}: a {self.head} task with choices is scored by log-likelihood; its "
                f"metric must be {head.choices_metric!r}, not {self.metric!r}"
            )
        if self.bytes_field is not None and self.head != "text-likelihood":
            raise JunkDNAError(f"{where}: bytes_field is only for head text-likelihood")
        if self.label_names is not None and len(self.label_names) != self.num_labels:
            raise JunkDNAError(
                f"{where}: {len(self.label_names)} label_names for num_labels={self.num_labels}"
            )
        if self.zero_shot is not None:
            check_form(self.zero_shot, where, self.text_fields, self.num_labels,
                       self.choices_field)  # fmt: skip
        if self.human is not None and self.human.key not in metric_keys(self.metric):
            raise JunkDNAError(
                f"{where}: human score key {self.human.key!r} is not a key of metric "
                f"{self.metric!r} ({', '.join(metric_keys(self.metric))})"
            )

    @property
    def offline(self) -> bool:
        return self.source.offline

    @property
    def zero_shot_form(self) -> str | None:
        """The zero-shot form this task is scored with, or None if it has none."""
        if self.zero_shot is not None:
            return self.zero_shot
        return "choices" if self.choices_field is not None else None


def metric_keys(metric: str) -> tuple[str, ...]:
    """The keys a metric returns (evaluated on a two-example toy input)."""
    return tuple(METRICS.get(metric)(np.array([0.0, 1.0]), np.array([0.0, 1.0])))


SPECS: Registry[TaskSpec] = Registry("task")


def register(spec: TaskSpec) -> TaskSpec:
    SPECS.add(spec.name, spec)
    return spec


def check_columns(dataset, spec: TaskSpec, split: str) -> None:
    """A dataset split must carry every field the spec names (clear error, not a KeyError later)."""
    needed = (*spec.text_fields, spec.label_field) + (
        (spec.choices_field,) if spec.choices_field else ()
    )
    needed += (*(spec.lang_fields or ()), *((spec.domain_field,) if spec.domain_field else ()))
    needed += (spec.bytes_field,) if spec.bytes_field else ()
    columns = set(dataset.column_names)
    missing = [f for f in needed if f not in columns]
    if missing:
        raise JunkDNAError(
            f"task {spec.name!r}: split {split!r} has no column(s) {', '.join(missing)}; "
            f"it has {', '.join(sorted(columns))}"
        )
