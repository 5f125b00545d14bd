"""GPU time a study would take on one A100-class GPU, from a cost table. An ESTIMATE, not a
measurement: ``junkdna plan`` prints it beside the measured-time estimate (which needs finished
runs) so that a study of the paper's models can be sized before anything runs.

One run costs ``load_s`` (load the weights, tokenize, build the optimizer) plus
``train_s`` x training sequences (examples x epochs, or ``max_steps`` x batch) plus ``eval_s`` x
evaluated sequences. A multiple-choice example is one sequence per choice. A generated answer
adds ``decode_s`` x the recipe's ``max_new_tokens`` per evaluated example: every example is
counted at the length limit, which pruned models reach (the authors' Figure 2 logs: every
sentence at the limit from 50% sparsity on), so generation errs high for dense models. One mask
costs ``prune_s[method]``, once per mask however many runs share it (the mask cache).

The numbers and their sources: ``junkdna.study.cost_table``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from junkdna.study.cost_table import MODEL_COSTS, TABLE, TASK_SIZES, ModelCost, TaskSize
from junkdna.study.plan import Plan
from junkdna.study.spec import RunSpec
from junkdna.tasks.splits import prefix_size
from junkdna.transfer.regimes import REGIMES

__all__ = ["MODEL_COSTS", "TASK_SIZES", "ModelCost", "TaskSize", "GpuEstimate", "estimate_gpu"]

# Difficulty settings whose effect on the data this module knows; any other -> unestimated.
_DATA_UNCHANGED = ("human_model_gap", "dense_headroom")


@dataclass
class GpuEstimate:
    seconds: float = 0.0
    runs: int = 0  # runs estimated
    masks: int = 0  # masks estimated
    unestimated: list[str] = field(default_factory=list)  # why, one line per run or mask

    @property
    def hours(self) -> float:
        return self.seconds / 3600

    def describe(self) -> str:
        extra = f"; {len(self.unestimated)} runs/masks without an entry" if self.unestimated else ""
        if not self.runs:
            return f"estimated GPU time: unknown (cost table {TABLE}: no run has an entry{extra})"
        return (
            f"estimated GPU time: {self.hours:.1f} GPU-hours (cost table {TABLE}: {self.runs} "
            f"runs and {self.masks} masks on one A100-class GPU, an estimate from throughput "
            f"and FLOP figures, not a measurement{extra})"
        )


def wants_gpu(run: RunSpec, models: Mapping[str, ModelCost] = MODEL_COSTS) -> bool:
    """A run the GPU estimate covers: it asks for a GPU, or its model is in the table."""
    return (run.resources or {}).get("num_gpus", 0) > 0 or run.model in models


def estimate_gpu(
    plan: Plan,
    models: Mapping[str, ModelCost] = MODEL_COSTS,
    tasks: Mapping[str, TaskSize] = TASK_SIZES,
) -> GpuEstimate | None:
    """The GPU seconds of every planned run that ``wants_gpu``, and of their masks (each mask
    once). None when no run does (a CPU study of the offline models)."""
    runs = [r for r in plan.runs if wants_gpu(r, models)]
    if not runs:
        return None
    est = GpuEstimate()
    masks: dict[str, RunSpec] = {}
    for run in runs:
        seconds, why = run_seconds(run, models, tasks)
        if seconds is None:
            est.unestimated.append(f"{run.describe()}: {why}")
        else:
            est.seconds += seconds
            est.runs += 1
        if run.mask_key is not None:
            masks.setdefault(run.mask_key, run)
    for run in masks.values():
        seconds = mask_seconds(run, models)
        if seconds is None:
            est.unestimated.append(f"mask {run.pruning.describe()} of {run.model}: no entry")
        else:
            est.seconds += seconds
            est.masks += 1
    return est


def mask_seconds(run: RunSpec, models: Mapping[str, ModelCost] = MODEL_COSTS) -> float | None:
    cost = models.get(run.model)
    if cost is None or run.pruning is None:
        return None
    return cost.prune_s.get(run.pruning.method)


def run_seconds(
    run: RunSpec,
    models: Mapping[str, ModelCost] = MODEL_COSTS,
    tasks: Mapping[str, TaskSize] = TASK_SIZES,
) -> tuple[float | None, str]:
    """(seconds, "") for one run, or (None, why not)."""
    cost = models.get(run.model)
    if cost is None:
        return None, f"model {run.model!r} is not in the cost table"
    if run.task.get("file") is not None or run.task_name not in tasks:
        return None, f"task {run.task_name!r} has no size in the cost table"
    size = tasks[run.task_name]
    rows = sizes(run, size)
    if rows is None:
        return None, f"difficulty {run.difficulty['setting']!r} has no cost rule"
    train_rows, eval_rows = rows
    seqs = sequences_per_example(run.task_name)
    recipe = run.recipe
    finetunes = REGIMES.get(run.regime).finetunes
    trained = 0
    evals = 1
    if finetunes:
        if recipe.max_steps is not None:
            trained = recipe.max_steps * recipe.batch_size * recipe.grad_accum
        else:
            trained = recipe.epochs * train_rows
        evals = recipe.epochs if recipe.eval_each_epoch else 1
    per_eval = seqs * cost.eval_s
    if cost.decode_s is not None and generates(run.task_name):
        per_eval += cost.decode_s * recipe.max_new_tokens
    seconds = cost.load_s + trained * seqs * cost.train_s + evals * eval_rows * per_eval
    return seconds, ""


def sizes(run: RunSpec, size: TaskSize) -> tuple[int, int] | None:
    """(training rows, evaluated rows) after the task's budget and the difficulty level."""
    train, evaluated = size.train, size.validation
    if run.task.get("train_examples"):
        train = min(train, int(run.task["train_examples"]))
    if run.task.get("max_validation"):
        evaluated = min(evaluated, int(run.task["max_validation"]))
    diff: dict[str, Any] | None = run.difficulty
    if diff is None or diff["setting"] in _DATA_UNCHANGED:
        return train, evaluated
    params = diff["params"]
    if diff["setting"] == "data_adequacy":
        return prefix_size(params.get("fraction"), params.get("examples"), train), evaluated
    if diff["setting"] == "majority_minority":
        return None if size.domains is None else group_sizes(run, size, train, evaluated)
    if diff["setting"] == "external_information":
        questions = params.get("questions")
        return train, evaluated if questions is None else min(evaluated, int(questions))
    return None


