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
