"""The statistical tests of the hypothesis, on plain arrays (no tables, no difficulty):

* ``spearman_permutation``: Spearman's rho with a two-sided permutation p-value; exact
  enumeration of all n! orderings for n <= ``EXACT_MAX_N``, otherwise a seeded Monte Carlo
  estimate (1 + hits) / (1 + n_perm).
* ``paired_signflip``: a two-sided sign-flip test of mean(d) = 0 for paired differences; exact
  over all 2^m sign patterns for m <= ``PAIRED_EXACT_MAX`` pairs, otherwise seeded Monte Carlo.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from junkdna.errors import JunkDNAError

EXACT_MAX_N = 8
PAIRED_EXACT_MAX = 16
TIE_TOL = 1e-12


@dataclass(frozen=True)
class Correlation:
    rho: float
    p_value: float
    n: int
    test: str  # "exact", "monte-carlo" or "undefined"
    n_permutations: int
    min_p: float  # the smallest p-value this test could report at this n (exact method only)
    ties_x: int  # number of values sharing a rank with another value
    ties_y: int


def _n_tied(v: np.ndarray) -> int:
    _, counts = np.unique(np.round(v / TIE_TOL) * TIE_TOL, return_counts=True)
    return int(counts[counts > 1].sum())


def _rho_rows(rx: np.ndarray, ry_perms: np.ndarray) -> np.ndarray:
    """Pearson correlation of ranks ``rx`` (n,) with each row of ``ry_perms`` (m, n)."""
    a = rx - rx.mean()
    b = ry_perms - ry_perms.mean(axis=1, keepdims=True)
    return (b @ a) / (np.sqrt((a * a).sum()) * np.sqrt((b * b).sum(axis=1)))


def spearman_permutation(
    x, y, *, n_perm: int = 9999, seed: int = 0, exact_max_n: int = EXACT_MAX_N
) -> Correlation:
    """Spearman's rho (average ranks for ties) with a two-sided permutation p-value."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise JunkDNAError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise JunkDNAError("x and y must be finite")
    n = len(x)
    ties = (_n_tied(x), _n_tied(y)) if n else (0, 0)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(math.nan, math.nan, n, "undefined", 0, math.nan, *ties)
    rx, ry = rankdata(x), rankdata(y)
    rho = float(_rho_rows(rx, ry[None, :])[0])
    if n <= exact_max_n:
        perms = np.array(list(itertools.permutations(range(n))))  # (n!, n)
        null = np.abs(_rho_rows(rx, ry[perms]))
        p = float(np.mean(null >= abs(rho) - TIE_TOL))
        min_p = float(np.mean(null >= null.max() - TIE_TOL))
        return Correlation(rho, p, n, "exact", len(perms), min_p, *ties)
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(ry, (n_perm, 1)), axis=1)  # (n_perm, n)
    hits = int(np.sum(np.abs(_rho_rows(rx, perms)) >= abs(rho) - TIE_TOL))
    p = (1 + hits) / (1 + n_perm)
    return Correlation(rho, p, n, "monte-carlo", n_perm, 1 / (1 + n_perm), *ties)


@dataclass(frozen=True)
class Paired:
    mean_diff: float  # mean of d = kept(easier) - kept(harder)
    p_value: float
    n_pairs: int
    test: str  # "paired exact", "paired monte-carlo" or "undefined"
    n_permutations: int
    min_p: float


def paired_signflip(d, *, n_perm: int = 9999, seed: int = 0) -> Paired:
    """Two-sided sign-flip test of mean(d) = 0 (d: paired differences)."""
    d = np.asarray(d, dtype=float)
    m = len(d)
    if m == 0 or not np.isfinite(d).all():
        return Paired(math.nan, math.nan, m, "undefined", 0, math.nan)
    observed = abs(d.mean())
    if m <= PAIRED_EXACT_MAX:
        signs = 1 - 2 * ((np.arange(2**m)[:, None] >> np.arange(m)) & 1)  # (2^m, m) of +-1
        null = np.abs(signs @ d) / m
        p = float(np.mean(null >= observed - TIE_TOL))
        min_p = float(np.mean(null >= null.max() - TIE_TOL))
        return Paired(float(d.mean()), p, m, "paired exact", len(signs), min_p)
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n_perm, m))
    hits = int(np.sum(np.abs(signs @ d) / m >= observed - TIE_TOL))
    return Paired(
        float(d.mean()),
        (1 + hits) / (1 + n_perm),
        m,
        "paired monte-carlo",
        n_perm,
        1 / (1 + n_perm),
    )


# ----------------------------------------------------------------------------- tests over units
# A verdict is only as good as the unit it treats as independent. The runs of one fine-tuning
# seed share its data order and head initialization, so a fine-tuned comparison summarizes each
# seed first and tests across seeds; pooling sparsities or configurations of one seed as pairs
# inflates false positives (tests/test_analysis_units.py measures both by simulation).