def group_sizes(run: RunSpec, size: TaskSize, train: int, evaluated: int) -> tuple[int, int]:
    """(training rows, evaluated rows) of a language-group level: the rows of its group's
    domains, at most ``<group>_examples`` training and ``eval_examples`` scored rows each
    (zero-shot: no training rows), after the task's own budgets (``train`` and ``evaluated``,
    shared in proportion to the domains' rows)."""
    from junkdna.difficulty import from_params

    level = from_params("majority_minority", run.difficulty["params"])
    domains = size.domains or {}
    mine = level.domains(domains, level.group)
    cap = getattr(level, f"{level.group}_examples")
    train_share, eval_share = train / size.train, evaluated / size.validation
    rows = shown = 0
    for d in mine:
        d_train, d_eval = domains[d]
        if level.mode != "zero-shot":
            rows += min(round(d_train * train_share), cap or d_train)
        shown += min(round(d_eval * eval_share), level.eval_examples or d_eval)
    return rows, shown


def generates(task: str) -> bool:
    """Whether the task's answers are generated text (decoded token by token)."""
    from junkdna.heads import get_head
    from junkdna.tasks.registry import get_spec

    spec = get_spec(task)
    return get_head(spec.head).labels == "text" and spec.choices_field is None


def sequences_per_example(task: str) -> int:
    """A multiple-choice example is encoded once per choice."""
    from junkdna.tasks.registry import get_spec

    spec = get_spec(task)
    if spec.choices_field is not None and spec.num_labels:
        return int(spec.num_labels)
    return 1
