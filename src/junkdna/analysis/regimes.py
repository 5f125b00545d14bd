"""The paper's section 5 as tests, with the seed as the unit (exploratory: they are not the
difficulty question the primary tests answer).

For each task, level and pruning configuration run under several regimes, a seed's curve under a
regime is one number: its mean normalized score over the sparsities every compared regime ran.

* ``frozen`` vs ``sparse-to-dense`` and ``sparse-to-dense`` vs ``sparse`` (the paper: Dense with
  Freezing beats Sparse-to-Dense, which beats Sparse on hard tasks): d per shared seed, exact
  sign-flip over seeds and a Student-t interval (``stats.paired_units``).
* Irreversibility: the recovery ratio (sparse-to-dense - sparse) / (dense - sparse) per seed
  (dense is 1 once normalized), with a Student-t interval over seeds: 0 means fine-tuning
  recovers nothing of what pruning removed, 1 everything.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from junkdna.analysis.stats import paired_units, t_interval
from junkdna.transfer.regimes import RECOVERY, SECTION5_COMPARISONS

GROUP = ("model", "difficulty", "task", "level", "method", "structure", "scope")


def _per_seed(group: pd.DataFrame, regimes: tuple[str, ...]) -> pd.DataFrame:
    """seed x regime: mean normalized score over the sparsities all ``regimes`` share."""
    runs = group[group["regime"].isin(regimes)]
    shared = None
    for r in regimes:
        s = set(runs.loc[runs["regime"] == r, "sparsity"])
        shared = s if shared is None else shared & s
    runs = runs[runs["sparsity"].isin(shared or set())]
    # A seed counts only with every shared sparsity under every regime: a missing run would
    # otherwise shift that seed's mean.
    counts = runs.groupby(["seed", "regime"])["sparsity"].nunique().unstack()
    complete = counts.index[(counts.reindex(columns=list(regimes)) == len(shared or ())).all(1)]
    runs = runs[runs["seed"].isin(complete)]
    table = runs.pivot_table(index="seed", columns="regime", values="normalized", aggfunc="mean")
    return table.dropna()


def regime_tests(normalized: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per (group, comparison): estimate, interval, p and a sentence."""
    rows = []
    keys = [k for k in GROUP if k in normalized.columns]
    for key, group in normalized.groupby(keys, sort=True, dropna=False):
        where = dict(zip(keys, key, strict=True))
        present = set(group["regime"])
        for a, b in SECTION5_COMPARISONS:
            if not {a, b} <= present:
                continue
            seeds = _per_seed(group, (a, b))
            if seeds.empty:
                continue
            res = paired_units((seeds[a] - seeds[b]).to_numpy(), alpha=alpha)
            rows.append(_row(where, f"{a} - {b} (normalized score)", res.n_units,
                             res.estimate, res.ci_low, res.ci_high, res.p_value, res.min_p,
                             alpha))  # fmt: skip
        up, down = RECOVERY
        if {up, down} <= present:
            seeds = _per_seed(group, RECOVERY)
            lost = 1.0 - seeds[down]
            ratio = ((seeds[up] - seeds[down]) / lost).where(lost > 0).dropna()
            if len(ratio):
                mean, lo, hi = t_interval(ratio.to_numpy())
                name = f"recovery ({up} - {down}) / (dense - {down})"
                dropped = len(seeds) - len(ratio)
                if dropped:  # pruning cost those seeds nothing: there is nothing to recover
                    name += f" ({dropped} seed(s) without a loss left out)"
                rows.append(_row(where, name, len(ratio), mean, lo, hi, math.nan, math.nan,
                                 alpha))  # fmt: skip
    return pd.DataFrame(rows)


def _row(where, comparison, n, estimate, lo, hi, p, min_p, alpha) -> dict:
    interval = "" if np.isnan(lo) else f", 95% CI [{lo:+.3f}, {hi:+.3f}]"
    test = "" if np.isnan(p) else f", sign-flip over seeds p = {p:.3g}"
    if not np.isnan(p) and min_p >= alpha:
        test += f" (cannot reach p < {alpha:g} with {n} seed(s))"
    context = ", ".join(str(where[k]) for k in ("model", "task", "level", "method", "structure")
                        if k in where)  # fmt: skip
    sentence = (
        f"Exploratory ({context}): {comparison} = {estimate:+.3f}{interval} over {n} seed(s){test}."
    )
    return {**where, "comparison": comparison, "unit": "seed", "n_units": n,
            "estimate": estimate, "ci_low": lo, "ci_high": hi, "p_value": p, "min_p": min_p,
            "verdict": sentence}  # fmt: skip
