"""Seeded, machine-independent split rules.

Offline splits: positions ``0..n-1`` of the source file are permuted by
``numpy.random.default_rng(SPLIT_SEED).permutation(n)`` (PCG64: the same stream on every
platform and numpy >= 1.17); the first ``n_val`` positions are validation, the next ``n_test``
test, the rest train. Splitting by *source position* keeps every row derived from one source
example in one split (WinoGrande twins stay together) and gives parallel files (MultiEmo in 11
languages, same order) the same split in every language, so no sentence leaks across splits
through a translation.

Data adequacy: one seeded order of the training rows whose every prefix is stratified (within a
row per class); a fraction keeps a prefix, so smaller samples lie inside larger ones.
"""

from __future__ import annotations

import numpy as np

SPLIT_SEED = 20231003  # arXiv 2310.02277; fixed forever: changing it changes every offline split


def eval_sizes(n: int, frac: float = 0.1, cap: int = 2000) -> tuple[int, int]:
    """Validation and test sizes: 10% of the examples each, at most 2,000 (evaluation is cheap)."""
    k = min(cap, int(n * frac))
    return k, k


def split_positions(
    n: int, n_val: int, n_test: int, seed: int = SPLIT_SEED
) -> dict[str, np.ndarray]:
    if n_val + n_test >= n:
        raise ValueError(f"{n_val} validation + {n_test} test leave no training rows of {n}")
    perm = np.random.default_rng(seed).permutation(n)
    return {
        "validation": np.sort(perm[:n_val]),
        "test": np.sort(perm[n_val : n_val + n_test]),
        "train": np.sort(perm[n_val + n_test :]),
    }


def nested_order(labels: np.ndarray | None, n: int, seed: int) -> np.ndarray:
    """An order of ``range(n)`` whose every prefix is a (stratified) random sample.

    Each class is permuted on its own; the row of rank r in a class of size n_c gets the key
    (r + u) / n_c with u ~ U(0, 1), and rows are sorted by key. Any prefix then holds
    ``k * n_c / n`` rows of each class up to rounding, and a prefix of a prefix is a prefix:
    nested by construction. ``labels=None`` (regression) gives a plain permutation.
    """
    rng = np.random.default_rng(seed)
    if labels is None:
        return rng.permutation(n)
    labels = np.asarray(labels)
    keys = np.empty(n, dtype=np.float64)
    for c in np.unique(labels):  # sorted classes: deterministic draw order
        idx = np.flatnonzero(labels == c)
        ranks = rng.permutation(len(idx))
        keys[idx] = (ranks + rng.random(len(idx))) / len(idx)
    return np.argsort(keys, kind="stable")


def prefix_size(fraction: float | None, examples: int | None, n: int) -> int:
    k = round(fraction * n) if fraction is not None else min(int(examples), n)
    return max(1, k)
