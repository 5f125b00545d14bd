"""Normalization against hand-computed values, the reference-matching rule, and bootstrap CIs."""

import numpy as np
import pandas as pd
import pytest

from junkdna.analysis.normalize import (
    bootstrap_mean_ci,
    match_references,
    normalize,
    summarize,
    validate_results,
)
from junkdna.errors import JunkDNAError


def row(run_id, *, sparsity, score, regime="sparse", seed=1, task="sst2", level="1.0", **kw):
    base = {
        "run_id": run_id,
        "model": "m",
        "task": task,
        "difficulty": "data_adequacy",
        "level": level,
        "method": "magnitude" if sparsity else "none",
        "structure": "unstructured",
        "scope": None,
        "sparsity": sparsity,
        "regime": regime,
        "seed": seed,
        "metric": "accuracy",
        "score": score,
        "status": "done",
    }
    return base | kw


def table(*rows):
    return pd.DataFrame(list(rows))


def test_normalized_is_sparse_over_dense_of_the_same_seed_and_level():
    df = table(
        row("d1", sparsity=0.0, score=0.8, regime="dense", seed=1),
        row("d2", sparsity=0.0, score=0.5, regime="dense", seed=2),
        row("d3", sparsity=0.0, score=0.4, regime="dense", seed=1, level="0.1"),
        row("s1", sparsity=0.5, score=0.6, seed=1),
        row("s2", sparsity=0.5, score=0.45, seed=2),
        row("s3", sparsity=0.5, score=0.1, seed=1, level="0.1"),
        row("f1", sparsity=0.5, score=0.72, seed=1, regime="frozen"),
    )
    out = normalize(df).set_index("run_id")
    assert out.loc["s1", "normalized"] == pytest.approx(0.75)
    assert out.loc["s2", "normalized"] == pytest.approx(0.9)
    assert out.loc["s3", "normalized"] == pytest.approx(0.25)
    assert out.loc["f1", "normalized"] == pytest.approx(0.9)  # frozen uses the dense reference
    assert out.loc["s2", "dense_run_id"] == "d2"
    assert set(out.index) == {"s1", "s2", "s3", "f1"}  # references are not normalized rows


def test_no_finetuning_runs_use_the_unpruned_none_regime_reference():
    df = table(
        row("d", sparsity=0.0, score=0.5, regime="none"),
        row("dense-ft", sparsity=0.0, score=0.9, regime="dense"),
        row("s", sparsity=0.3, score=0.4, regime="none", method="wanda"),
    )
    out = normalize(df)
    assert out["dense_run_id"].tolist() == ["d"]
    assert out["normalized"].tolist() == pytest.approx([0.8])


def test_recipe_is_part_of_the_match_and_dicts_compare_canonically():
    r1, r2 = {"lr": 2e-5, "epochs": 3}, {"epochs": 3, "lr": 5e-5}
    df = table(
        row("d1", sparsity=0.0, score=0.8, regime="dense", recipe=r1),
        row("d2", sparsity=0.0, score=0.4, regime="dense", recipe=r2),
        row("s1", sparsity=0.5, score=0.4, recipe={"epochs": 3, "lr": 2e-5}),  # same as r1
    )
    out = normalize(df)
    assert out["dense_run_id"].tolist() == ["d1"]
    assert out["normalized"].tolist() == pytest.approx([0.5])


def test_missing_reference_is_a_clear_error_and_an_unmatched_row():
    df = table(
        row("d1", sparsity=0.0, score=0.8, regime="dense", seed=1),
        row("d2", sparsity=0.0, score=0.8, regime="dense", seed=2, status="failed"),
        row("s2", sparsity=0.5, score=0.6, seed=2),
    )
    with pytest.raises(JunkDNAError, match=r"run s2: no dense reference.*seed=2"):
        normalize(df)
    ok, unmatched = match_references(df)
    assert ok.empty
    assert unmatched["run_id"].tolist() == ["s2"]
    assert "regime 'dense'" in unmatched["reason"].iloc[0]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (row("d1b", sparsity=0.0, score=0.7, regime="dense"), "several dense references"),
        (None, None),
    ],
)
def test_duplicate_reference_is_refused(extra, message):
    rows = [row("d1", sparsity=0.0, score=0.8, regime="dense"), row("s", sparsity=0.5, score=0.4)]
    df = table(*rows, *([extra] if extra else []))
    if message:
        with pytest.raises(JunkDNAError, match=message):
            normalize(df)
    else:
        assert normalize(df)["normalized"].tolist() == pytest.approx([0.5])


