"""Achievable sparsity and the area under the normalized curve, with seed-bootstrap intervals.

Definition (rule ``"prefix"``, the default): with tested sparsities s_1 < ... < s_k and the mean
normalized performance p(s) over seeds, the achievable sparsity is the largest tested s_j such that
p(s_i) >= 1 - epsilon for *every* tested s_i <= s_j; it is 0 when already s_1 falls below (the
dense model, sparsity 0, meets the threshold by definition). A curve that recovers after a dip does
not count: a sparsity is achievable only if you could walk up to it without crossing the line.
Rule ``"last"`` (largest tested s with p(s) >= 1 - epsilon, dips allowed) is kept for comparison.

When no tested sparsity falls below the threshold, the value is the largest tested sparsity and a
*lower bound* (``never_drops``): the grid did not reach the breaking point.

Intervals, over seeds (the independent unit: a seed keeps all its sparsities together, since
they share a dense reference):

* AUC: the area is linear in the curve, so it is the mean of the seeds' own areas, with a
  Student-t interval over seeds (none under 2 seeds; a seed missing a point of the grid leaves
  the interval undefined).
* Achievable sparsity: a step function of the mean curve on a discrete grid, so no t-interval;
  from ``MIN_BOOT_SEEDS`` seeds on, the seeds are resampled with replacement and the interval is
  the percentiles of the replicates' achievable sparsities. Under that a percentile bootstrap
  over 2-4 values does not cover, so the interval is left undefined (NaN) and ``few_seeds`` says
  so.

A 1e-9 slack on the threshold absorbs float rounding (0.99 / 1.0 vs 1 - 0.01).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from junkdna.analysis.normalize import curve_keys, group_rng
from junkdna.analysis.stats import t_interval
from junkdna.errors import JunkDNAError
from junkdna.registry import Registry

SLACK = 1e-9
MIN_BOOT_SEEDS = 5  # below this, no bootstrap interval for the achievable sparsity
_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2 only has trapz

# A rule maps (passing, tested) bool arrays of shape (replicates, k) to the achievable ones.
Rule = Callable[[np.ndarray, np.ndarray], np.ndarray]
RULES: Registry[Rule] = Registry("achievable-sparsity rule")


@RULES.register("prefix")
def _prefix(passing: np.ndarray, tested: np.ndarray) -> np.ndarray:
    failed = tested & ~passing
    crossed = np.cumsum(failed, axis=1) > 0  # True from the first failure onward
    return passing & tested & ~crossed


@RULES.register("last")
def _last(passing: np.ndarray, tested: np.ndarray) -> np.ndarray:
    return passing & tested


def achievable_from_curves(
    sparsities: np.ndarray, curves: np.ndarray, epsilon: float = 0.01, rule: str = "prefix"
) -> np.ndarray:
    """Achievable sparsity of each curve. ``curves`` is (replicates, k) mean normalized
    performance at the sorted ``sparsities`` (k,); NaN marks an untested point."""
    sparsities = np.asarray(sparsities, dtype=float)
    curves = np.atleast_2d(np.asarray(curves, dtype=float))
    if np.any(np.diff(sparsities) <= 0):
        raise JunkDNAError("sparsities must be strictly increasing")
    if not 0 <= epsilon < 1:
        raise JunkDNAError(f"epsilon must be in [0, 1), got {epsilon}")
    tested = ~np.isnan(curves)
    passing = np.where(tested, curves >= 1 - epsilon - SLACK, False)
    ok = RULES.get(rule)(passing, tested)
    return np.where(ok, sparsities, 0.0).max(axis=1)


def normalized_auc(sparsities: np.ndarray, curves: np.ndarray) -> np.ndarray:
    """Area under the normalized curve from sparsity 0 (where it is 1) to the largest tested
    sparsity, divided by that sparsity: 1.0 means no loss anywhere. Only comparable between
    curves on the same grid, so a curve with an untested point (NaN) has no AUC (NaN) rather than
    one over a shorter range."""
    sparsities = np.asarray(sparsities, dtype=float)
    curves = np.atleast_2d(np.asarray(curves, dtype=float))
    pos = sparsities > 0
    xs = np.r_[0.0, sparsities[pos]]
    ys = np.hstack([np.ones((len(curves), 1)), curves[:, pos]])  # (replicates, 1 + k)
    if xs[-1] == 0:
        return np.full(len(curves), np.nan)
    return _trapezoid(ys, xs, axis=1) / xs[-1]  # NaN propagates from untested points


def _seed_matrix(group: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    table = group.pivot_table(index="seed", columns="sparsity", values="normalized", aggfunc="mean")
    table = table.sort_index(axis=1)
    return table.columns.to_numpy(dtype=float), table.to_numpy(dtype=float)  # (k,), (seeds, k)


def achievable_sparsity(
    normalized: pd.DataFrame,
    *,
    epsilon: float = 0.01,
    rule: str = "prefix",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per curve (``normalize.CURVE_KEYS``) of a ``normalize()`` table.

    Columns: curve keys, achievable, achievable_low, achievable_high (NaN under
    ``MIN_BOOT_SEEDS`` seeds), auc, auc_low, auc_high (Student-t over seeds), n_seeds,
    single_seed, few_seeds, never_drops, max_sparsity, sparsities (comma-separated grid), epsilon,
    rule."""
    RULES.get(rule)  # fail early on an unknown rule
    keys = curve_keys(normalized)
    tail = (1 - confidence) / 2 * 100
    rows = []
    for key, group in normalized.groupby(keys, sort=True, dropna=False):
        sparsities, m = _seed_matrix(group)
        n_seeds = len(m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns in a replicate
            mean_curve = np.nanmean(m, axis=0, keepdims=True)
            idx = group_rng(seed, key).integers(0, n_seeds, size=(n_boot, n_seeds))
            boot_curves = np.nanmean(m[idx], axis=1)  # (n_boot, k)
        ach = float(achievable_from_curves(sparsities, mean_curve, epsilon, rule)[0])
        auc = float(normalized_auc(sparsities, mean_curve)[0])
        ach_lo = ach_hi = np.nan
        if n_seeds >= MIN_BOOT_SEEDS:
            ach_b = achievable_from_curves(sparsities, boot_curves, epsilon, rule)
            ach_lo, ach_hi = np.percentile(ach_b, [tail, 100 - tail])
        auc_lo = auc_hi = np.nan
        if n_seeds > 1 and np.isfinite(m).all():
            _, auc_lo, auc_hi = t_interval(normalized_auc(sparsities, m), confidence)
        rows.append(
            (
                *key,
                ach,
                float(ach_lo),
                float(ach_hi),
                auc,
                float(auc_lo),
                float(auc_hi),
                n_seeds,
                n_seeds == 1,
                n_seeds < MIN_BOOT_SEEDS,
                bool(ach == sparsities.max()),
                float(sparsities.max()),
                ",".join(f"{s:g}" for s in sparsities),
                epsilon,
                rule,
            )
        )
    cols = [
        *keys,
        "achievable",
        "achievable_low",
        "achievable_high",
        "auc",
        "auc_low",
        "auc_high",
        "n_seeds",
        "single_seed",
        "few_seeds",
        "never_drops",
        "max_sparsity",
        "sparsities",
        "epsilon",
        "rule",
    ]
    return pd.DataFrame(rows, columns=cols)
