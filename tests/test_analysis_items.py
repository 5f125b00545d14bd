"""Item outcomes (the unit of an evaluation-only setting): per-item oracles, the store keeps them
with the run, and the bootstrap over items holds its size, coverage and power on simulated
studies of known answer (the 1,000-study figures: benchmarks/sim_units.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from junkdna.analysis.items import NoItems, interaction_test
from junkdna.analysis.pipeline import analyze
from junkdna.analysis.synthetic import synthetic_items
from junkdna.errors import JunkDNAError
from junkdna.study.store import Store
from junkdna.tasks.metrics import (
    ItemOutcomes,
    compute,
    item_keys,
    item_outcomes,
    items_from_frame,
    items_to_frame,
)


# ----------------------------------------------------------------------------- per-item oracles
def test_item_outcomes_are_the_per_item_form_of_the_metric():
    acc = item_outcomes("accuracy", [1, 0, 2, 2], [1, 1, 2, 0])
    assert acc.metric == "accuracy" and acc.values.tolist() == [1, 0, 1, 0]
    # Matthews is not a mean over items: its items are the accuracy's, said by the name.
    mcc = item_outcomes("matthews", [1, 0, 1], [1, 1, 1])
    assert mcc.metric == "accuracy" and mcc.values.tolist() == [1, 0, 1]
    # Choice scoring: the summed log-likelihood choice (first column) is the primary.
    preds = np.array([[2, 1], [0, 0], [3, 1]])
    choice = item_outcomes("choice_accuracy", preds, [2, 1, 1])
    assert choice.values.tolist() == [1, 0, 0]
    assert choice.values.mean() == compute("choice_accuracy", preds, [2, 1, 1])["accuracy"]
    qa = item_outcomes("squad", ["The Eiffel Tower", "paris", "x"], [["Eiffel Tower"], "Rome", "x"])
    assert qa.metric == "exact_match" and qa.values.tolist() == [1, 0, 1]
    trivia = item_outcomes("qa_containment", ["it was 1990.", "1990"], ["1990", "199"])
    assert trivia.values.tolist() == [1, 0]
    assert item_outcomes("pearson_spearman", [0.1, 0.2], [0.3, 0.1]) is None


def test_item_keys_pair_the_same_questions_and_nothing_else():
    a, b = item_keys([2, 0, 1]), item_keys([2, 0, 1])
    assert a.dtype == np.uint64 and np.array_equal(a, b)
    assert len(set(a.tolist())) == 3
    assert item_keys([2, 0, 3])[2] != a[2]  # another gold label: another item
    assert item_keys([0, 2, 1])[0] != a[0]  # another position: another item


def test_items_round_trip_through_bytes_and_the_exported_table():
    big = np.array([2**64 - 1, 2**63 + 5, 7], dtype=np.uint64)  # beyond int64 and float53
    items = {"r1": ItemOutcomes("accuracy", big, np.array([1, 0, 1], np.float32)),
             "r0": ItemOutcomes("chrf_sentence", big[:2], np.array([55.5, 0.25], np.float32))}  # fmt: skip
    back = ItemOutcomes.from_bytes("accuracy", *items["r1"].to_bytes())
    assert np.array_equal(back.keys, big) and back.values.tolist() == [1, 0, 1]
    frame = items_to_frame(items)
    assert list(frame.columns) == ["run_id", "item", "key", "metric", "outcome"]
    again = items_from_frame(pd.read_csv(_csv(frame), dtype={"key": str}))
    for run_id, res in items.items():
        assert np.array_equal(again[run_id].keys, res.keys)
        assert np.allclose(again[run_id].values, res.values)
        assert again[run_id].metric == res.metric
    with pytest.raises(JunkDNAError, match="lacks column"):
        items_from_frame(frame.drop(columns="key"))


def _csv(frame):
    import io

    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    buf.seek(0)
    return buf


# ----------------------------------------------------------------------------- the store
def _row(status="done", **kw):
    return {"status": status, "config": {"x": 1}, "meta": {}, "metrics": {"accuracy": 0.5}, **kw}


def test_the_store_keeps_a_runs_items_with_it_and_adds_the_table_to_older_databases(tmp_path):
    s = Store(tmp_path / "s.db")
    items = ItemOutcomes("accuracy", item_keys([0, 1, 2]), np.array([1, 0, 1], np.float32))
    s.claim(["a", "b"], 2)
    assert s.record("a", _row(items=items))
    assert s.record("b", _row("failed", error="boom", items=items))  # a failure keeps none
    got = s.items()
    assert list(got) == ["a"] and got["a"].values.tolist() == [1, 0, 1]
    assert np.array_equal(got["a"].keys, items.keys)
    assert s.items(["b"]) == {}
    s.close()
    # A database written before item outcomes existed: the table is added on open, runs kept.
    db = __import__("sqlite3").connect(tmp_path / "s.db")
    db.execute("DROP TABLE items")
    db.commit()
    db.close()
    again = Store(tmp_path / "s.db")
    assert again.items() == {} and [r["run_id"] for r in again.rows()] == ["a", "b"]


# ----------------------------------------------------------------------------- the test
def test_the_statistic_is_the_difference_of_normalized_scores_hand_computed():
    keys = item_keys([0, 1, 2, 3])
    easy = (keys, np.array([1, 1, 1, 0.0]), np.array([[1, 1, 0, 0.0], [1, 1, 1, 0.0]]))
    hard = (keys, np.array([1, 1, 0, 0.0]), np.array([[1, 0, 0, 0.0], [0, 0, 0, 1.0]]))
    res, how = interaction_test(easy, hard, n_boot=200)
    # easy: (2/3 + 3/3) / 2 = 5/6; hard: (1/2 + 1/2) / 2 = 1/2
    assert how == "paired" and res.unit == "item" and res.n_units == 4
    assert res.estimate == pytest.approx(5 / 6 - 1 / 2)
    assert res.min_p == pytest.approx(1 / (1 + 200), abs=0.01)
    other = (item_keys([9, 9, 9, 9]), *hard[1:])
    res, how = interaction_test(easy, other, n_boot=200)
    assert how == "unpaired" and res.n_units == 8
    with pytest.raises(NoItems, match="scores 0"):
        interaction_test(easy, (keys, np.zeros(4), hard[2]))


def _simulated(rng, effect, n_items=100, acc=(0.8, 0.4), guess=0.1, sparsities=(0.3, 0.5)):
    """Two levels scoring the same items (a shared latent), pruned at ``sparsities``; the hard
    level loses ``effect`` x sparsity more of its normalized score than the easy one."""
    keys = item_keys(list(range(n_items)))
    u = rng.random(n_items)
    levels = []
    for p, extra in zip(acc, (0.0, effect), strict=True):
        latent = np.where(rng.random(n_items) < 0.5, u, rng.random(n_items))
        dense = (latent < p).astype(float)
        pruned = []
        for s in sparsities:
            keep = 1 - 0.3 * s - extra * s
            a = (keep * p - (1 - p) * guess) / p
            hit = rng.random(n_items)
            pruned.append(np.where(dense > 0, hit < a, hit < guess).astype(float))
        levels.append((keys, dense, np.array(pruned)))
    return levels, effect * np.mean(sparsities)


def _calibration(rng, effect: float, n: int, n_items: int = 100):
    """(rejections, covered, estimates, half-widths, interval-p agreements) over n studies."""
    rejected = covered = agree = 0
    estimates, halves = [], []
    for k in range(n):
        (easy, hard), truth = _simulated(rng, effect, n_items=n_items)
        res, _ = interaction_test(easy, hard, n_boot=400, seed=k)
        rejected += res.p_value < 0.05
        covered += res.ci_low <= truth <= res.ci_high
        agree += (res.p_value < 0.05) == (res.ci_low > 0 or res.ci_high < 0)
        estimates.append(res.estimate - truth)
        halves.append((res.ci_high - res.ci_low) / 2)
    return rejected / n, covered / n, np.array(estimates), np.array(halves), agree


def test_the_bootstrap_over_items_holds_its_size_and_coverage_on_and_off_the_null():
    """1,000 null studies and 600 with a true effect (T = 0.24). Each bound is about three Monte
    Carlo standard errors from the figure benchmarks/sim_units.py measures on fresh studies, on
    both sides: a test that never rejects, or an interval too wide, fails too."""
    rng = np.random.default_rng(0)
    for effect, n in ((0.0, 1000), (0.6, 600)):
        rate, cover, errors, halves, agree = _calibration(rng, effect, n)
        assert agree == n  # the interval excludes 0 exactly when p < 0.05, in every study
        assert 0.93 <= cover <= 0.97, (effect, cover)
        # the interval is as wide as the estimate's spread over studies says (1.96 sd), not wider
        assert 0.85 <= halves.mean() / (1.96 * errors.std()) <= 1.15, (effect, halves.mean())
        assert abs(errors.mean()) < 0.1 * errors.std()  # no bias worth the name
        if effect == 0:
            assert 0.02 <= rate <= 0.07, rate
    power = 0
    for k in range(100):
        (easy, hard), _ = _simulated(rng, 0.6, n_items=200)
        res, _ = interaction_test(easy, hard, n_boot=400, seed=k)
        power += res.p_value < 0.05 and res.estimate > 0
    assert power / 100 >= 0.8, power / 100


def test_interval_and_p_are_one_decision_at_the_edge():
    """Studies whose p lands next to 0.05 (the defect: T = 0.164, CI [0.001, 0.328], p = 0.051):
    the interval is the p-value's inversion, so it excludes 0 exactly when p < 0.05."""
    rng = np.random.default_rng(5)
    near = 0
    for k in range(400):
        (easy, hard), _ = _simulated(rng, 0.25, n_items=80)
        for n_boot in (199, 400, 999):
            res, _ = interaction_test(easy, hard, n_boot=n_boot, seed=k)
            near += 0.03 < res.p_value < 0.08
            assert (res.p_value < 0.05) == (res.ci_low > 0 or res.ci_high < 0), (k, n_boot, res)
    assert near >= 20  # the edge was reached often enough to mean something


