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
