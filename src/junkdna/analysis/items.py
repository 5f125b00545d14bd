"""Two levels of an evaluation-only setting (open vs closed book, zero-shot translation) compared
with the EVALUATED ITEM as the unit.

Without fine-tuning every seed repeats one evaluation, so seeds are no units; what varies
independently is the item (a question, a sentence). Each run records one outcome per item
(``tasks.metrics.ItemOutcomes``: 1/0 for a correct/wrong answer, sentence chrF for translation),
keyed so that the dense and the pruned model, and the two levels when they score the same
questions, line up item by item.

The statistic is the paper's measure at the level of a run and the interaction of the issue:

    T = mean over pruning configurations c of [ N_easy(c) - N_hard(c) ],
    N_L(c) = mean_i P_L,c,i / mean_i D_L,i   (pruned over dense of level L, the normalized score)

The prediction is T > 0 (the harder level keeps less of its dense score). Its sampling
distribution comes from a bootstrap over items: the same resampled items for the dense and every
pruned run of a level (they answered the same questions) and, when both levels scored the same
items, for both levels too (paired); otherwise each level's items are resampled on their own
(unpaired). The bootstrap replicates T* give the centred spread |T* - T|; the two-sided p is
(1 + #{|T* - T| >= |T|}) / (1 + B), and the interval is its inversion, every theta whose p
(1 + #{|T* - T| >= |T - theta|}) / (1 + B) is at least 1 - confidence: T +- the k-th largest
spread, k = ceil((1 - confidence)(1 + B)) - 1. So the 95% interval excludes 0 exactly when
p < 0.05: one decision, not two estimates that can disagree. Several seeds of one
configuration (e.g. calibration samples) are averaged per item. Calibration (false positives at
alpha, coverage, power) is measured by simulation in tests/test_analysis_items.py and
benchmarks/sim_units.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from junkdna.analysis.stats import tie_tol
from junkdna.analysis.units import UnitTest
from junkdna.tasks.metrics import ItemOutcomes


class NoItems(Exception):
    """The runs of a comparison lack usable item outcomes (the message says why)."""


def _mask(df: pd.DataFrame, where: Mapping) -> np.ndarray:
    mask = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        mask &= (df[k] == v).to_numpy()
    return mask


def _mean_items(run_ids, items: Mapping[str, ItemOutcomes], what: str) -> tuple[np.ndarray, ...]:
    """(keys, mean outcome per item) over ``run_ids``, which must share their items."""
    found = [items.get(r) for r in run_ids]
    if not found or any(f is None for f in found):
        missing = sum(f is None for f in found)
        raise NoItems(f"{missing} {what} run(s) recorded no item outcomes")
    keys = found[0].keys
    if any(len(f.keys) != len(keys) or not np.array_equal(f.keys, keys) for f in found[1:]):
        raise NoItems(f"the {what} runs did not score the same items")
    return keys, np.mean([f.values.astype(float) for f in found], axis=0)


def level_matrix(normalized, where, configs, items) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys, dense outcome per item, pruned outcomes per configuration x item) of one level."""
    rows = normalized[_mask(normalized, where)].merge(configs, on=list(configs.columns))
    keys, dense = _mean_items(sorted(set(rows["dense_run_id"])), items, "dense")
    pruned = []
    for _, cfg_rows in rows.groupby(list(configs.columns), sort=True, dropna=False):
        k, values = _mean_items(sorted(cfg_rows["run_id"]), items, "pruned")
        if not np.array_equal(k, keys):
            raise NoItems("a pruned run and its dense reference did not score the same items")
        pruned.append(values)
    if len(pruned) != len(configs):
        raise NoItems("a level lacks a run of a shared pruning configuration")
    return keys, dense, np.array(pruned)