def test_metric_mismatch_and_nonpositive_dense_are_refused():
    df = table(
        row("d1", sparsity=0.0, score=0.8, regime="dense"),
        row("s1", sparsity=0.5, score=0.4, metric="f1"),
        row("d2", sparsity=0.0, score=0.0, regime="dense", task="cola"),
        row("s2", sparsity=0.5, score=0.1, task="cola"),
    )
    _, unmatched = match_references(df)
    reasons = dict(zip(unmatched["run_id"], unmatched["reason"], strict=True))
    assert "metric 'f1' differs" in reasons["s1"]
    assert "positive dense score" in reasons["s2"]


def test_validation_names_the_problem():
    good = table(row("d", sparsity=0.0, score=0.8, regime="dense"))
    with pytest.raises(JunkDNAError, match="lacks column.*score"):
        validate_results(good.drop(columns="score"))
    with pytest.raises(JunkDNAError, match="Did you mean 'sparse-to-dense'"):
        validate_results(good.assign(regime="sparse_to_dense"))
    with pytest.raises(JunkDNAError, match="unknown run status 'running'"):
        validate_results(good.assign(status="running"))
    with pytest.raises(JunkDNAError, match="outside"):
        validate_results(good.assign(sparsity=1.5))
    with pytest.raises(JunkDNAError, match="not finite"):
        validate_results(good.assign(score=np.nan))
    # a failed run may lack a score; None scope becomes the "none" group
    clean = validate_results(good.assign(status="failed", score=np.nan))
    assert clean["scope"].tolist() == ["none"]


def test_bootstrap_interval_hand_values():
    # One seed: the interval collapses to the value.
    assert bootstrap_mean_ci([0.7]) == (0.7, 0.7, 0.7)
    # Identical seeds: every resample has the same mean.
    assert bootstrap_mean_ci([0.9, 0.9, 0.9]) == pytest.approx((0.9, 0.9, 0.9))
    # Two seeds a < b: resampled means are a, (a+b)/2, b with probability 1/4, 1/2, 1/4, so the
    # 2.5th and 97.5th percentiles are exactly a and b.
    mean, lo, hi = bootstrap_mean_ci([0.8, 1.0], n_boot=4000, rng=np.random.default_rng(3))
    assert (mean, lo, hi) == pytest.approx((0.9, 0.8, 1.0))
    # 50% interval of the same distribution: quartiles fall on the middle atom.
    _, lo50, hi50 = bootstrap_mean_ci([0.8, 1.0], confidence=0.4, n_boot=4000)
    assert (lo50, hi50) == pytest.approx((0.9, 0.9))


def test_bootstrap_is_seeded_and_rejects_bad_input():
    x = [0.61, 0.7, 0.93, 0.88]
    a = bootstrap_mean_ci(x, rng=np.random.default_rng(5))
    b = bootstrap_mean_ci(x, rng=np.random.default_rng(5))
    assert a == b
    assert min(x) <= a[1] <= a[0] <= a[2] <= max(x)
    with pytest.raises(JunkDNAError):
        bootstrap_mean_ci([])
    with pytest.raises(JunkDNAError):
        bootstrap_mean_ci(x, confidence=95)


def test_summarize_groups_by_curve_and_flags_single_seed():
    rows = [row(f"d{s}", sparsity=0.0, score=1.0, regime="dense", seed=s) for s in (1, 2)]
    rows += [row("a1", sparsity=0.5, score=0.8, seed=1), row("a2", sparsity=0.5, score=1.0, seed=2)]
    rows += [row("dl", sparsity=0.0, score=0.5, regime="dense", level="0.1")]
    rows += [row("b1", sparsity=0.5, score=0.3, level="0.1")]
    summary = summarize(normalize(table(*rows))).set_index("level")
    # Student-t over 2 seeds (0.8, 1.0): 0.9 +- t(0.975, 1) * 0.1414 / sqrt(2) = 0.9 +- 1.2706
    assert summary.loc["1.0", ["mean", "ci_low", "ci_high"]].tolist() == pytest.approx(
        [0.9, 0.9 - 1.27062, 0.9 + 1.27062], abs=1e-4
    )
    assert summary.loc["1.0", "n_seeds"] == 2 and not summary.loc["1.0", "single_seed"]
    assert summary.loc["1.0", "few_seeds"]
    assert summary.loc["0.1", "single_seed"] and summary.loc["0.1", "mean"] == pytest.approx(0.6)
    assert summary.loc["0.1", ["ci_low", "ci_high"]].isna().all()  # one seed: no interval
    # adding an unrelated task does not move this curve's interval (per-group generators)
    more = [row("dz", sparsity=0.0, score=1.0, regime="dense", task="z")]
    more += [row("z1", sparsity=0.5, score=0.5, task="z")]
    again = summarize(normalize(table(*rows, *more)))
    again = again[again["task"] == "sst2"].set_index("level")
    assert again.loc["1.0", "ci_low"] == summary.loc["1.0", "ci_low"]
