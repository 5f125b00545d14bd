"""Synthetic results tables with known answers, for tests and for trying the report without a study.

``synthetic_results`` writes the rows a study would produce: for every task/level/seed one dense
reference (regime "dense", sparsity 0) and one run per sparsity and regime, with
score = dense_score * curve(sparsity) (+ optional per-seed noise).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

Curve = Callable[[float], float]


def _run_id(*parts) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:12]


def synthetic_results(
    curves: Mapping[tuple[str, str], Curve],
    *,
    sparsities: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5),
    seeds: Sequence[int] = (41, 42, 43),
    regimes: Sequence[str] = ("sparse",),
    difficulty: str = "human_model_gap",
    dense_score: float | Mapping[tuple[str, str], float] = 0.8,
    difficulty_value: Mapping[tuple[str, str], float] | None = None,
    baseline: float = 0.5,
    noise: float = 0.0,
    model: str = "tiny",
    method: str = "magnitude",
    structure: str = "unstructured",
    metric: str = "accuracy",
    rng_seed: int = 0,
) -> pd.DataFrame:
    """``curves`` maps (task, level) to normalized performance as a function of sparsity."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    common = {"model": model, "difficulty": difficulty, "metric": metric, "status": "done"}
    for (task, level), curve in curves.items():
        dense = dense_score[(task, level)] if isinstance(dense_score, Mapping) else dense_score
        dv = (difficulty_value or {}).get((task, level), np.nan)
        point = {**common, "task": task, "level": level, "difficulty_value": dv}
        point["baseline"] = baseline
        for seed in seeds:
            jitter = 1 + noise * rng.standard_normal() if noise else 1.0
            rows.append(
                point
                | {
                    "run_id": _run_id(task, level, seed, "dense"),
                    "method": "none",
                    "structure": "none",
                    "scope": None,
                    "sparsity": 0.0,
                    "regime": "dense",
                    "seed": seed,
                    "score": dense * jitter,
                }
            )
            for regime in regimes:
                for s in sparsities:
                    eps = 1 + noise * rng.standard_normal() if noise else 1.0
                    rows.append(
                        point
                        | {
                            "run_id": _run_id(task, level, seed, regime, s, method, structure),
                            "method": method,
                            "structure": structure,
                            "scope": "global",
                            "sparsity": float(s),
                            "regime": regime,
                            "seed": seed,
                            "score": dense * jitter * curve(s) * eps,
                        }
                    )
    return pd.DataFrame(rows)


def synthetic_items(
    keep: Mapping[str, Curve],
    *,
    dense_accuracy: Mapping[str, float],
    n_items: int = 200,
    sparsities: Sequence[float] = (0.3, 0.5),
    methods: Sequence[str] = ("magnitude",),
    guess: float = 0.1,
    paired: bool = True,
    shared: float = 0.5,
    difficulty: str = "external_information",
    task: str = "qa",
    model: str = "tiny",
    rng_seed: int = 0,
):
    """An evaluation-only two-level study with item outcomes of known answer: (results table,
    {run id: ItemOutcomes}).

    ``keep[level](sparsity)``: the expected normalized score (pruned / dense accuracy) of that
    level; ``dense_accuracy[level]``: the dense model's expected accuracy. Item i of a level is
    answered correctly by the dense model when a uniform latent u_i < accuracy; the pruned model
    keeps a correct answer with the probability that makes its expected accuracy keep x dense,
    and guesses a wrong one right with ``guess``. ``paired``: both levels score the same items
    (the latents of the two levels are shared with probability ``shared``, as one question is
    easy or hard in both modes); otherwise each level has its own items."""
    from junkdna.tasks.metrics import ItemOutcomes, item_keys

    rng = np.random.default_rng(rng_seed)
    rows, items = [], {}
    common = {"model": model, "difficulty": difficulty, "task": task, "metric": "accuracy",
              "status": "done", "baseline": guess, "regime": "none", "seed": 0}  # fmt: skip
    u_first = rng.random(n_items)
    for index, (level, curve) in enumerate(keep.items()):
        p = dense_accuracy[level]
        u = np.where(rng.random(n_items) < shared, u_first, rng.random(n_items))
        dense = (u < p).astype(np.float32)
        labels = np.arange(n_items) if paired else np.arange(n_items) + (index + 1) * 10**6
        keys = item_keys(labels.tolist())
        point = {**common, "level": level, "difficulty_value": np.nan}
        dense_id = _run_id(task, level, "dense")
        items[dense_id] = ItemOutcomes("accuracy", keys, dense)
        rows.append(point | {"run_id": dense_id, "method": "none", "structure": "none",
                             "scope": None, "sparsity": 0.0, "score": float(dense.mean())})  # fmt: skip
        for method in methods:
            for s in sparsities:
                a = float(np.clip((curve(s) * p - (1 - p) * guess) / p, 0, 1))
                hit = rng.random(n_items)
                pruned = np.where(dense > 0, hit < a, hit < guess).astype(np.float32)
                run_id = _run_id(task, level, method, s)
                items[run_id] = ItemOutcomes("accuracy", keys, pruned)
                rows.append(point | {"run_id": run_id, "method": method,
                                     "structure": "unstructured", "scope": "layer",
                                     "sparsity": float(s), "score": float(pruned.mean())})  # fmt: skip
    return pd.DataFrame(rows), items
