"""The two-level test is valid for the units it treats as independent, proven by simulation.

A simulated study has two levels, 5 sparsities and 2 pruning methods. A fine-tuning seed gives all
its runs, at BOTH levels, one random offset (its data order and head initialization), each level
adds a smaller offset of its own to the seed's lineage, and every run a little noise. So the
pairing of the levels by seed matters (a test that ignored it loses its power and widens its
interval), and the runs of one seed are not independent (pooling them inflates false positives).

Each bound sits about three Monte Carlo standard errors from the figure the test's own theory
gives (the exact size of the sign-flip, the nominal coverage, the expected interval width), on
both sides where both sides can fail; benchmarks/sim_units.py measures the same figures on fresh
studies with their standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln
from scipy.stats import t as student

from junkdna.analysis.levels import compare_levels, level_comparison
from junkdna.analysis.stats import paired_signflip, t_interval
from junkdna.analysis.units import paired_units, units_needed_for, unpaired_units

SPARSITIES = (0.1, 0.2, 0.3, 0.4, 0.5)
METHODS = ("magnitude", "wanda")
SEED_SD = 0.05  # a seed's offset, shared by its runs at both levels
LINEAGE_SD = 0.01  # what one level adds to the seed's lineage
RUN_SD = 0.005  # what differs between runs of one lineage
# sd of a seed's d = mean over its 10 configurations of (easy - hard): the seed offset cancels
D_SD = math.sqrt(2 * LINEAGE_SD**2 + 2 * RUN_SD**2 / (len(SPARSITIES) * len(METHODS)))
EXACT_SIZE_8 = 12 / 256  # P(p < 0.05) of the exact sign-flip over 8 seeds under the null


def study(rng, n_seeds: int, effect: float = 0.0, *, fail: float = 0.0, extra: bool = False):
    """A normalized table: levels "easy" and "hard"; the hard level loses ``effect`` more.
    ``fail``: each run fails (is missing) with this probability; ``extra``: one random seed
    also ran sparsity 0.6 at both levels (a point added for it alone)."""
    rows = []
    extra_seed = rng.integers(n_seeds) if extra else -1
    for seed in range(n_seeds):
        shared = rng.normal(0.0, SEED_SD)
        for level, shift in (("easy", 0.0), ("hard", effect)):
            offset = shared + rng.normal(0.0, LINEAGE_SD)
            grid = (*SPARSITIES, 0.6) if seed == extra_seed else SPARSITIES
            for method in METHODS:
                for s in grid:
                    noise = rng.normal(0.0, RUN_SD)
                    if fail and rng.random() < fail:
                        continue
                    rows.append((level, method, s, seed, 1 - s / 2 - shift + offset + noise))
    return pd.DataFrame(rows, columns=["level", "method", "sparsity", "seed", "normalized"]).assign(
        structure="unstructured", scope="global"
    )


EASY, HARD = {"level": "easy"}, {"level": "hard"}


def rejects(df: pd.DataFrame, alpha: float = 0.05) -> bool:
    res, _, _ = compare_levels(df, EASY, HARD, n_perm=999)
    return res.p_value < alpha


def pooled_rejects(df: pd.DataFrame, alpha: float = 0.05) -> bool:
    """The old test: every (configuration, seed) pair as an independent unit."""
    keys = ["method", "sparsity", "seed"]
    a = df[df["level"] == "easy"].set_index(keys)["normalized"]
    b = df[df["level"] == "hard"].set_index(keys)["normalized"]
    d = (a - b).dropna()
    return paired_signflip(d.to_numpy(), n_perm=999).p_value < alpha


def _within(rate: float, expected: float, n: int) -> bool:
    return abs(rate - expected) <= 3 * math.sqrt(expected * (1 - expected) / n)


def test_null_studies_reject_at_the_exact_size_balanced_or_not():
    """600 null studies of 8 seeds: the exact size 12/256 = 0.047 +- 3 standard errors (0.026);
    the same with 10% of the runs failed and an extra sparsity for one seed, every seed kept."""
    rng = np.random.default_rng(2026)
    balanced = [study(rng, 8) for _ in range(600)]
    rate = np.mean([rejects(df) for df in balanced])
    assert _within(rate, EXACT_SIZE_8, 600), rate
    # The same null studies pooled as if the 80 pairs of a study were independent: far too many
    # false positives (the reason the seed is the unit).
    pooled = np.mean([pooled_rejects(df) for df in balanced[:200]])
    assert pooled > 0.3, pooled
    kept, rejected = [], []
    for _ in range(600):
        c = level_comparison(study(rng, 8, fail=0.1, extra=True), EASY, HARD, n_perm=999)
        kept.append(c.test.n_units)
        rejected.append(c.test.p_value < 0.05)
    assert min(kept) == 8  # a failed run or an added point never costs a seed
    assert _within(np.mean(rejected), EXACT_SIZE_8, 600), np.mean(rejected)


def test_power_comes_from_pairing_the_levels_by_seed():
    """A 1.4 sd effect (0.02) at 8 seeds: the paired test finds it (the sign-flip's power at
    1.4 sd is about 0.93); the same seeds compared as two unpaired groups, where the seed
    offset (sd 0.05) does not cancel, almost never do."""
    rng = np.random.default_rng(7)
    paired = unpaired = 0
    for _ in range(200):
        c = level_comparison(study(rng, 8, effect=0.02), EASY, HARD, n_perm=999)
        assert c.pairing == "paired" and c.test.n_units == 8
        paired += c.test.p_value < 0.05 and c.test.estimate > 0
        unpaired += unpaired_units(c.design.a, c.design.b, n_perm=999).p_value < 0.05
    assert paired / 200 >= 0.85, paired / 200
    assert unpaired / 200 <= 0.2, unpaired / 200


def _expected_t_width(n: int, sd: float) -> float:
    """E[width] of the 95% Student-t interval over n normal units: 2 t s / sqrt(n), E[s] = c4 sd."""
    c4 = math.sqrt(2 / (n - 1)) * math.exp(gammaln(n / 2) - gammaln((n - 1) / 2))
    return 2 * student.ppf(0.975, n - 1) * c4 * sd / math.sqrt(n)


def test_the_interval_covers_at_3_seeds_and_is_as_wide_as_theory_says():
    """1,000 studies of 3 seeds with a true difference of 0.05: coverage 0.95 +- 0.02, mean
    width within 6% of the t interval's expected width (an unpaired interval would be several
    times wider)."""
    rng = np.random.default_rng(11)
    truth, hits, widths = 0.05, 0, []
    for _ in range(1000):
        res, how, _ = compare_levels(study(rng, 3, effect=truth), EASY, HARD, n_perm=99)
        hits += res.ci_low <= truth <= res.ci_high  # d = easy - hard = +truth
        widths.append(res.ci_high - res.ci_low)
    assert 0.93 <= hits / 1000 <= 0.97, hits / 1000
    assert np.mean(widths) == pytest.approx(_expected_t_width(3, D_SD), rel=0.06)


# ----------------------------------------------------------------------------- unbalanced, by hand
def test_an_added_point_for_one_seed_keeps_every_seed_and_is_named():
    """The defect: 8 seeds give n = 8; one sparsity more for seed 0 gave n = 1, p = 1."""
    rng = np.random.default_rng(3)
    df = study(rng, 8, effect=0.03)
    base = level_comparison(df, EASY, HARD)
    extra = df[df["sparsity"] == 0.5].assign(sparsity=0.6, normalized=0.0)
    more = level_comparison(pd.concat([df, extra[extra["seed"] == 0]]), EASY, HARD)
    assert more.test.n_units == base.test.n_units == 8 and more.pairing == "paired"
    assert more.test.p_value == base.test.p_value == pytest.approx(2 / 256)
    assert more.test.estimate == pytest.approx(base.test.estimate)
    assert more.design.left_out == [
        {"configuration": "magnitude unstructured global 0.6", "why": "run on both sides by 1 of 8 seeds"},
        {"configuration": "wanda unstructured global 0.6", "why": "run on both sides by 1 of 8 seeds"},
    ]  # fmt: skip


def test_a_failed_run_keeps_its_seed_over_its_other_runs():
    rng = np.random.default_rng(4)
    df = study(rng, 8)
    failed = (df["seed"] == 3) & (df["level"] == "hard") & (df["method"] == "wanda")
    failed &= df["sparsity"] == 0.5
    c = level_comparison(df[~failed], EASY, HARD)
    assert c.test.n_units == 8 and c.n_configs == 10
    assert c.design.partial == [{"seed": 3, "lacks": ["wanda unstructured global 0.5"], "over": 9}]
    # seed 3: both levels averaged over the 9 configurations it ran at both (by hand)
    mine = df[(df["seed"] == 3) & ~((df["method"] == "wanda") & (df["sparsity"] == 0.5))]
    by_level = mine.groupby("level")["normalized"].mean()
    assert c.design.d[3] == pytest.approx(by_level["easy"] - by_level["hard"])
    # a seed run at one level only is left out and named
    c = level_comparison(df[~((df["seed"] == 5) & (df["level"] == "easy"))], EASY, HARD)
    assert c.test.n_units == 7 and c.pairing == "paired; 1 unshared seed(s) left out"
    assert {"seed": 5, "why": "run only on the harder level"} in c.design.left_out


def test_unpaired_levels_drop_a_seed_rather_than_average_different_configurations():
    rng = np.random.default_rng(5)
    df = study(rng, 6)
    df.loc[df["level"] == "hard", "seed"] += 100  # no shared seed: two groups
    gone = (df["seed"] == 101) & (df["sparsity"] == 0.5)
    c = level_comparison(df[~gone], EASY, HARD)
    assert c.pairing == "unpaired" and c.test.n_units == 11 and c.n_configs == 10
    assert [x["seed"] for x in c.design.left_out if "seed" in x] == [101]


# ----------------------------------------------------------------------------- by hand
def test_unit_tests_by_hand():
    res = paired_units([0.1, 0.2, 0.3])
    # sign-flip over 3 seeds: 8 patterns, only +++ and --- reach |mean| 0.2
    assert (res.n_units, res.p_value, res.min_p) == (3, pytest.approx(0.25), pytest.approx(0.25))
    mean, lo, hi = t_interval([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2) and hi - mean == pytest.approx(4.302653 * 0.1 / np.sqrt(3))
    assert (res.ci_low, res.ci_high) == (pytest.approx(lo), pytest.approx(hi))
    # effect / sd = 2: the exact sign-flip needs its 6 units to reach 0.05 at all, and has
    # power 0.8 by then (every sign positive has probability 0.977^6)
    assert units_needed_for(res, 0.05) == 6
    one = paired_units([0.4])
    assert one.p_value == 1.0 and np.isnan(one.ci_low) and units_needed_for(one, 0.05) is None
    two = unpaired_units([1.0, 2.0], [0.0, 0.5])
    # 6 ways to split 4 seeds in two groups of 2; |difference| 1.25 reached by 2 of them
    assert two.estimate == pytest.approx(1.25) and two.p_value == pytest.approx(2 / 6)
    assert two.method == "permutation over seeds (exact)"


def test_ties_are_scale_free_and_no_interval_is_narrower_than_the_data():
    d = np.array([1.0, 2.0, 3.0, -1.0, 5.0, 4.0])
    # (1, 2, 3, -1, 5, 4) sums to 14; flipping a subset of sum x gives 14 - 2x, so |sum| >= 14
    # for x in {0, -1} (none; the -1; the -1 and the 1) and their complements: 6 of 64 patterns.
    # The same p at every scale, 1e-13 included.
    ps = {scale: paired_signflip(d * scale).p_value for scale in (1e-13, 1e-6, 1.0, 1e6)}
    assert len(set(ps.values())) == 1 and ps[1.0] == pytest.approx(6 / 64)
    # identical differences: an exact p, but no zero-width interval
    same = paired_units([0.1, 0.1, 0.1])
    assert same.p_value == pytest.approx(0.25) and np.isnan(same.ci_low) and same.sd == 0
    assert all(np.isnan(t_interval([0.3] * 4)[1:]))


def test_a_seed_that_ran_each_level_at_other_configurations_is_named():
    rng = np.random.default_rng(6)
    df = study(rng, 6)
    odd = (df["seed"] == 2) & (
        ((df["level"] == "easy") & (df["method"] == "wanda"))
        | ((df["level"] == "hard") & (df["method"] == "magnitude"))
    )
    c = level_comparison(df[~((df["seed"] == 2) & ~odd)], EASY, HARD)
    assert c.test.n_units == 5 and c.pairing == "paired"
    assert {"seed": 2, "why": "ran no configuration on both sides"} in c.design.left_out
