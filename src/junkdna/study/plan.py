"""Expand a study into runs (``RunSpec``s with stable ids), and group them by the mask they share.

A run's id is the hash of its canonical resolved config (``RunSpec.config``): everything that
changes what is computed (model, task, difficulty setting, pruning, regime, seed, full recipe) and
nothing that only labels it (experiment name, level label, human score). The same run listed by
two experiments is one run. A mask key is the hash of (model, method, structure, sparsity, scope,
calibration, include, exclude): tasks, regimes and seeds reuse one mask.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any

from junkdna.recipe import Recipe
from junkdna.study.checks import level_label, pruning_points, recipe_for, task_human_score
from junkdna.study.config import Resources, Study
from junkdna.study.spec import RunLabels, RunSpec
from junkdna.transfer.regimes import REGIMES

# Task keys that only label results; they do not change what a run computes.
_TASK_LABELS = ("human_score", "difficulty_value")


@dataclass
class Plan:
    study: Study
    runs: list[RunSpec]

    def by_id(self) -> dict[str, RunSpec]:
        return {r.run_id: r for r in self.runs}

    def mask_usage(self) -> Counter:
        return Counter(r.mask_key for r in self.runs if r.mask_key is not None)

    def summary(self) -> dict[str, Any]:
        usage = self.mask_usage()
        return {
            "runs": len(self.runs),
            "masked_runs": sum(usage.values()),
            "masks": len(usage),
            "shared_masks": sum(1 for n in usage.values() if n > 1),
            "by_regime": dict(Counter(r.regime for r in self.runs)),
            "by_experiment": dict(Counter(r.labels.experiment for r in self.runs)),
        }


def plan_study(study: Study) -> Plan:
    runs: dict[str, RunSpec] = {}
    for i, exp in enumerate(study.spec.experiment):
        for run in _expand(study, exp, f"experiment[{i}] ({exp.name})"):
            first = runs.get(run.run_id)
            if first is None:
                runs[run.run_id] = run
            elif run.labels.save_weights and not first.labels.save_weights:
                # Listed twice: one run; keep its weights if either listing asks for them.
                labels = dataclasses.replace(first.labels, save_weights=True)
                runs[run.run_id] = dataclasses.replace(first, labels=labels)
    return Plan(study, list(runs.values()))


def _expand(study: Study, exp, where: str) -> list[RunSpec]:
    recipe = recipe_for(study, exp)
    resources = Resources(**{**study.spec.resources.model_dump(), **exp.resources}).model_dump()
    points = [
        p
        for j, b in enumerate(exp.pruning)
        for p in pruning_points(b, f"{where}.pruning[{j}]", study.root)
    ]
    regimes = [REGIMES.get(r) for r in exp.regimes]
    # Reference regimes (dense, none) run unpruned; regimes that take masks run per point.
    grid = [(r.name, None) for r in regimes if r.is_reference()]
    grid += [(r.name, p) for r in regimes if r.takes_masks() for p in points]
    seeds = exp.seeds if exp.seeds is not None else study.spec.study.seeds
    out = []
    for model in exp.models:
        for task in exp.tasks:
            task_cfg = task.model_dump(exclude_none=True, exclude=set(_TASK_LABELS))
            for level in exp.difficulty or [None]:
                difficulty = None
                if level is not None:
                    difficulty = {"setting": level.setting, "params": level.params()}
                labels = RunLabels(
                    experiment=exp.name,
                    level="none" if level is None else level_label(level),
                    difficulty_value=_given_value(task, level),
                    human_score=task_human_score(task),
                    save_weights=exp.save_weights,
                )
                for seed in seeds:
                    for regime, point in grid:
                        spec = RunSpec(
                            model=model,
                            task=task_cfg,
                            regime=regime,
                            recipe=Recipe(**recipe, seed=seed),
                            difficulty=difficulty,
                            pruning=point,
                            labels=labels,
                            resources=resources,
                            root=study.root,
                        )
                        out.append(spec)
    return out


def measured_notes(plan: Plan) -> list[str]:
    """One line per (task, model) of the plan that junkdna.tasks.baselines measured as NOT
    learning: a study built on it may show nothing, whatever its sparse runs say."""
    from junkdna.tasks.baselines import measured

    out, seen = [], set()
    for run in plan.runs:
        key = (run.task_name, run.model)
        if key in seen:
            continue
        seen.add(key)
        m = measured(*key)
        if m is not None and not m.learns:
            out.append(
                f"note: measured before: {m.describe()}. Check this study's dense scores "
                "against the baseline before reading its sparse ones."
            )
    return out


def _given_value(task, level) -> float | None:
    if level is not None and level.value is not None:
        return level.value
    return task.difficulty_value
