"""The paper's section 5 as tests over seeds: hand-computed oracles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student

from junkdna.analysis.regimes import regime_tests


def normalized_table(values: dict[str, float], seeds=range(1, 7), sparsities=(0.2, 0.4)):
    rows = [
        {
            "model": "m",
            "difficulty": "human_model_gap",
            "task": "csqa",
            "level": "none",
            "method": "magnitude",
            "structure": "unstructured",
            "scope": "global",
            "regime": regime,
            "seed": seed,
            "sparsity": s,
            "normalized": value,
        }  # fmt: skip
        for regime, value in values.items()
        for seed in seeds
        for s in sparsities
    ]
    return pd.DataFrame(rows)


def test_regime_comparisons_and_the_recovery_ratio_by_hand():
    t = regime_tests(normalized_table({"frozen": 0.95, "sparse-to-dense": 0.85, "sparse": 0.8}))
    rows = t.set_index("comparison")
    frozen = rows.loc["frozen - sparse-to-dense (normalized score)"]
    assert frozen["estimate"] == pytest.approx(0.10) and frozen["n_units"] == 6
    assert frozen["p_value"] == pytest.approx(2 / 64)  # every seed the same sign
    regrow = rows.loc["sparse-to-dense - sparse (normalized score)"]
    assert regrow["estimate"] == pytest.approx(0.05)
    # (0.85 - 0.8) / (1 - 0.8): regrowing recovers a quarter of what pruning removed
    recovery = rows.loc["recovery (sparse-to-dense - sparse) / (dense - sparse)"]
    assert recovery["estimate"] == pytest.approx(0.25)
    assert all(v.startswith("Exploratory (m, csqa, none, magnitude") for v in t["verdict"])


def test_two_seeds_say_they_cannot_reach_significance_and_missing_regimes_are_skipped():
    t = regime_tests(normalized_table({"sparse-to-dense": 0.9, "sparse": 0.8}, seeds=(1, 2)))
    assert set(t["comparison"]) == {
        "sparse-to-dense - sparse (normalized score)",
        "recovery (sparse-to-dense - sparse) / (dense - sparse)",
    }
    row = t[t["comparison"].str.startswith("sparse-to-dense")].iloc[0]
    assert "cannot reach p < 0.05 with 2 seed(s)" in row["verdict"]
    assert regime_tests(normalized_table({"sparse": 0.8})).empty


def test_a_missing_run_neither_shifts_a_mean_nor_drops_seeds():
    df = normalized_table({"sparse-to-dense": 0.9, "sparse": 0.9}, sparsities=(0.2, 0.5))
    # the same curve under both regimes, but seeds 1-3 lack their sparse run at 0.5 (where the
    # curve would be lower): averaging each regime over what is left would invent a difference
    df.loc[df["regime"].eq("sparse") & df["sparsity"].eq(0.2), "normalized"] = 0.95
    df.loc[df["regime"].eq("sparse-to-dense") & df["sparsity"].eq(0.2), "normalized"] = 0.95
    gone = df["regime"].eq("sparse") & df["sparsity"].eq(0.5) & df["seed"].isin([1, 2, 3])
    t = regime_tests(df[~gone]).set_index("comparison")
    row = t.loc["sparse-to-dense - sparse (normalized score)"]
    # 0.5 is run under both regimes by 3 of 6 seeds, no majority: it is left out, not the seeds
    assert row["n_units"] == 6 and row["estimate"] == pytest.approx(0.0)
    assert row["left_out"] == [
        {"configuration": "sparsity 0.5", "why": "run on both sides by 3 of 6 seeds"}
    ]
    assert "left out sparsity 0.5 (run on both sides by 3 of 6 seeds)" in row["verdict"]


def test_one_failed_run_keeps_its_seed_over_the_runs_it_has():
    df = normalized_table({"sparse-to-dense": 0.9, "sparse": 0.8}, sparsities=(0.2, 0.4, 0.6))
    df.loc[df["regime"].eq("sparse") & df["seed"].eq(4) & df["sparsity"].eq(0.6), "normalized"] = (
        0.5
    )
    failed = df["regime"].eq("sparse-to-dense") & df["seed"].eq(4) & df["sparsity"].eq(0.6)
    row = (
        regime_tests(df[~failed])
        .set_index("comparison")
        .loc["sparse-to-dense - sparse (normalized score)"]
    )
    # seed 4 compares 0.2 and 0.4 only (its 0.6 lacks a partner), so its odd sparse run at 0.6
    # cannot enter: every seed's d = 0.1
    assert row["n_units"] == 6 and row["estimate"] == pytest.approx(0.1)
    assert row["left_out"] == [{"seed": 4, "lacks": ["sparsity 0.6"], "over": 2}]
    assert "seed 4 over 2 of 3 configurations (no sparsity 0.6 on both sides)" in row["verdict"]


def _recovery(lost: list[float], recovered: list[float]) -> pd.Series:
    rows = []
    for seed, (loss, back) in enumerate(zip(lost, recovered, strict=True), start=1):
        for regime, value in (("sparse", 1 - loss), ("sparse-to-dense", 1 - loss + back)):
            rows.append({"model": "m", "difficulty": "human_model_gap", "task": "csqa",
                         "level": "none", "method": "magnitude", "structure": "unstructured",
                         "scope": "global", "regime": regime, "seed": seed, "sparsity": 0.5,
                         "normalized": value})  # fmt: skip
    t = regime_tests(pd.DataFrame(rows)).set_index("comparison")
    return t.loc["recovery (sparse-to-dense - sparse) / (dense - sparse)"]


def test_the_recovery_ratio_is_a_ratio_of_means_over_every_seed():
    # Five seeds recover half of a 0.2 loss; one lost only 0.002 and recovered 0.01. The mean of
    # per-seed ratios says 1.25 (that seed's ratio is 5); the ratio of means (0.51 / 1.002) 0.509.
    lost, back = [0.2] * 5 + [0.002], [0.1] * 5 + [0.01]
    row = _recovery(lost, back)
    assert row["estimate"] == pytest.approx(0.51 / 1.002) and row["n_units"] == 6
    assert row["ci_low"] < row["estimate"] < row["ci_high"] < 1
    # Fieller's bounds are the ratios r where the t statistic of mean(back - r lost) is exactly
    # the 97.5% t quantile (5 df).
    a, b = np.array(back), np.array(lost)
    for r in (row["ci_low"], row["ci_high"]):
        x = a - r * b
        assert abs(x.mean()) / (x.std(ddof=1) / np.sqrt(6)) == pytest.approx(student.ppf(0.975, 5))
    # A seed that lost nothing still counts (no selection by outcome).
    row = _recovery([0.2, 0.2, 0.0, 0.2], [0.1, 0.12, 0.0, 0.08])
    assert row["n_units"] == 4 and row["estimate"] == pytest.approx(0.3 / 0.6)


def test_a_loss_not_clearly_above_zero_gives_no_bounded_interval():
    row = _recovery([0.05, -0.04, 0.01], [0.02, 0.0, 0.01])
    assert np.isnan(row["ci_low"]) and "interval is unbounded" in row["verdict"]
    row = _recovery([-0.01, 0.0], [0.0, 0.0])  # no loss on average: no ratio
    assert np.isnan(row["estimate"]) and "no loss to recover" in row["verdict"]


def test_a_sparsity_added_for_one_seed_costs_no_seed():
    """Section 5 once went from 6 seeds and p = 2/64 to 1 seed and p = 1 on such a point."""
    df = normalized_table({"frozen": 0.95, "sparse-to-dense": 0.85})
    extra = df[(df["seed"] == 1) & (df["sparsity"] == 0.4)].assign(sparsity=0.8, normalized=0.1)
    row = regime_tests(pd.concat([df, extra], ignore_index=True)).iloc[0]
    assert row["comparison"] == "frozen - sparse-to-dense (normalized score)"
    assert row["n_units"] == 6 and row["p_value"] == pytest.approx(2 / 64)
    assert row["estimate"] == pytest.approx(0.10)
    assert row["left_out"] == [
        {"configuration": "sparsity 0.8", "why": "run on both sides by 1 of 6 seeds"}
    ]
