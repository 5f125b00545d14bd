"""How many units a test needs: the power of the tests the analysis runs, not of a textbook stand-in.

A design is sized for the test that will judge it. The exact sign-flip over seeds cannot reach
p < 0.05 under 6 seeds at all (its smallest p is 2 / 2^n), and above that its power is a little
under the t-test's; a normal approximation under-counts both (effect / sd = 1: the z formula says
8 seeds, while an exact t-test has power 0.68 at 8 and the sign-flip needs 11).

* ``t_power``: the two-sided t-test's power (noncentral t), one sample or two groups.
* ``signflip_power`` / ``permutation_power``: the exact tests' own power for normal units of
  standardized effect ``es``, by a seeded simulation of ``REPS`` studies (common random numbers
  across n, so the power rises with n as it should); their discreteness is included.
* ``units_needed``: the smallest number of units with power >= ``power`` at ``alpha``. From
  ``SIM_MAX`` units on, the t-test's answer is used (the exact tests' power is then within a
  simulation error of it). Judge a primary test at the level Holm guarantees it (alpha / m).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.stats import nct
from scipy.stats import t as student

from junkdna.analysis.stats import assignments, permutation_pvalues, signflip_pvalues

REPS = 2000  # simulated studies per power figure: a standard error of about 0.009 at 0.8
SIM_MAX = 40  # above this many units, the t-test's n stands for the exact tests'
EXACT_SIGNS = 12  # exact sign-flip p up to this many units in the simulation
DESIGNS = ("sign-flip", "permutation", "normal")


def t_power(n: int, es: float, alpha: float, *, groups: int = 1) -> float:
    """Power of the two-sided t-test at ``alpha`` for standardized effect ``es``: one sample of n
    (``groups=1``: paired differences) or two groups of n each."""
    if n < 2:
        return 0.0
    df, nc = (n - 1, es * math.sqrt(n)) if groups == 1 else (2 * n - 2, es * math.sqrt(n / 2))
    crit = student.ppf(1 - alpha / 2, df)
    return float(nct.sf(crit, df, nc) + nct.cdf(-crit, df, nc))


def _t_needed(es: float, alpha: float, power: float, groups: int) -> int:
    hi = 2
    while t_power(hi, es, alpha, groups=groups) < power:
        hi *= 2
        if hi > 10**8:
            return hi
    lo = hi // 2
    while lo + 1 < hi:  # t_power(lo) < power <= t_power(hi)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if t_power(mid, es, alpha, groups=groups) >= power else (mid, hi)
    return max(hi, 2)


@lru_cache(maxsize=4096)
def signflip_power(n: int, es: float, alpha: float) -> float:
    """Power of the exact two-sided sign-flip test (reject at p < alpha) over n normal units of
    mean ``es`` and sd 1 (simulated, ``REPS`` studies)."""
    z = np.random.default_rng(1_000_003 + n).standard_normal((REPS, n))
    p, _, _ = signflip_pvalues(z + es, n_perm=REPS, seed=n, exact_max=EXACT_SIGNS)
    return float(np.mean(p < alpha))


@lru_cache(maxsize=4096)
def permutation_power(n: int, es: float, alpha: float) -> float:
    """Power of the two-sided permutation test of a difference of means (reject at p < alpha),
    two groups of n normal units, sd 1, means ``es`` apart (simulated, ``REPS`` studies)."""
    rng = np.random.default_rng(2_000_003 + n)
    pooled = rng.standard_normal((REPS, 2 * n))
    pooled[:, :n] += es
    in_a, exact = assignments(2 * n, n, n_perm=REPS, seed=n)
    p, _ = permutation_pvalues(pooled, n, in_a, exact)
    return float(np.mean(p < alpha))


def floor_units(design: str, alpha: float) -> int:
    """The fewest units (per group for "permutation") whose smallest p is below ``alpha``."""
    if design == "sign-flip":
        return math.floor(1 - math.log2(alpha)) + 1  # 2 / 2^n < alpha
    if design == "permutation":
        n = 1
        while 2 / math.comb(2 * n, n) >= alpha:
            n += 1
        return n
    return 2


def units_needed(effect: float, sd: float, alpha: float, power: float = 0.8,
                 design: str = "sign-flip") -> int | None:  # fmt: skip
    """About how many units the test ``design`` needs to detect ``effect`` (units of sd ``sd``)
    with ``power`` at ``alpha``: "sign-flip" (paired differences, one per unit), "permutation"
    (two groups; the answer counts both) or "normal" (a t/z test, for hundreds of items). None
    when there is no effect to size. An sd of 0 (identical units) needs only the fewest units
    that can reach ``alpha``."""
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; valid: {', '.join(DESIGNS)}")
    if not (math.isfinite(effect) and math.isfinite(sd)) or effect == 0 or sd < 0:
        return None
    per_group = 2 if design == "permutation" else 1
    floor = floor_units(design, alpha)
    if sd == 0:
        return per_group * floor
    es = round(abs(effect) / sd, 4)  # rounded: the simulations are cached per effect size
    n = max(floor, _t_needed(es, alpha, power, per_group))
    if design == "normal" or n > SIM_MAX:
        return per_group * n
    simulate = signflip_power if design == "sign-flip" else permutation_power
    while n <= SIM_MAX and simulate(n, es, alpha) < power:
        n += 1
    return per_group * n
