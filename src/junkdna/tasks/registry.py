"""Look up task specs and turn one (plus a difficulty setting) into ``TaskData``."""

from __future__ import annotations

from junkdna.errors import JunkDNAError, Unavailable
from junkdna.heads import HEADS
from junkdna.tasks import (  # noqa: F401  (registers the specs)
    bigbench_tasks,
    glue,
    hub_mc,
    olmo_eval,
    qa,
    translation,
    udhr,
)
from junkdna.tasks.base import TaskData
from junkdna.tasks.spec import SPECS, HubSource, TaskSpec, check_columns


def get_spec(name: str) -> TaskSpec:
    return SPECS.get(name)


def list_specs() -> list[TaskSpec]:
    return [spec for _, spec in SPECS.items()]


def load_task(name: str, difficulty=None, seed: int = 0, archive=None) -> TaskData:
    """Load a task's splits and apply a difficulty setting (e.g. ``DataAdequacy(0.1)``).

    `seed` drives the difficulty's sampling (not the offline split, which is fixed per task).
    `archive` overrides where the BIG-bench archive is (tests pass a small local copy).
    """
    spec = get_spec(name)
    if hasattr(spec.source, "load"):  # a source that builds its own splits (multi-domain mixes)
        splits, info = spec.source.load(load_task, archive)
    elif spec.offline:
        from junkdna.tasks.prepare import load_prepared

        loaded = load_prepared(spec, archive)
        splits, info = loaded["splits"], dict(loaded["meta"])
    else:
        splits, info = _load_hub(spec), {"source": spec.source.describe()}
    for split, ds in splits.items():
        check_columns(ds, spec, split)
    info.update(version=spec.version, metric=spec.metric)
    if spec.human is not None:
        info["human"] = {
            "value": spec.human.value,
            "key": spec.human.key,
            "citation": spec.human.citation,
        }
    task = TaskData(
        name=spec.name,
        head=spec.head,
        train=splits["train"],
        validation=splits["validation"],
        text_fields=spec.text_fields,
        label_field=spec.label_field,
        metric=spec.metric,
        num_labels=spec.num_labels,
        label_names=spec.label_names,
        test=splits.get("test"),
        info=info,
        choices_field=spec.choices_field,
        lang_fields=spec.lang_fields,
        domain_field=spec.domain_field,
        bytes_field=spec.bytes_field,
    )
    if difficulty is not None:
        task = difficulty.apply(task, seed)
    return task


def for_model(task: TaskData, model: str) -> TaskData:
    """The task as ``model`` runs it: a multiple-choice task on a causal LM without a
    multiple-choice class becomes a causal-LM task whose choices are scored by log-likelihood
    (``models.head_for``); the rows, choices, labels and metric stay the same."""
    import dataclasses

    from junkdna.models import head_for

    head = head_for(model, task.head)
    if head == task.head:
        return task
    # Log-likelihood scoring gives two picks per question (summed, per-token mean): the metric
    # that reads both keeps the task's accuracy as its first key.
    metric = "choice_accuracy" if task.metric == "accuracy" else task.metric
    return dataclasses.replace(task, head=head, metric=metric)


def _load_hub(spec: TaskSpec) -> dict:
    import datasets

    source: HubSource = spec.source
    try:
        raw = datasets.load_dataset(source.path, source.config)
    except Exception as e:  # offline, unknown id, ...: say what to do instead
        raise Unavailable(
            f"task {spec.name!r}: could not load {source.describe()} from the hub ({e}). "
            "Without the hub, use an offline task (see `junkdna tasks`)."
        ) from e
    out = {}
    for ours, theirs in source.splits.items():
        if theirs not in raw:
            raise JunkDNAError(
                f"task {spec.name!r}: {source.describe()} has no split {theirs!r}; "
                f"it has {', '.join(raw)}"
            )
        out[ours] = _format(raw[theirs], source.formatter, spec)
    return out


def _format(ds, formatter: str | None, spec: TaskSpec):
    if formatter is None:
        return ds
    fn = glue.FORMATTERS.get(formatter)
    ds = ds.map(fn, remove_columns=ds.column_names)
    # Unlabelled rows (e.g. hidden test answers) have label -1: drop them.
    if HEADS.get(spec.head).labels in ("class", "choice"):
        ds = ds.filter(lambda r: r[spec.label_field] >= 0)
    return ds
