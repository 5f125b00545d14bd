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
