"""The paper's section 5 as tests, with the seed as the unit (exploratory: they are not the
difficulty question the primary tests answer).

For each task, level and pruning configuration run under several regimes, a seed's curve under a
regime is one number: its mean normalized score over the sparsities it ran under both compared
regimes, among those most seeds ran (``analysis.pairing``: an unbalanced grid keeps its seeds and
names what it leaves out).

* ``frozen`` vs ``sparse-to-dense`` and ``sparse-to-dense`` vs ``sparse`` (the paper: Dense with
  Freezing beats Sparse-to-Dense, which beats Sparse on hard tasks): d per shared seed, exact
  sign-flip over seeds and a Student-t interval (``units.paired_units``).
* Irreversibility: the recovery ratio (sparse-to-dense - sparse) / (dense - sparse) (dense is 1
  once normalized) as a ratio of means over seeds, mean(recovered) / mean(lost), with Fieller's
  interval: 0 means fine-tuning recovers nothing of what pruning removed, 1 everything. Every
  seed counts, one that lost nothing too (dropping it would select seeds by their outcome); a
  mean of per-seed ratios would let one seed with a tiny loss dominate.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from junkdna.analysis.pairing import Pairing, cells, left_out_words, pair_seeds
from junkdna.analysis.stats import fieller
from junkdna.analysis.units import paired_units
from junkdna.transfer.regimes import RECOVERY, SECTION5_COMPARISONS

GROUP = ("model", "difficulty", "task", "level", "method", "structure", "scope")


def _design(group: pd.DataFrame, a: str, b: str) -> Pairing:
    """Seeds and sparsities of regime ``a`` vs ``b`` (``pairing.pair_seeds``)."""

    def side(regime: str) -> dict:
        runs = group[group["regime"].to_numpy() == regime]
        return cells([runs["sparsity"].tolist(), runs["seed"].tolist()], runs["normalized"])

    return pair_seeds(side(a), side(b), ["sparsity"], names=(f"regime {a}", f"regime {b}"))


def regime_tests(normalized: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per (group, comparison): estimate, interval, p, what was left out and a sentence."""
    rows = []
    keys = [k for k in GROUP if k in normalized.columns]
    for key, group in normalized.groupby(keys, sort=True, dropna=False):
        where = dict(zip(keys, key, strict=True))
        present = set(group["regime"])
        for a, b in SECTION5_COMPARISONS:
            if not {a, b} <= present:
                continue
            design = _design(group, a, b)
            if not design.paired or design.d.empty:
                continue
            res = paired_units(design.d.to_numpy())
            rows.append(_row(where, f"{a} - {b} (normalized score)", design, res.estimate,
                             res.ci_low, res.ci_high, res.p_value, res.min_p, alpha))  # fmt: skip
        up, down = RECOVERY
        if {up, down} <= present:
            design = _design(group, up, down)
            if design.paired and not design.d.empty:
                recovered = design.d.to_numpy()  # sparse-to-dense - sparse, per seed
                lost = 1.0 - design.b.to_numpy()  # dense - sparse, per seed
                ratio, lo, hi, why = fieller(recovered, lost)
                name = f"recovery ({up} - {down}) / (dense - {down})"
                rows.append(_row(where, name, design, ratio, lo, hi, math.nan, math.nan, alpha,
                                 why, ratio_of_means=True))  # fmt: skip
    return pd.DataFrame(rows)


def _row(where, comparison, design, estimate, lo, hi, p, min_p, alpha, why="",
         ratio_of_means=False) -> dict:  # fmt: skip
    n = len(design.d)
    interval = "" if np.isnan(lo) else f", 95% CI [{lo:+.3f}, {hi:+.3f}]"
    test = "" if np.isnan(p) else f", sign-flip over seeds p = {p:.3g}"
    if not np.isnan(p) and min_p >= alpha:
        test += f" (cannot reach p < {alpha:g} with {n} seed(s))"
    context = ", ".join(str(where[k]) for k in ("model", "task", "level", "method", "structure")
                        if k in where)  # fmt: skip
    notes = []
    if ratio_of_means:
        notes.append("a ratio of means over seeds with Fieller's interval")
    if why:
        notes.append(f"no interval: {why}")
    elif np.isnan(lo) and n > 1:
        notes.append("no interval: every seed gave the same difference")
    left_out = [*design.left_out, *design.partial]
    if left_out:
        notes.append(left_out_words(left_out, len(design.configs)))
    tail = f"; {'; '.join(notes)}" if notes else ""
    if math.isnan(estimate):
        sentence = f"Exploratory ({context}): {comparison} undefined over {n} seed(s){tail}."
    else:
        sentence = (f"Exploratory ({context}): {comparison} = {estimate:+.3f}{interval} over "
                    f"{n} seed(s){test}{tail}.")  # fmt: skip
    return {**where, "comparison": comparison, "unit": "seed", "n_units": n,
            "estimate": estimate, "ci_low": lo, "ci_high": hi, "p_value": p, "min_p": min_p,
            "left_out": left_out, "verdict": sentence}  # fmt: skip