def _normalized(weights: np.ndarray, dense: np.ndarray, pruned: np.ndarray) -> np.ndarray:
    """Mean over configurations of (w . pruned_c) / (w . dense) for each row of ``weights``."""
    den = weights @ dense  # (B,)
    num = weights @ pruned.T  # (B, C)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (num / den[:, None]).mean(axis=1)


def _resample(rng, n_boot: int, n: int) -> np.ndarray:
    """Bootstrap count vectors (n_boot, n): how often each item is drawn."""
    draws = rng.integers(0, n, size=(n_boot, n)) + (np.arange(n_boot) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)


def interaction_test(
    easy: tuple[np.ndarray, np.ndarray, np.ndarray],
    hard: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[UnitTest, str]:
    """The bootstrap test of T (module docstring) on two ``level_matrix`` results; returns the
    test and how the items pair ("paired" or "unpaired")."""
    (ke, de, pe), (kh, dh, ph) = easy, hard
    if de.sum() <= 0 or dh.sum() <= 0:
        raise NoItems("a level's dense model scores 0 on every item")
    paired = len(ke) == len(kh) and np.array_equal(ke, kh)
    ones_e, ones_h = np.ones((1, len(ke))), np.ones((1, len(kh)))
    estimate = float(_normalized(ones_e, de, pe)[0] - _normalized(ones_h, dh, ph)[0])
    rng = np.random.default_rng(seed)
    we = _resample(rng, n_boot, len(ke))
    wh = we if paired else _resample(rng, n_boot, len(kh))
    reps = _normalized(we, de, pe) - _normalized(wh, dh, ph)
    reps = reps[np.isfinite(reps)]  # a resample whose dense items all scored 0
    b = len(reps)
    p, lo, hi = _p_and_interval(estimate, np.abs(reps - estimate), 1 - confidence)
    n = len(ke) if paired else len(ke) + len(kh)
    se = float(reps.std(ddof=1))
    sd_item = se * math.sqrt(len(ke) if paired else n / 2)
    how = "paired" if paired else "unpaired"
    method = f"bootstrap over items ({how}, {b} resamples)"
    # sized as a normal test over the items of one level (``units.units_needed_for``)
    return UnitTest("item", n, method, estimate, lo, hi, p, 1 / (1 + b), sd_item, "normal"), how


def _p_and_interval(estimate: float, spread: np.ndarray, level: float):
    """(p, low, high) as ONE decision: p = (1 + #{spread >= |T|}) / (1 + B) and the interval is
    every theta whose p, (1 + #{spread >= |T - theta|}) / (1 + B), is at least ``level``; so
    the interval excludes 0 exactly when p < ``level``. Ties are relative to the spread's scale;
    a spread of 0 (every resample gave T) gives no interval rather than a zero-width one."""
    b = len(spread)
    tol = float(tie_tol(spread.max(initial=abs(estimate))))
    p = (1 + int(np.sum(spread >= abs(estimate) - tol))) / (1 + b)
    k = math.ceil(level * (1 + b) - 1 - 1e-9)  # theta is kept while #{spread >= |T - theta|} >= k
    if k <= 0:
        return p, -math.inf, math.inf  # too few resamples to exclude anything
    half = float(np.sort(spread)[::-1][k - 1]) + tol  # the k-th largest spread
    if half <= 2 * tol:
        return p, math.nan, math.nan
    return p, estimate - half, estimate + half


def compare_levels_items(
    normalized: pd.DataFrame,
    easy: dict,
    hard: dict,
    configs: pd.DataFrame,
    items: Mapping[str, ItemOutcomes],
    **test,
) -> tuple[UnitTest, str]:
    """Easier minus harder level on the pruning ``configs`` both ran, over items. Raises
    ``NoItems`` when the runs lack comparable item outcomes."""
    levels = []
    for where in (easy, hard):
        try:
            levels.append(level_matrix(normalized, where, configs, items))
        except NoItems as why:
            raise NoItems(f"at level {where.get('level')!r}, {why}") from None
    return interaction_test(*levels, **test)
