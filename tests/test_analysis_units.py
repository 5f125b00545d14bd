"""The two-level test is valid for the units it treats as independent, proven by simulation.

A simulated study has two levels, 5 sparsities and 2 pruning methods; every fine-tuned run of one
seed at one level shares that lineage's random offset (its data order and head initialization),
plus a little noise per run. With no difference between the levels, the seed-unit test must
reject at most about alpha of the time; the old habit of pooling every (configuration, seed) pair
as independent must be shown to fail on the same data; a clear effect must be found at 8 seeds;
and the Student-t interval must cover the true difference at 3 seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from junkdna.analysis.hypothesis import compare_levels
from junkdna.analysis.stats import paired_signflip, paired_units, t_interval, unpaired_units

SPARSITIES = (0.1, 0.2, 0.3, 0.4, 0.5)
METHODS = ("magnitude", "wanda")
LINEAGE_SD = 0.05  # the offset a seed's fine-tuning gives all its runs at one level
RUN_SD = 0.01  # what differs between runs of one lineage


def study(rng, n_seeds: int, effect: float = 0.0) -> pd.DataFrame:
    """A normalized table: level "easy" and "hard"; the hard level loses ``effect`` more."""
    rows = []
    for seed in range(n_seeds):
        for level, shift in (("easy", 0.0), ("hard", effect)):
            offset = rng.normal(0.0, LINEAGE_SD)
            for method in METHODS:
                for s in SPARSITIES:
                    value = 1 - s / 2 - shift + offset + rng.normal(0.0, RUN_SD)
                    rows.append({"level": level, "method": method, "structure": "unstructured",
                                 "scope": "global", "sparsity": s, "seed": seed,
                                 "normalized": value})  # fmt: skip
    return pd.DataFrame(rows)


def rejects(df: pd.DataFrame, alpha: float = 0.05) -> bool:
    res, _, _ = compare_levels(df, {"level": "easy"}, {"level": "hard"}, n_perm=999)
    return res.p_value < alpha


def pooled_rejects(df: pd.DataFrame, alpha: float = 0.05) -> bool:
    """The old test: every (configuration, seed) pair as an independent unit."""
    keys = ["method", "sparsity", "seed"]
    a = df[df["level"] == "easy"].set_index(keys)["normalized"]
    b = df[df["level"] == "hard"].set_index(keys)["normalized"]
    return paired_signflip((a - b).to_numpy(), n_perm=999).p_value < alpha


def test_false_positive_rate_at_most_6_percent_over_1000_null_studies():
    rng = np.random.default_rng(2026)
    studies = [study(rng, 8) for _ in range(1000)]
    rate = np.mean([rejects(df) for df in studies])
    assert rate <= 0.06, rate
    # The same null studies, pooled as if the 80 pairs of a study were independent: far too many
    # false positives (the reason the seed is the unit).
    pooled = np.mean([pooled_rejects(df) for df in studies[:200]])
    assert pooled > 0.3, pooled


def test_power_at_least_80_percent_for_a_clear_effect_at_8_seeds():
    rng = np.random.default_rng(7)
    # 0.1 normalized points more lost at the hard level: 1.4 standard deviations of a seed's
    # difference between the levels (two lineage offsets: 0.05 * sqrt(2))
    power = np.mean([rejects(study(rng, 8, effect=0.1)) for _ in range(300)])
    assert power >= 0.8, power


def test_t_interval_covers_at_least_93_percent_at_3_seeds():
    rng = np.random.default_rng(11)
    truth, hits = 0.05, 0
    for _ in range(1000):
        res, _, _ = compare_levels(study(rng, 3, effect=truth), {"level": "easy"},
                                   {"level": "hard"}, n_perm=99)  # fmt: skip
        # d = easy - hard = +truth (the hard level loses more)
        hits += res.ci_low <= truth <= res.ci_high
    assert hits / 1000 >= 0.93, hits / 1000


def test_unit_tests_by_hand():
    res = paired_units([0.1, 0.2, 0.3])
    # sign-flip over 3 seeds: 8 patterns, only +++ and --- reach |mean| 0.2
    assert (res.n_units, res.p_value, res.min_p) == (3, pytest.approx(0.25), pytest.approx(0.25))
    mean, lo, hi = t_interval([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2) and hi - mean == pytest.approx(4.302653 * 0.1 / np.sqrt(3))
    assert (res.ci_low, res.ci_high) == (pytest.approx(lo), pytest.approx(hi))
    assert res.units_needed >= 6  # no exact sign-flip over fewer than 6 units reaches 0.05
    one = paired_units([0.4])
    assert one.p_value == 1.0 and np.isnan(one.ci_low) and one.units_needed is None
    two = unpaired_units([1.0, 2.0], [0.0, 0.5])
    # 6 ways to split 4 seeds in two groups of 2; |difference| 1.25 reached by 2 of them
    assert two.estimate == pytest.approx(1.25) and two.p_value == pytest.approx(2 / 6)
    assert two.method == "permutation over seeds (exact)"
