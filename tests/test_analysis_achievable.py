"""Achievable sparsity and AUC on synthetic curves with known answers."""

import numpy as np
import pandas as pd
import pytest

from junkdna.analysis.achievable import achievable_from_curves, achievable_sparsity, normalized_auc
from junkdna.analysis.normalize import normalize
from junkdna.analysis.synthetic import synthetic_results
from junkdna.errors import JunkDNAError

S = np.array([0.1, 0.2, 0.3, 0.4, 0.5])


@pytest.mark.parametrize(
    ("curve", "prefix", "last"),
    [
        ([1.0, 1.0, 0.995, 0.9, 0.8], 0.3, 0.3),  # monotone drop after 0.3
        ([1.0, 0.95, 1.0, 1.0, 0.5], 0.1, 0.4),  # dip at 0.2, recovers: prefix stops at the dip
        ([1.01, 1.0, 1.02, 0.999, 1.0], 0.5, 0.5),  # never drops: the whole grid
        ([0.9, 1.0, 1.0, 1.0, 1.0], 0.0, 0.5),  # first point already fails: only dense
        ([0.99, 0.99, 0.98, 1.0, 1.0], 0.2, 0.5),  # exactly 1 - epsilon passes
    ],
)
def test_known_answers(curve, prefix, last):
    assert achievable_from_curves(S, [curve], 0.01, "prefix")[0] == pytest.approx(prefix)
    assert achievable_from_curves(S, [curve], 0.01, "last")[0] == pytest.approx(last)


def test_untested_points_are_skipped_and_epsilon_scales():
    curve = [1.0, np.nan, 0.97, 0.9, 0.8]  # 0.2 untested (failed run)
    assert achievable_from_curves(S, [curve], 0.01)[0] == pytest.approx(0.1)
    assert achievable_from_curves(S, [curve], 0.05)[0] == pytest.approx(0.3)
    assert achievable_from_curves(S, [curve], 0.2)[0] == pytest.approx(0.5)
    # many replicates at once: one value per row
    rows = achievable_from_curves(S, [curve, [1.0] * 5], 0.01)
    assert rows.tolist() == pytest.approx([0.1, 0.5])


def test_bad_arguments():
    with pytest.raises(JunkDNAError, match="increasing"):
        achievable_from_curves([0.2, 0.1], [[1.0, 1.0]])
    with pytest.raises(JunkDNAError, match="epsilon"):
        achievable_from_curves(S, [[1.0] * 5], epsilon=1.5)
    with pytest.raises(JunkDNAError, match="Did you mean 'prefix'"):
        achievable_from_curves(S, [[1.0] * 5], rule="prefx")


def test_auc_hand_values():
    # (0, 1) -> (0.5, 0.8): trapezoid 0.45, divided by the range 0.5
    assert normalized_auc([0.5], [[0.8]])[0] == pytest.approx(0.9)
    # flat at 1 -> 1; linear drop 1 -> 0 over [0, 1) grid ending at 0.5 with value 0.5 -> 0.75
    assert normalized_auc(S, [[1.0] * 5])[0] == pytest.approx(1.0)
    assert normalized_auc(S, [1 - S])[0] == pytest.approx(0.75)
    # an untested point leaves the curve without an AUC (it would cover a different range)
    assert np.isnan(normalized_auc(S, [[0.9, 0.8, 0.7, 0.6, np.nan]])[0])
    assert np.isnan(normalized_auc([0.0], [[1.0]])[0])  # no sparse point at all