@dataclass(frozen=True)
class UnitTest:
    unit: str  # what one independent observation is, e.g. "seed"
    n_units: int  # paired: units both sides share; unpaired: units of both sides together
    method: str  # how p was computed
    estimate: float  # mean difference (first - second)
    ci_low: float  # Student-t interval of the estimate (NaN under 2 units a side)
    ci_high: float
    p_value: float  # two-sided
    min_p: float  # the smallest p this design can report (exact methods)
    units_needed: int | None  # about how many units the observed effect needs to reach alpha


def t_interval(x, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student-t interval over independent units; NaN bounds under 2."""
    from scipy.stats import t as student

    x = np.asarray(x, dtype=float)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan
    half = float(student.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def units_needed(effect: float, sd: float, alpha: float, power: float = 0.8) -> int | None:
    """Units for a two-sided test at ``alpha`` to detect ``effect`` with ``power`` (normal
    approximation), and at least as many as an exact sign-flip test needs to reach ``alpha`` at
    all (2 / 2^n <= alpha)."""
    from scipy.stats import norm

    if not (math.isfinite(effect) and math.isfinite(sd)) or effect == 0 or sd <= 0:
        return None
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    exact_floor = math.ceil(math.log2(2 / alpha))
    return max(math.ceil((z * sd / abs(effect)) ** 2), exact_floor)


def paired_units(d, *, unit: str = "seed", alpha: float = 0.05, confidence: float = 0.95,
                 n_perm: int = 9999, seed: int = 0) -> UnitTest:  # fmt: skip
    """Test of mean(d) = 0 over independent units (d: one paired difference per unit): an exact
    sign-flip p (``paired_signflip``) and a Student-t interval."""
    d = np.asarray(d, dtype=float)
    d = d[np.isfinite(d)]
    res = paired_signflip(d, n_perm=n_perm, seed=seed)
    mean, lo, hi = t_interval(d, confidence)
    sd = float(d.std(ddof=1)) if len(d) > 1 else math.nan
    method = f"sign-flip over {unit}s ({res.test.removeprefix('paired ')})"
    if res.test == "undefined":
        method = "undefined"
    return UnitTest(unit, len(d), method, mean, lo, hi, res.p_value, res.min_p,
                    units_needed(mean, sd, alpha))  # fmt: skip


UNPAIRED_EXACT_MAX = 20_000  # label assignments enumerated exactly up to this many


def unpaired_units(a, b, *, unit: str = "seed", alpha: float = 0.05, confidence: float = 0.95,
                   n_perm: int = 9999, seed: int = 0) -> UnitTest:  # fmt: skip
    """Test of mean(a) = mean(b) for two groups of independent units (no unit in both): a
    two-sided permutation p of the difference of means (exact over every assignment of the
    pooled units while there are at most ``UNPAIRED_EXACT_MAX``) and a Welch t interval."""
    from scipy.stats import t as student

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    na, nb = len(a), len(b)
    if na == 0 or nb == 0:
        return UnitTest(unit, na + nb, "undefined", math.nan, math.nan, math.nan, math.nan,
                        math.nan, None)  # fmt: skip
    diff = float(a.mean() - b.mean())
    pooled = np.concatenate([a, b])
    n = na + nb
    if math.comb(n, na) <= UNPAIRED_EXACT_MAX:
        picks = np.array(list(itertools.combinations(range(n), na)))  # (C(n, na), na)
        in_a = np.zeros((len(picks), n), dtype=bool)
        np.put_along_axis(in_a, picks, True, axis=1)
        method = f"permutation over {unit}s (exact)"
    else:
        rng = np.random.default_rng(seed)
        in_a = np.zeros((n_perm, n), dtype=bool)
        for row in in_a:
            row[rng.choice(n, na, replace=False)] = True
        method = f"permutation over {unit}s (monte-carlo)"
    sums = in_a @ pooled
    null = np.abs(sums / na - (pooled.sum() - sums) / nb)
    hits = int(np.sum(null >= abs(diff) - TIE_TOL))
    exact = method.endswith("(exact)")
    p = hits / len(null) if exact else (1 + hits) / (1 + len(null))
    min_p = float(np.mean(null >= null.max() - TIE_TOL)) if exact else 1 / (1 + len(null))
    lo = hi = math.nan
    sd = math.nan
    if na > 1 and nb > 1:
        va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1)) if se > 0 else n - 2
        half = float(student.ppf(0.5 + confidence / 2, df) * se)
        lo, hi = diff - half, diff + half
        sd = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    needed = units_needed(diff, sd * math.sqrt(2), alpha)  # per group, as a paired d's sd
    return UnitTest(unit, n, method, diff, lo, hi, p, min_p,
                    None if needed is None else 2 * needed)  # fmt: skip
