"""Tests over independent units: one number per unit first, then the test across units.

A verdict is only as good as the unit it treats as independent. The runs of one fine-tuning seed
share its data order and head initialization, so a fine-tuned comparison summarizes each seed
first and tests across seeds; pooling sparsities or configurations of one seed as pairs inflates
false positives (tests/test_analysis_units.py measures both by simulation).

* ``paired_units``: one paired difference per unit; exact sign-flip p (``stats``) and a
  Student-t interval.
* ``unpaired_units``: two groups of units, none in both; exact permutation p and a Welch
  interval.

Both say the smallest p their design can report (``min_p``); ``units_needed_for`` says, where
that is not below alpha, about how many units the observed effect would need (the test's own
power: ``power.units_needed``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student

from junkdna.analysis.power import units_needed
from junkdna.analysis.stats import (
    all_equal,
    assignments,
    paired_signflip,
    permutation_pvalues,
    t_interval,
)


@dataclass(frozen=True)
class UnitTest:
    unit: str  # what one independent observation is, e.g. "seed"
    n_units: int  # paired: units both sides share; unpaired: units of both sides together
    method: str  # how p was computed
    estimate: float  # mean difference (first - second)
    ci_low: float  # interval of the estimate (NaN under 2 units a side or without spread)
    ci_high: float
    p_value: float  # two-sided
    min_p: float  # the smallest p this design can report
    sd: float = math.nan  # sd of one unit's value (paired: of d; unpaired: pooled)
    design: str = "sign-flip"  # what ``power.units_needed`` sizes: sign-flip, permutation, normal


def units_needed_for(test: UnitTest, alpha: float, *, always: bool = False) -> int | None:
    """About how many units ``test``'s observed effect needs for 80% power of its own test at
    ``alpha`` (``power.units_needed``); only where its design cannot reach ``alpha`` (what a
    verdict says it would need) unless ``always``. Sized on demand: the power simulation is
    not free, and a simulation of a thousand studies needs none."""
    if not (always or test.min_p >= alpha):
        return None
    return units_needed(test.estimate, test.sd, alpha, design=test.design)


def paired_units(d, *, unit: str = "seed", confidence: float = 0.95,
                 n_perm: int = 9999, seed: int = 0) -> UnitTest:  # fmt: skip
    """Test of mean(d) = 0 over independent units (d: one paired difference per unit): an exact
    sign-flip p (``stats.paired_signflip``) and a Student-t interval."""
    d = np.asarray(d, dtype=float)
    d = d[np.isfinite(d)]
    res = paired_signflip(d, n_perm=n_perm, seed=seed)
    mean, lo, hi = t_interval(d, confidence)
    sd = float(d.std(ddof=1)) if len(d) > 1 else math.nan
    if len(d) > 1 and all_equal(d):
        sd = 0.0
    method = f"sign-flip over {unit}s ({res.test.removeprefix('paired ')})"
    if res.test == "undefined":
        method = "undefined"
    return UnitTest(unit, len(d), method, mean, lo, hi, res.p_value, res.min_p, sd)


def unpaired_units(a, b, *, unit: str = "seed", confidence: float = 0.95,
                   n_perm: int = 9999, seed: int = 0) -> UnitTest:  # fmt: skip
    """Test of mean(a) = mean(b) for two groups of independent units (no unit in both): a
    two-sided permutation p of the difference of means (exact over every assignment of the
    pooled units while there are at most ``stats.UNPAIRED_EXACT_MAX``) and a Welch t interval."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    na, nb = len(a), len(b)
    if na == 0 or nb == 0:
        return UnitTest(unit, na + nb, "undefined", math.nan, math.nan, math.nan, math.nan,
                        math.nan, design="permutation")  # fmt: skip
    diff = float(a.mean() - b.mean())
    in_a, exact = assignments(na + nb, na, n_perm=n_perm, seed=seed)
    p, min_p = permutation_pvalues(np.concatenate([a, b]), na, in_a, exact)
    method = f"permutation over {unit}s ({'exact' if exact else 'monte-carlo'})"
    lo = hi = sd = math.nan
    if na > 1 and nb > 1:
        va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
        se = math.sqrt(va + vb)
        sd = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        if se > 0 and not (all_equal(a) and all_equal(b)):
            df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
            half = float(student.ppf(0.5 + confidence / 2, df) * se)
            lo, hi = diff - half, diff + half
        else:
            sd = 0.0
    return UnitTest(unit, na + nb, method, diff, lo, hi, float(p[0]), min_p, sd, "permutation")
