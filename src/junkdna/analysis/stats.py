"""The exact tests of the analysis, on plain arrays (no tables, no difficulty):

* ``spearman_permutation``: Spearman's rho with a two-sided permutation p-value; exact
  enumeration of all n! orderings for n <= ``EXACT_MAX_N``, otherwise a seeded Monte Carlo
  estimate (1 + hits) / (1 + n_perm).
* ``paired_signflip`` / ``signflip_pvalues``: a two-sided sign-flip test of mean(d) = 0 for
  paired differences; exact over all 2^m sign patterns for m <= ``PAIRED_EXACT_MAX`` pairs,
  otherwise seeded Monte Carlo. ``signflip_pvalues`` takes many samples at once (the power
  calculation of ``analysis.power`` runs the very test it sizes).
* ``permutation_pvalues``: the two-group permutation test of a difference of means.
* ``t_interval``: the Student-t interval over independent units; ``fieller``: the interval of a
  ratio of two means.

Ties are scale-free: two values count as equal when they differ by less than ``REL_TOL`` times
the scale of the data they belong to (the same data times 1e6 or 1e-6 give the same p). An
interval is never narrower than the data can support: identical values give none (NaN), not a
zero-width one.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.stats import rankdata
from scipy.stats import t as student

from junkdna.errors import JunkDNAError

EXACT_MAX_N = 8
PAIRED_EXACT_MAX = 16
UNPAIRED_EXACT_MAX = 20_000  # label assignments enumerated exactly up to this many
REL_TOL = 1e-9  # relative to the data's scale: what counts as a tie


def tie_tol(scale) -> np.ndarray | float:
    """The tie tolerance for data of this scale (an array of scales gives one per entry)."""
    return REL_TOL * np.abs(scale)


def snap_ties(v: np.ndarray) -> np.ndarray:
    """``v`` with values closer than the tie tolerance (relative to max |v|) made equal, chains
    included, so that ranks and tie counts do not depend on rounding noise or on the scale."""
    v = np.asarray(v, dtype=float)
    if v.size < 2:
        return v.copy()
    order = np.argsort(v, kind="stable")
    s = v[order]
    group = np.concatenate([[0], np.cumsum(np.diff(s) > tie_tol(np.abs(v).max()))])
    firsts = s[np.searchsorted(group, group, side="left")]
    out = np.empty_like(v)
    out[order] = firsts
    return out


def all_equal(x) -> bool:
    x = np.asarray(x, dtype=float)
    return x.size > 0 and float(np.ptp(x)) <= float(tie_tol(np.abs(x).max()))


@dataclass(frozen=True)
class Correlation:
    rho: float
    p_value: float
    n: int
    test: str  # "exact", "monte-carlo" or "undefined"
    n_permutations: int
    min_p: float  # the smallest p-value this test could report at this n
    ties_x: int  # number of values sharing a rank with another value
    ties_y: int


def _n_tied(v: np.ndarray) -> int:
    _, counts = np.unique(snap_ties(v), return_counts=True)
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
    x, y = snap_ties(x), snap_ties(y)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(math.nan, math.nan, n, "undefined", 0, math.nan, *ties)
    rx, ry = rankdata(x), rankdata(y)
    rho = float(_rho_rows(rx, ry[None, :])[0])
    tol = tie_tol(1.0)  # rho lies in [-1, 1]
    if n <= exact_max_n:
        perms = np.array(list(itertools.permutations(range(n))))  # (n!, n)
        null = np.abs(_rho_rows(rx, ry[perms]))
        p = float(np.mean(null >= abs(rho) - tol))
        min_p = float(np.mean(null >= null.max() - tol))
        return Correlation(rho, p, n, "exact", len(perms), min_p, *ties)
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(ry, (n_perm, 1)), axis=1)  # (n_perm, n)
    hits = int(np.sum(np.abs(_rho_rows(rx, perms)) >= abs(rho) - tol))
    p = (1 + hits) / (1 + n_perm)
    return Correlation(rho, p, n, "monte-carlo", n_perm, 1 / (1 + n_perm), *ties)


def spearman_min_p(n: int) -> float:
    """The smallest two-sided exact permutation p of Spearman's rho over n distinct points."""
    return 2 / math.factorial(n) if n >= 2 else 1.0


# ----------------------------------------------------------------------------- sign-flip
@lru_cache(maxsize=32)
def _all_signs(m: int) -> np.ndarray:
    """(2^m, m) of +-1: every sign pattern."""
    return (1 - 2 * ((np.arange(2**m)[:, None] >> np.arange(m)) & 1)).astype(float)


