"""The paper's section 5 as tests over seeds: hand-computed oracles."""

from __future__ import annotations

import pandas as pd
import pytest

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


def test_a_seed_missing_a_run_is_left_out_rather_than_shifting_its_mean():
    df = normalized_table({"sparse-to-dense": 0.9, "sparse": 0.9}, sparsities=(0.2, 0.5))
    # the same curve under both regimes, but seeds 1-3 lack their sparse run at 0.5 (where the
    # curve would be lower): averaging what is left would invent a difference
    df.loc[df["regime"].eq("sparse") & df["sparsity"].eq(0.2), "normalized"] = 0.95
    df.loc[df["regime"].eq("sparse-to-dense") & df["sparsity"].eq(0.2), "normalized"] = 0.95
    gone = df["regime"].eq("sparse") & df["sparsity"].eq(0.5) & df["seed"].isin([1, 2, 3])
    t = regime_tests(df[~gone]).set_index("comparison")
    row = t.loc["sparse-to-dense - sparse (normalized score)"]
    assert row["n_units"] == 3 and row["estimate"] == pytest.approx(0.0)