# ----------------------------------------------------------------------------- the analysis
def test_an_evaluation_only_setting_is_tested_over_items_and_says_why_not_without_them():
    keep = {"open-book": lambda s: 1 - 0.2 * s, "closed-book": lambda s: 1 - 0.8 * s}
    df, items = synthetic_items(keep, dense_accuracy={"open-book": 0.8, "closed-book": 0.4},
                                n_items=150, methods=("magnitude", "wanda"))  # fmt: skip
    row = analyze(df, items=items, n_boot=500).tests.iloc[0]
    assert row["primary"] and row["unit"] == "item" and row["n_units"] == 150
    assert row["mean_diff"] == pytest.approx(0.24, abs=0.08)  # (0.8 - 0.2) x mean(0.3, 0.5)
    assert row["ci_low"] > 0 and row["p_value"] < 0.01
    assert "Supported" in row["verdict"] and "150 item(s)" in row["verdict"]
    bare = analyze(df).tests.iloc[0]
    assert np.isnan(bare["p_value"]) and "recorded no item outcomes" in bare["verdict"]
    # The dense runs' items are missing: not testable, and the verdict says which runs.
    dense_ids = set(df.loc[df["sparsity"] == 0, "run_id"])
    partial = {k: v for k, v in items.items() if k not in dense_ids}
    row = analyze(df, items=partial).tests.iloc[0]
    assert "at level 'open-book', 1 dense run(s) recorded no item outcomes" in row["verdict"]


def test_report_reads_a_results_table_with_its_items_table(tmp_path, capsys):
    import json

    from junkdna.cli import main

    keep = {"open-book": lambda s: 1 - 0.2 * s, "closed-book": lambda s: 1 - 0.8 * s}
    df, items = synthetic_items(keep, dense_accuracy={"open-book": 0.8, "closed-book": 0.4},
                                n_items=120)  # fmt: skip
    df.to_csv(tmp_path / "results.csv", index=False)
    items_to_frame(items).to_parquet(tmp_path / "items.parquet", index=False)
    args = ["report", str(tmp_path / "results.csv"), "--json", str(tmp_path / "a.json")]
    assert main([*args, "--items", str(tmp_path / "items.parquet")]) == 0
    test = json.loads((tmp_path / "a.json").read_text())["tests"][0]
    assert (test["unit"], test["n_units"], test["primary"]) == ("item", 120, True)
    assert test["p"] < 0.05 and test["ci"][0] > 0
    assert "Supported" in capsys.readouterr().out
    assert main(args) == 0  # without the items: not testable, and it says why
    assert "recorded no item outcomes" in capsys.readouterr().out
    assert main([*args, "--items", str(tmp_path / "missing.csv")]) == 2
    assert "items table" in capsys.readouterr().err