def _seeded_table(per_seed: dict[int, list[float]], sparsities=(0.1, 0.2, 0.3)):
    """A one-curve results table with the given normalized values per seed (dense score 1)."""
    rows = []
    for seed, values in per_seed.items():
        base = {"model": "m", "task": "t", "difficulty": "none", "level": "none", "seed": seed}
        base |= {"metric": "acc", "status": "done", "scope": "global"}
        rows.append(
            base
            | {"run_id": f"d{seed}", "method": "none", "structure": "unstructured"}
            | {"sparsity": 0.0, "regime": "dense", "score": 1.0}
        )
        for s, v in zip(sparsities, values, strict=True):
            rows.append(
                base
                | {"run_id": f"{seed}-{s}", "method": "magnitude", "structure": "unstructured"}
                | {"sparsity": s, "regime": "sparse", "score": v}
            )
    return normalize(pd.DataFrame(rows))


def test_interval_from_bootstrapping_seeds():
    # Seeds 1-4 never drop; seed 5 drops to 0.94 at 0.3, pulling the mean to 0.988 < 0.99.
    # Point estimate 0.2. A resample without seed 5 (probability (4/5)^5 = 0.33) reaches 0.3; one
    # with it stays at 0.2; so the 95% interval is exactly [0.2, 0.3].
    flat = [1.0, 1.0, 1.0]
    norm = _seeded_table({1: flat, 2: flat, 3: flat, 4: flat, 5: [1.0, 1.0, 0.94]})
    out = achievable_sparsity(norm, n_boot=2000, seed=1).iloc[0]
    assert out["achievable"] == pytest.approx(0.2)
    assert (out["achievable_low"], out["achievable_high"]) == pytest.approx((0.2, 0.3))
    assert out["n_seeds"] == 5 and not out["few_seeds"] and not out["never_drops"]
    assert out["sparsities"] == "0.1,0.2,0.3"


def test_few_seeds_get_no_bootstrap_interval_and_the_auc_a_t_interval():
    # Three seeds: a percentile bootstrap over 3 values does not cover, so none is given.
    norm = _seeded_table({1: [1.0, 1.0, 1.0], 2: [1.0, 1.0, 0.9], 3: [1.0, 0.8, 0.8]})
    out = achievable_sparsity(norm).iloc[0]
    assert out["few_seeds"] and np.isnan(out["achievable_low"]) and np.isnan(out["achievable_high"])
    # The seeds' own areas (trapezoid from (0, 1), divided by 0.3), then Student-t over 3 seeds.
    areas = np.array([1.0, (0.1 + 0.1 + 0.095) / 0.3, (0.1 + 0.09 + 0.08) / 0.3])
    half = 4.302652729911275 * areas.std(ddof=1) / np.sqrt(3)
    assert out["auc"] == pytest.approx(areas.mean())
    assert (out["auc_low"], out["auc_high"]) == pytest.approx((areas.mean() - half,
                                                               areas.mean() + half))  # fmt: skip


def test_single_seed_collapses_and_never_dropping_task_is_a_lower_bound():
    norm = _seeded_table({7: [1.0, 0.999, 1.0]})
    out = achievable_sparsity(norm).iloc[0]
    assert out["single_seed"] and out["achievable"] == 0.3
    assert np.isnan(out["achievable_low"]) and np.isnan(out["auc_low"])  # no interval from one
    assert out["never_drops"]
    assert out["auc"] == pytest.approx((0.1 * 1.0 + 0.1 * 0.9995 + 0.1 * 0.9995) / 0.3)


def test_one_row_per_curve_with_synthetic_study():
    curves = {("easy", "x"): lambda s: 1.0, ("hard", "x"): lambda s: 1.0 if s < 0.25 else 0.7}
    df = synthetic_results(curves, sparsities=[0.1, 0.2, 0.3, 0.4], regimes=("sparse", "frozen"))
    out = achievable_sparsity(normalize(df)).set_index(["task", "regime"])
    assert len(out) == 4
    assert out.loc[("easy", "frozen"), "achievable"] == pytest.approx(0.4)
    assert out.loc[("hard", "sparse"), "achievable"] == pytest.approx(0.2)
    assert out.loc[("easy", "sparse"), "never_drops"]
    assert not out.loc[("hard", "sparse"), "never_drops"]