def signflip_pvalues(d, *, n_perm: int = 9999, seed: int = 0,
                     exact_max: int = PAIRED_EXACT_MAX) -> tuple[np.ndarray, float, str]:  # fmt: skip
    """Two-sided sign-flip p of mean = 0 for each row of ``d`` (k, m): (p per row, the smallest
    p the test can report, "exact" or "monte-carlo"). Exact over all 2^m patterns for
    m <= ``exact_max``; otherwise ``n_perm`` seeded random patterns, p = (1 + hits) / (1 + n_perm)."""
    d = np.atleast_2d(np.asarray(d, dtype=float))
    k, m = d.shape
    tol = tie_tol(np.abs(d).mean(axis=1))[:, None]  # the largest |mean| a pattern can reach
    observed = np.abs(d.mean(axis=1))[:, None]
    if m <= exact_max:
        signs = _all_signs(m)
        hits = np.empty(k)
        for start in range(0, k, max(1, 2**22 // 2**m)):  # bounded memory: (chunk, 2^m)
            rows = slice(start, start + max(1, 2**22 // 2**m))
            null = np.abs(d[rows] @ signs.T) / m
            hits[rows] = (null >= observed[rows] - tol[rows]).sum(axis=1)
        return hits / len(signs), 2 / len(signs), "exact"
    signs = np.random.default_rng(seed).choice(np.array([-1.0, 1.0]), size=(n_perm, m))
    null = np.abs(d @ signs.T) / m  # (k, n_perm)
    hits = (null >= observed - tol).sum(axis=1)
    return (1 + hits) / (1 + n_perm), 1 / (1 + n_perm), "monte-carlo"


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
    p, min_p, how = signflip_pvalues(d, n_perm=n_perm, seed=seed)
    n = 2**m if how == "exact" else n_perm
    return Paired(float(d.mean()), float(p[0]), m, f"paired {how}", n, min_p)


# ----------------------------------------------------------------------------- two groups
def assignments(n: int, na: int, *, n_perm: int = 9999, seed: int = 0) -> tuple[np.ndarray, bool]:
    """(which of n pooled units go to the first group, one row per assignment; exact?): every
    assignment while there are at most ``UNPAIRED_EXACT_MAX``, else ``n_perm`` random ones."""
    if math.comb(n, na) <= UNPAIRED_EXACT_MAX:
        picks = np.array(list(itertools.combinations(range(n), na)))  # (C(n, na), na)
        in_a = np.zeros((len(picks), n), dtype=bool)
        np.put_along_axis(in_a, picks, True, axis=1)
        return in_a, True
    rng = np.random.default_rng(seed)
    in_a = np.argsort(rng.random((n_perm, n)), axis=1) < na
    return in_a, False


def permutation_pvalues(pooled, na: int, in_a: np.ndarray, exact: bool) -> tuple[np.ndarray, float]:
    """Two-sided permutation p of mean(first na) - mean(rest) for each row of ``pooled`` (k, n),
    under the assignments ``in_a`` (``assignments``): (p per row, smallest reportable p)."""
    pooled = np.atleast_2d(np.asarray(pooled, dtype=float))
    n = pooled.shape[1]
    nb = n - na
    sums = pooled @ in_a.T.astype(float)  # (k, A)
    null = np.abs(sums / na - (pooled.sum(axis=1, keepdims=True) - sums) / nb)
    observed = np.abs(pooled[:, :na].mean(axis=1) - pooled[:, na:].mean(axis=1))[:, None]
    tol = tie_tol(np.ptp(pooled, axis=1))[:, None]
    hits = (null >= observed - tol).sum(axis=1)
    if exact:
        # every assignment and its mirror (when na = nb) reach the largest |difference|
        top = float(np.mean(null[0] >= null[0].max() - tol[0, 0])) if len(null) else math.nan
        return hits / in_a.shape[0], top
    return (1 + hits) / (1 + in_a.shape[0]), 1 / (1 + in_a.shape[0])


# ----------------------------------------------------------------------------- intervals
def t_interval(x, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student-t interval over independent units; NaN bounds under 2 units
    and when every unit gave the same value (no spread to measure: no zero-width interval)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n < 2 or all_equal(x):
        return mean, math.nan, math.nan
    half = float(student.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def fieller(a, b, confidence: float = 0.95) -> tuple[float, float, float, str]:
    """mean(a) / mean(b) over paired units with Fieller's interval: (ratio, low, high, why the
    interval is missing or ""). The interval is the set of ratios r for which mean(a - r b) = 0
    is not rejected by a t-test; it is bounded only when mean(b) is itself clearly away from 0."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = len(a)
    if n == 0:
        return math.nan, math.nan, math.nan, "no units"
    ma, mb = float(a.mean()), float(b.mean())
    if mb <= tie_tol(np.abs(b).max()):
        return math.nan, math.nan, math.nan, "no loss to recover on average"
    ratio = ma / mb
    if n < 2:
        return ratio, math.nan, math.nan, "one unit"
    if all_equal(a) and all_equal(b):
        return ratio, math.nan, math.nan, "every unit gave the same values"
    t2 = float(student.ppf(0.5 + confidence / 2, n - 1)) ** 2
    cov = np.cov(np.vstack([a, b]), ddof=1) / n  # of the two means
    qa = mb * mb - t2 * cov[1, 1]
    if qa <= 0:
        why = "the loss is not clearly above 0 over these units, so the interval is unbounded"
        return ratio, math.nan, math.nan, why
    qb = ma * mb - t2 * cov[0, 1]
    qc = ma * ma - t2 * cov[0, 0]
    root = math.sqrt(max(qb * qb - qa * qc, 0.0))
    return ratio, (qb - root) / qa, (qb + root) / qa, ""
