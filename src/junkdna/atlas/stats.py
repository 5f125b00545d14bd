"""The atlas's claims, with the task as the unit.

* ``rank_test``: do harder tasks put more of their important weights among the small-magnitude
  ones? Spearman's rho between the tasks' difficulty and their ``share_in_junk`` (declared as the
  primary signal before any data; ``importance_in_junk`` is exploratory), with the exact
  two-sided permutation p of ``analysis.stats.spearman_permutation`` (valid for any n: under the
  null the tasks' values are exchangeable). The 95% interval for rho is Fisher's z with Bonett and
  Wright's (2000) standard error sqrt((1 + rho^2 / 2) / (n - 3)); simulated bivariate-normal data
  show it under-covers below 8 units (0.86 at n = 5 and rho = 0.8), so under ``MIN_CI_TASKS``
  tasks no interval is printed (tests/test_atlas.py holds the coverage from 8 on).
* ``predict_loto``: predict each task's achievable sparsity from one atlas signal by a straight
  line fitted on the other tasks (leave-one-task-out), against the trivial prediction (the other
  tasks' mean). Descriptive: mean absolute errors over the held-out tasks, no p-value (the
  held-out errors share training tasks, so they are not independent units).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from junkdna.analysis.stats import spearman_permutation

PRIMARY_SIGNAL = "share_in_junk"
SIGNALS = ("share_in_junk", "importance_in_junk", "jaccard_magnitude", "headroom")
MIN_CI_TASKS = 8


def rho_interval(rho: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Fisher-z interval with Bonett-Wright's standard error; NaN under ``MIN_CI_TASKS``."""
    if n < MIN_CI_TASKS or not math.isfinite(rho):
        return math.nan, math.nan
    r = min(max(rho, -0.9999), 0.9999)
    se = math.sqrt((1 + r * r / 2) / (n - 3))
    z, q = math.atanh(r), norm.ppf(0.5 + confidence / 2)
    return math.tanh(z - q * se), math.tanh(z + q * se)


def rank_test(
    overall: pd.DataFrame,
    signal: str = PRIMARY_SIGNAL,
    *,
    alpha: float = 0.05,
    primary: bool = True,
) -> dict[str, Any]:
    """One test over the tasks of ``overall`` (columns ``task``, ``difficulty``, ``signal``)."""
    usable = overall[np.isfinite(overall["difficulty"].astype(float))]
    usable = usable[np.isfinite(usable[signal].astype(float))]
    corr = spearman_permutation(usable["difficulty"].astype(float), usable[signal].astype(float))
    lo, hi = rho_interval(corr.rho, corr.n)
    out = {
        "hypothesis": "harder tasks put more of their important weights among the smallest "
        "magnitudes (rho > 0)",
        "signal": signal,
        "primary": primary,
        "unit": "task",
        "n": corr.n,
        "n_without_difficulty": int(len(overall) - len(usable)),
        "rho": corr.rho,
        "ci_low": lo,
        "ci_high": hi,
        "p_value": corr.p_value,
        "min_p": corr.min_p,
        "method": f"Spearman, permutation over tasks ({corr.test})",
        "alpha": alpha,
    }
    out["verdict"] = _verdict(out)
    return out


def _verdict(t: dict[str, Any]) -> str:
    head = "Primary test" if t["primary"] else "Exploratory"
    n, rho, p = t["n"], t["rho"], t["p_value"]
    if n < 3 or not math.isfinite(rho):
        why = (
            "fewer than 3 tasks have a difficulty"
            if n < 3
            else "a signal or difficulty is constant"
        )
        return f"{head}. Not testable: {why}."
    ci = (
        f", 95% CI [{t['ci_low']:+.2f}, {t['ci_high']:+.2f}]"
        if math.isfinite(t["ci_low"])
        else f" (no interval under {MIN_CI_TASKS} tasks)"
    )
    fact = f"rho = {rho:+.2f}{ci} over {n} tasks, p = {p:.3g}"
    if math.isfinite(t["min_p"]) and t["min_p"] > t["alpha"]:
        return (
            f"{head}. Cannot answer: {fact}; with {n} tasks the smallest reachable p is "
            f"{t['min_p']:.3g} > {t['alpha']:g}."
        )
    if p < t["alpha"]:
        word = "Supported" if rho > 0 else "Contradicted"
        return f"{head}. {word}: {fact}."
    return f"{head}. Not supported: {fact} (no evidence of a monotone relation at this n)."


def predict_loto(frame: pd.DataFrame, target: str = "achievable",
                 signals=SIGNALS) -> pd.DataFrame:  # fmt: skip
    """Per signal: leave-one-task-out predictions of ``target`` by a line fitted on the other
    tasks; columns signal, n, mae, mae_mean (the other tasks' mean as the prediction), skill
    (1 - mae / mae_mean: above 0 beats the mean), and per-task predictions in ``predictions``."""
    rows = []
    for signal in signals:
        if signal not in frame.columns:
            continue
        d = frame[
            np.isfinite(frame[signal].astype(float)) & np.isfinite(frame[target].astype(float))
        ]
        x, y = d[signal].to_numpy(float), d[target].to_numpy(float)
        n = len(y)
        if n < 3:
            rows.append({"signal": signal, "n": n, "mae": math.nan, "mae_mean": math.nan,
                         "skill": math.nan, "predictions": {}})  # fmt: skip
            continue
        pred, base = np.empty(n), np.empty(n)
        for i in range(n):
            rest = np.arange(n) != i
            base[i] = y[rest].mean()
            if np.ptp(x[rest]) == 0:
                pred[i] = base[i]
            else:
                slope, icpt = np.polyfit(x[rest], y[rest], 1)
                pred[i] = min(max(slope * x[i] + icpt, 0.0), 1.0)  # a sparsity lies in [0, 1]
        mae, mae_mean = float(np.abs(pred - y).mean()), float(np.abs(base - y).mean())
        rows.append(
            {
                "signal": signal,
                "n": n,
                "mae": mae,
                "mae_mean": mae_mean,
                "skill": 1 - mae / mae_mean if mae_mean > 0 else math.nan,
                "predictions": {t: float(p) for t, p in zip(d["task"], pred, strict=True)},
            }
        )
    return pd.DataFrame(rows)
