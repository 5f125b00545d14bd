"""One primary test per setting, chosen without p-values, Holm-adjusted across settings."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from junkdna.analysis.power import signflip_power, units_needed
from junkdna.analysis.primary import holm, holm_floors, mark_primary
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


def test_holm_floors_by_hand():
    # Two primaries, 6 seeds each (smallest p 2/64). The other primary's p = 0.01 ranks first
    # (2 x 0.01 = 0.02), so this one, last, can reach its own 2/64 = 0.03125, not 2 x 2/64.
    floors = holm_floors([0.01, 2 / 64], [2 / 64, 2 / 64])
    assert floors[1] == pytest.approx(2 / 64) and floors[0] == pytest.approx(2 * 2 / 64)
    assert holm([0.01, 2 / 64])[1] == pytest.approx(2 / 64)  # what it does reach: the floor
    # The others all large: ranked first, the test gets Bonferroni's factor m.
    assert holm_floors([0.9, 0.8, 0.5], [0.25, 0.25, 0.25])[2] == pytest.approx(0.75)
    # No p (an untestable primary): no floor, and it does not count as a test.
    floors = holm_floors([math.nan, 0.5], [0.25, 0.01])
    assert math.isnan(floors[0]) and floors[1] == pytest.approx(0.01)


def _two_level(t: pd.DataFrame, **over) -> pd.DataFrame:
    return t.assign(min_p=2 / 64, target="paired normalized", regime="sparse", mean_diff=0.1,
                    ci_low=0.05, ci_high=0.15, unit="seed", n_units=6, method_p="sign-flip",
                    n_configs=4, easier="a", harder="b", paired_on="paired", quantity="x",
                    units_needed=None, sd_units=0.1, design="sign-flip", **over)  # fmt: skip


def test_a_primary_that_holm_lets_reach_alpha_is_not_called_unanswerable():
    """The defect: "adjusted p 0.0312, Supported" beside "smallest reachable p 0.0625"."""
    t = _two_level(make_tests([2 / 64, 0.5, 0.01])).assign(min_p=[2 / 64, 2 / 64, 2 / 1024])
    out = mark_primary(t)
    row = out.iloc[0]
    assert row["p_adjusted"] == pytest.approx(2 / 64) and "Supported" in row["verdict"]
    assert row["min_p_adjusted"] == pytest.approx(2 / 64)
    # a floor never exceeds what the test did reach
    prim = out[out["primary"]]
    assert (prim["min_p_adjusted"] <= prim["p_adjusted"] + 1e-15).all()


def test_primaries_are_judged_on_what_they_can_reach_after_the_adjustment():
    """3 settings x 6 seeds, each at its smallest p 2/64: Holm over 3 primaries lets none below
    3 x 2/64 = 0.094, so none can pass, and the verdicts say so; the seeds an effect needs are
    sized at 0.05 / 3, the level Holm guarantees, with the exact test's own power."""
    t = make_tests([2 / 64, 0.5, 2 / 64])
    t = pd.concat([t, t.iloc[[2]].assign(difficulty="external_information")], ignore_index=True)
    out = mark_primary(_two_level(t))
    prim = out[out["primary"]]
    assert len(prim) == 3 and prim["min_p_adjusted"].tolist() == pytest.approx([3 * 2 / 64] * 3)
    assert all("Cannot answer" in v for v in prim["verdict"])
    assert prim["alpha_sized"].tolist() == pytest.approx([0.05 / 3] * 3)
    # effect / sd = 1 at 0.0167: the z formula says 11, the exact sign-flip needs more
    need = prim["units_needed"].iloc[0]
    assert need == units_needed(0.1, 0.1, 0.05 / 3) and need > units_needed(0.1, 0.1, 0.05)
    assert signflip_power(int(need), 1.0, 0.05 / 3) >= 0.8
    assert signflip_power(int(need) - 1, 1.0, 0.05 / 3) < 0.8
    assert f"about {int(need)} seeds for 80% power" in prim["verdict"].iloc[0]
    assert "alpha 0.0167 (the level Holm guarantees across 3 primaries)" in prim["verdict"].iloc[0]


def test_a_spearman_primary_that_cannot_reach_alpha_says_so():
    """4 settings of 5 points each: p = its smallest, 2/5! = 0.0167; Holm 4 x 0.0167 = 0.0667."""
    t = make_tests([1 / 60, 0.5, 1 / 60])
    t = pd.concat([t, t.iloc[[2]].assign(difficulty="external_information"),
                   t.iloc[[2]].assign(difficulty="dense_headroom")], ignore_index=True)  # fmt: skip
    out = mark_primary(t.assign(min_p=1 / 60, rho=-1.0))
    prim = out[out["primary"]]
    assert prim["p_adjusted"].tolist() == pytest.approx([4 / 60] * 4)
    assert prim["min_p_adjusted"].tolist() == pytest.approx([4 / 60] * 4)
    for verdict in prim["verdict"]:
        assert "Cannot answer with this design" in verdict and "Not significant" not in verdict
        assert "smallest attainable p = 0.067, after Holm across 4 primaries" in verdict
        assert "6 distinct points could reach p < 0.0125" in verdict  # 2 / 6! = 0.0028


def test_an_evaluation_only_setting_is_not_testable_over_seeds():
    t = make_tests([0.031, 0.5, 0.031]).assign(
        target="paired normalized", regime="none", mean_diff=0.1, ci_low=0.1, ci_high=0.1,
        unit="seed", n_units=6, method_p="sign-flip", n_configs=4, easier="a", harder="b",
        paired_on="paired", quantity="x", units_needed=6)  # fmt: skip
    verdicts = mark_primary(t)["verdict"]
    assert all("Not testable" in v and "evaluated item" in v for v in verdicts)
