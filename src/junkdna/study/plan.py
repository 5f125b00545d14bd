"""Expand a study into runs with stable ids, and group them by the mask they share.

A run's id is a hash of its canonical resolved config: everything that changes what is computed
(model, task, difficulty setting, pruning, regime, seed, full recipe) and nothing that only labels
it (experiment name, level label, human score). The same run listed by two experiments is one run.
A mask key is the hash of (model, criterion, structure, sparsity, scope, calibration, include,
exclude): tasks, regimes and seeds reuse one mask.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from junkdna.study.checks import (
    NO_FINETUNE,
    level_label,
    pruning_points,
    recipe_for,
    task_human_score,
)
from junkdna.study.config import Resources, Study

RUN_FORMAT = 2  # bump when the meaning of a resolved config changes (new ids for every run)
# 2: fused AdamW on CPU/CUDA and recipe.group_by_length (2026-11-30): same recipes, other numbers
# Task keys that only label results; they do not change what a run computes.
_TASK_LABELS = ("human_score", "difficulty_value")


def digest(obj: Any, n: int = 16) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:n]


@dataclass
class PlannedRun:
    run_id: str
    config: dict[str, Any]  # canonical resolved config (what the id hashes)
    meta: dict[str, Any]  # labels: experiment, level, difficulty value, human score, save_weights
    mask_key: str | None
    resources: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        c, p = self.config, self.config["pruning"]
        prune = "unpruned" if p is None else f"{p['criterion']} {p['structure']} {p['sparsity']:g}"
        return (
            f"{c['model']} {c['task']['name']} [{self.meta['level']}] {c['regime']} {prune} "
            f"seed {c['seed']}"
        )


@dataclass
class Plan:
    study: Study
    runs: list[PlannedRun]

    def by_id(self) -> dict[str, PlannedRun]:
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
            "by_regime": dict(Counter(r.config["regime"] for r in self.runs)),
            "by_experiment": dict(Counter(r.meta["experiment"] for r in self.runs)),
        }


def plan_study(study: Study) -> Plan:
    runs: dict[str, PlannedRun] = {}
    for i, exp in enumerate(study.spec.experiment):
        for run in _expand(study, exp, f"experiment[{i}] ({exp.name})"):
            if run.run_id in runs:
                # Listed twice: one run; keep its weights if either listing asks for them.
                first = runs[run.run_id]
                first.meta["save_weights"] |= run.meta["save_weights"]
            else:
                runs[run.run_id] = run
    return Plan(study, list(runs.values()))


def _expand(study: Study, exp, where: str) -> list[PlannedRun]:
    from junkdna.transfer import Recipe

    recipe = recipe_for(study, exp)
    resources = Resources(**{**study.spec.resources.model_dump(), **exp.resources}).model_dump()
    points = [
        p for j, b in enumerate(exp.pruning) for p in pruning_points(b, f"{where}.pruning[{j}]")
    ]
    refs = [r for r in exp.regimes if r in ("dense", NO_FINETUNE)]
    pruned_regimes = [r for r in exp.regimes if r != "dense"]
    seeds = exp.seeds if exp.seeds is not None else study.spec.study.seeds
    levels = exp.difficulty or [None]
    out = []
    for model in exp.models:
        for task in exp.tasks:
            task_cfg = task.model_dump(exclude_none=True, exclude=set(_TASK_LABELS))
            for level in levels:
                difficulty = None if level is None else {"setting": level.setting}
                if level is not None:
                    difficulty["params"] = level.params()
                meta = {
                    "experiment": exp.name,
                    "level": "none" if level is None else level_label(level),
                    "difficulty_value": _given_value(task, level),
                    "human_score": task_human_score(task),
                    "save_weights": exp.save_weights,
                }
                for seed in seeds:
                    base = {
                        "format": RUN_FORMAT,
                        "model": model,
                        "task": task_cfg,
                        "difficulty": difficulty,
                        "seed": seed,
                        "recipe": Recipe(**recipe, seed=seed).to_dict(),
                    }
                    grid = [(r, None) for r in refs]
                    grid += [(r, p) for r in pruned_regimes for p in points]
                    for regime, point in grid:
                        config = {**base, "regime": regime, "pruning": point}
                        mask_key = None if point is None else digest({"model": model, **point})
                        out.append(
                            PlannedRun(digest(config), config, dict(meta), mask_key, resources)
                        )
    return out


def measured_notes(plan: Plan) -> list[str]:
    """One line per (task, model) of the plan that junkdna.tasks.baselines measured as NOT
    learning: a study built on it may show nothing, whatever its sparse runs say."""
    from junkdna.tasks.baselines import measured

    out, seen = [], set()
    for run in plan.runs:
        key = (run.config["task"]["name"], run.config["model"])
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
