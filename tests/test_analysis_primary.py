"""One primary test per setting, chosen without p-values, Holm-adjusted across settings."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from junkdna.analysis.primary import holm, mark_primary
from junkdna.errors import JunkDNAError


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01, max(0.03, 2 x 0.03), max(0.06, 1 x 0.04)
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = holm([0.02, math.nan, 0.5])  # NaN is no test: m = 2
    assert out[0] == pytest.approx(0.04) and math.isnan(out[1]) and out[2] == pytest.approx(0.5)
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])  # capped at 1


def make_tests(p_values):
    """Two settings; data_adequacy has a 4-curve and a 2-curve test, human_model_gap one."""
    rows = [
        ("data_adequacy", "magnitude", 4, p_values[0]),
        ("data_adequacy", "wanda", 2, p_values[1]),
        ("human_model_gap", "magnitude", 8, p_values[2]),
    ]
    return pd.DataFrame(
        [
            {
                "model": "m",
                "difficulty": d,
                "method": meth,
                "structure": "unstructured",
                "scope": "global",
                "regime": "sparse",
                "target": "achievable",
                "n_curves": n,
                "p_value": p,
                "rho": -0.9,
                "n": 5,
                "test": "exact",
                "alpha": 0.05,
                "min_p": 0.01,
                "ties_y": 0,
                "min_seeds": 3,
                "n_never_drops": 0,
                "n_at_baseline": 0,
                "n_without_measure": 0,
                "measure": "x",
                "n_permutations": 120,
            }  # fmt: skip
            for d, meth, n, p in rows
        ]
    )


def test_the_default_primary_does_not_depend_on_the_p_values():
    for ps in ([0.01, 0.5, 0.02], [0.5, 0.001, 0.02]):
        t = mark_primary(make_tests(ps))
        assert t["primary"].tolist() == [True, False, True]  # most curves per setting
    t = mark_primary(make_tests([0.01, 0.001, 0.04]))
    # Holm over the two primaries (0.01, 0.04): 0.02 and 0.04
    assert t["p_adjusted"].tolist()[0] == pytest.approx(0.02)
    assert math.isnan(t["p_adjusted"][1]) and t["p_adjusted"][2] == pytest.approx(0.04)
    assert t["verdict"][0].startswith("Primary test (Holm-adjusted p = 0.02 across settings)")
    assert t["verdict"][1].startswith("Exploratory. Supported")  # raw p 0.001, not primary


def test_the_adjusted_p_decides_a_primary_verdict():
    t = mark_primary(make_tests([0.03, 0.5, 0.04]))
    # raw 0.03 and 0.04, Holm 0.06 and 0.06: neither is significant after adjustment
    assert "Not significant" in t["verdict"][0] and "Not significant" in t["verdict"][2]


def test_a_declared_primary_wins_and_a_wrong_one_is_an_error():
    t = mark_primary(make_tests([0.01, 0.5, 0.02]), [{"difficulty": "data_adequacy",
                                                       "method": "wanda"}])  # fmt: skip
    assert t["primary"].tolist() == [False, True, True]
    with pytest.raises(JunkDNAError, match="matches none"):
        mark_primary(make_tests([0.01, 0.5, 0.02]), [{"difficulty": "data_adequacy",
                                                       "method": "sparsegpt"}])  # fmt: skip


def test_primaries_are_judged_on_what_they_can_reach_after_the_adjustment():
    """3 settings x 6 seeds: each test alone can reach 2/64 = 0.031, but Holm over 3 primaries
    can reach 3 x 0.031 = 0.094 at best: no primary can pass, and the verdicts say so."""
    t = make_tests([0.031, 0.5, 0.031])
    t = pd.concat([t, t.iloc[[2]].assign(difficulty="external_information")], ignore_index=True)
    t = t.assign(min_p=2 / 64, target="paired normalized", regime="sparse", mean_diff=0.1,
                 ci_low=0.05, ci_high=0.15, unit="seed", n_units=6, method_p="sign-flip",
                 n_configs=4, easier="a", harder="b", paired_on="paired", quantity="x",
                 units_needed=6)  # fmt: skip
    out = mark_primary(t)
    prim = out[out["primary"]]
    assert len(prim) == 3 and prim["min_p_adjusted"].tolist() == pytest.approx([3 * 2 / 64] * 3)
    assert all("Cannot answer" in v for v in prim["verdict"])


def test_an_evaluation_only_setting_is_not_testable_over_seeds():
    t = make_tests([0.031, 0.5, 0.031]).assign(
        target="paired normalized", regime="none", mean_diff=0.1, ci_low=0.1, ci_high=0.1,
        unit="seed", n_units=6, method_p="sign-flip", n_configs=4, easier="a", harder="b",
        paired_on="paired", quantity="x", units_needed=6)  # fmt: skip
    verdicts = mark_primary(t)["verdict"]
    assert all("Not testable" in v and "evaluated item" in v for v in verdicts)
