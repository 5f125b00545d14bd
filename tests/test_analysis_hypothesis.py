"""The hypothesis test on constructed data whose answer is known."""

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from junkdna.analysis.achievable import achievable_sparsity
from junkdna.analysis.hypothesis import difficulty_points, test_hypothesis
from junkdna.analysis.normalize import normalize, validate_results
from junkdna.analysis.stats import paired_signflip, spearman_permutation
from junkdna.analysis.synthetic import synthetic_results
from junkdna.errors import JunkDNADeprecationWarning, JunkDNAError

ROLE = re.compile(r"^(Primary test( \(Holm-adjusted p = [^)]*\))?|Exploratory)\. ")


def body(verdict: str) -> str:
    """A verdict without its role ("Primary test (...). " or "Exploratory. ")."""
    return ROLE.sub("", verdict)


NULL_ORDER = [3, 2, 5, 6, 7, 4, 1]  # Spearman rho exactly 0 against 1..7


def test_rho_matches_scipy_including_ties():
    x = [1, 2, 2, 3, 5, 8, 8, 9, 10]
    y = [0.5, 0.5, 0.4, 0.3, 0.3, 0.3, 0.1, 0.2, 0.0]
    got = spearman_permutation(x, y)
    assert got.rho == pytest.approx(spearmanr(x, y).statistic)
    assert got.test == "monte-carlo"  # 9 points > exact limit
    assert got.ties_x == 4 and got.ties_y == 5


def test_exact_p_values_by_hand():
    # n = 5, perfectly monotone: only the identity and the reversal reach |rho| = 1 -> 2/120.
    got = spearman_permutation([1, 2, 3, 4, 5], [9, 7, 5, 3, 1])
    assert got.rho == pytest.approx(-1.0)
    assert (got.test, got.n_permutations) == ("exact", 120)
    assert got.p_value == pytest.approx(2 / 120)
    assert got.min_p == pytest.approx(2 / 120)
    # n = 3: six orderings with rho in {1, 0.5, 0.5, -0.5, -0.5, -1}; rho = 0.5 has p = 1.
    half = spearman_permutation([1, 2, 3], [1, 3, 2])
    assert half.rho == pytest.approx(0.5) and half.p_value == pytest.approx(1.0)


def test_monte_carlo_p_value_for_a_perfect_order():
    x = np.arange(12)
    got = spearman_permutation(x, -x, n_perm=999, seed=3)
    assert got.rho == pytest.approx(-1.0)
    assert got.p_value == pytest.approx(1 / 1000)  # no permutation of 12 matches: (1 + 0) / 1000
    assert spearman_permutation(x, -x, n_perm=999, seed=3) == got  # seeded


def test_null_is_not_significant_and_false_positive_rate_is_controlled():
    # rho = 0 exactly: the sum of squared rank differences is (n^3 - n) / 6 = 56; every ordering
    # is at least as extreme, so p = 1.
    x, y = [1, 2, 3, 4, 5, 6, 7], NULL_ORDER
    got = spearman_permutation(x, y)
    assert got.rho == pytest.approx(0.0, abs=1e-12)
    assert got.p_value == pytest.approx(1.0)
    # Independent data, many replicates: the test rejects about alpha of the time.
    rng = np.random.default_rng(0)
    rejections = [
        spearman_permutation(rng.random(10), rng.random(10), n_perm=199, seed=i).p_value < 0.05
        for i in range(200)
    ]
    assert np.mean(rejections) <= 0.09


def test_undefined_cases_and_bad_input():
    assert spearman_permutation([1, 2], [2, 1]).test == "undefined"
    flat = spearman_permutation([1, 2, 3, 4], [0.3, 0.3, 0.3, 0.3])
    assert flat.test == "undefined" and math.isnan(flat.rho)
    with pytest.raises(JunkDNAError, match="equal length"):
        spearman_permutation([1, 2, 3], [1, 2])
    with pytest.raises(JunkDNAError, match="finite"):
        spearman_permutation([1, 2, np.nan], [1, 2, 3])


def _study(difficulty_of: dict[str, float], drop_at: dict[str, float], seeds=(1, 2, 3)):
    curves = {(t, "x"): (lambda s, d=drop_at[t]: 1.0 if s < d else 0.8) for t in drop_at}
    dv = {(t, "x"): v for t, v in difficulty_of.items()}
    df = synthetic_results(
        curves, sparsities=np.round(np.arange(0.1, 1.0, 0.1), 1), seeds=seeds, difficulty_value=dv
    )
    valid = validate_results(df)
    points = difficulty_points(achievable_sparsity(normalize(df), n_boot=200), valid)
    return points


def test_monotone_study_is_supported_and_reversed_is_contradicted():
    tasks = [f"t{i}" for i in range(7)]
    harder = {t: float(i) for i, t in enumerate(tasks)}
    drops = {t: 0.85 - 0.1 * i for i, t in enumerate(tasks)}  # harder -> drops earlier
    out = test_hypothesis(_study(harder, drops)).iloc[0]
    assert out["rho"] == pytest.approx(-1.0)
    assert out["p_value"] == pytest.approx(2 / math.factorial(7))
    assert body(out["verdict"]).startswith("Supported: harder tasks tolerate less sparsity")
    assert "p = 0.000397" in out["verdict"] and "7 task/level points" in out["verdict"]
    easier = {t: -v for t, v in harder.items()}
    flipped = test_hypothesis(_study(easier, drops)).iloc[0]
    assert body(flipped["verdict"]).startswith("Contradicted")


def test_constructed_null_study_is_not_significant_with_caveats():
    tasks = [f"t{i}" for i in range(7)]
    difficulty = {t: float(v) for t, v in zip(tasks, [1, 2, 3, 4, 5, 6, 7], strict=True)}
    drops = {t: 0.05 + 0.1 * r for t, r in zip(tasks, NULL_ORDER, strict=True)}
    out = test_hypothesis(_study(difficulty, drops, seeds=(1,))).iloc[0]
    assert out["rho"] == pytest.approx(0.0, abs=1e-12) and out["p_value"] == pytest.approx(1.0)
    assert body(out["verdict"]).startswith("Not significant")
    assert "single seed" in out["verdict"]


def test_too_few_points_and_ties_are_named():
    pts = _study(
        {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}, {"a": 0.55, "b": 0.45, "c": 0.35, "d": 2}
    )
    out = test_hypothesis(pts).iloc[0]
    assert "no ordering can reach p < 0.05" in out["verdict"]
    assert "never fell below the threshold" in out["verdict"]  # task d never drops
    two = test_hypothesis(_study({"a": 1.0, "b": 2.0}, {"a": 0.5, "b": 0.3})).iloc[0]
    assert body(two["verdict"]).startswith("Not testable") and "at least 3" in two["verdict"]
    with pytest.raises(JunkDNAError, match="unknown target"):
        test_hypothesis(pts, target="slope")


def _points_frame(rows):
    results = pd.DataFrame(rows)
    return validate_results(results)


@pytest.mark.parametrize(
    ("difficulty", "level", "extra", "expected"),
    [
        ("data_adequacy", "0.25", {}, 4.0),  # 1 / fraction
        ("data_adequacy", "fraction=0.25", {}, 4.0),  # the study's default label
        ("data_adequacy", "examples=200", {}, math.nan),  # a count needs the full split's size
        ("external_information", "closed-book", {}, 1.0),
        ("external_information", "open-book", {}, 0.0),
        ("human_model_gap", "none", {"human_score": 0.9}, (0.9 - 0.6) / 0.9 * 100),
        ("human_model_gap", "none", {"difficulty_value": 7.5, "human_score": 0.9}, 7.5),  # given
        ("dense_headroom", "none", {"baseline": 0.2}, (1 - 0.6) / (1 - 0.2) * 100),
        ("dense_headroom", "none", {}, math.nan),  # no baseline
        ("mystery", "a", {}, math.nan),
    ],
)
def test_difficulty_measures(difficulty, level, extra, expected):
    value = difficulty_points(*_one_point(difficulty, level, extra))["difficulty_value"].iloc[0]
    if math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == pytest.approx(expected)


def _one_point(difficulty, level, extra):
    ref = {"run_id": "d", "model": "m", "task": "t", "difficulty": difficulty, "level": level}
    ref |= {"method": "none", "structure": "none", "scope": None, "sparsity": 0.0}
    ref |= {"regime": "dense", "seed": 1, "metric": "acc", "score": 0.6, "status": "done"}
    results = _points_frame([ref | extra])
    ach = pd.DataFrame([{"model": "m", "task": "t", "difficulty": difficulty, "level": level}])
    return ach, results


@pytest.mark.parametrize(
    ("old", "new", "level", "extra", "expected"),
    [
        ("across_tasks", "human_model_gap", "none", {"human_score": 0.9}, 100 / 3),
        ("external_info", "external_information", "closed-book", {}, 1.0),
    ],
)
def test_old_setting_names_still_read_with_a_deprecation_warning(old, new, level, extra, expected):
    with pytest.warns(JunkDNADeprecationWarning, match=f"{old!r}.*{new!r}"):
        points = difficulty_points(*_one_point(old, level, extra))
    assert points["difficulty"].tolist() == [new]
    assert points["difficulty_value"].iloc[0] == pytest.approx(expected)


def test_a_table_with_old_names_analyzes_under_the_new_ones():
    from junkdna.analysis.pipeline import analyze

    curves = {(f"t{i}", "gap"): (lambda s, i=i: 1 - i * s / 4) for i in range(3)}
    dense = {(f"t{i}", "gap"): 0.9 - 0.1 * i for i in range(3)}
    df = synthetic_results(curves, difficulty="across_tasks", dense_score=dense).assign(
        human_score=0.95
    )
    with pytest.warns(JunkDNADeprecationWarning, match="'human_model_gap'"):
        a = analyze(df, n_boot=50)
    new = analyze(df.assign(difficulty="human_model_gap"), n_boot=50)
    assert set(a.results["difficulty"]) == set(a.tests["difficulty"]) == {"human_model_gap"}
    pd.testing.assert_frame_equal(a.tests, new.tests)
    assert a.tests.iloc[0]["measure"] == "normalized human-model gap (%)"


# ----------------------------------------------------------------------------- two-level settings


def test_paired_signflip_exact_p_values_by_hand():
    # d = (1, 2, 3): of 8 sign patterns only all-plus and all-minus reach |sum| = 6.
    got = paired_signflip([1.0, 2.0, 3.0])
    assert (got.mean_diff, got.n_pairs, got.test) == (2.0, 3, "paired exact")
    assert got.p_value == pytest.approx(2 / 8) and got.min_p == pytest.approx(2 / 8)
    # Six equal positive differences: 2 of 64 patterns -> p = 1/32 < 0.05.
    assert paired_signflip([0.1] * 6).p_value == pytest.approx(2 / 64)
    # (3, -1, 1), observed |sum| 3: the 8 signed sums are 3, 1, 5, 3, -3, -5, -1, -3 -> 6 of 8.
    assert paired_signflip([3.0, -1.0, 1.0]).p_value == pytest.approx(6 / 8)
    assert paired_signflip([1.0, -1.0]).p_value == pytest.approx(1.0)  # mean 0: every pattern
    assert paired_signflip([]).test == "undefined"
    many = paired_signflip(np.full(20, 0.5), n_perm=999, seed=1)
    # 20 equal differences: only the 2 of 2^20 all-equal patterns reach it, so (1 + 0) / 1000.
    assert many.test == "paired monte-carlo" and many.p_value == pytest.approx(1 / 1000)


def two_level_results(easy_curve, hard_curve, *, seeds=(41, 42), hard_seeds=None):
    """Data adequacy with two levels (fraction 1.0 easy, 0.1 hard), two pruning methods."""
    parts = []
    for method in ("magnitude", "wanda"):
        for level, curve, ss in (
            ("1.0", easy_curve, seeds),
            ("0.1", hard_curve, hard_seeds or seeds),
        ):
            parts.append(
                synthetic_results(
                    {("t", level): curve},
                    sparsities=(0.2, 0.4),
                    seeds=ss,
                    difficulty="data_adequacy",
                    method=method,
                )
            )
    df = pd.concat(parts, ignore_index=True)
    return df.drop_duplicates("run_id")  # the dense references are shared by both methods


def test_two_levels_get_one_test_over_seeds_each_seed_summarizing_its_curve():
    from junkdna.analysis.pipeline import analyze

    six = tuple(range(1, 7))
    a = analyze(two_level_results(lambda s: 1 - s / 2, lambda s: 1 - s, seeds=six), n_boot=50)
    assert len(a.tests) == 1  # the two per-method "not testable" rows are replaced
    assert a.auc_tests.empty  # their AUC rows too: the two-level test covers the setting
    t = a.tests.iloc[0]
    assert t["method"] == "magnitude, wanda" and t["test"] == "two-level, paired"
    # Each seed: mean normalized score over 2 methods x sparsities {0.2, 0.4}: easy 1 - 0.3 / 2
    # = 0.85, hard 1 - 0.3 = 0.7, d = 0.15 on each of 6 seeds; exact sign-flip p = 2 / 64.
    assert (t["unit"], t["n_units"], t["n_configs"]) == ("seed", 6, 4)
    assert t["mean_diff"] == pytest.approx(0.15) and t["p_value"] == pytest.approx(2 / 64)
    # Six identical differences: no spread between seeds to measure, so no interval (not a
    # zero-width one) and the verdict says why.
    assert np.isnan(t["ci_low"]) and np.isnan(t["ci_high"])
    assert "every seed gave the same difference" in t["verdict"]
    assert t["quantity"] == "normalized score" and t["min_p"] == pytest.approx(2 / 64)
    assert (t["easier"], t["harder"], t["paired_on"]) == ("1.0", "0.1", "paired")
    assert body(t["verdict"]).startswith("Supported: the harder level keeps less")
    assert a.verdict() == t["verdict"]
    flipped = analyze(two_level_results(lambda s: 1 - s, lambda s: 1 - s / 2, seeds=six), n_boot=50)
    assert body(flipped.tests.iloc[0]["verdict"]).startswith("Contradicted")
    assert flipped.tests.iloc[0]["mean_diff"] == pytest.approx(-0.15)
    # The secondary quantity: dense 0.8, baseline 0.5, kept = (0.8 c - 0.5) / 0.3, so per seed
    # d = mean over s in {0.2, 0.4} of 4 s / 3 = 0.4.
    above = analyze(
        two_level_results(lambda s: 1 - s / 2, lambda s: 1 - s, seeds=six),
        n_boot=50,
        quantity="above-baseline",
    ).tests.iloc[0]
    assert above["mean_diff"] == pytest.approx(0.4)
    assert above["quantity"] == "share of the dense score above the baseline kept"


def test_two_seeds_cannot_answer_and_the_verdict_says_how_many_would():
    from junkdna.analysis.pipeline import analyze

    t = analyze(two_level_results(lambda s: 1 - s / 2, lambda s: 1 - s), n_boot=50).tests.iloc[0]
    assert t["n_units"] == 2 and t["p_value"] == pytest.approx(0.5) and t["min_p"] == 0.5
    assert body(t["verdict"]).startswith("Cannot answer with this design")
    assert "2 seed(s) cannot reach p < 0.05 (smallest attainable p = 0.5)" in t["verdict"]
    # identical differences: the fewest seeds whose exact sign-flip can reach 0.05 (2 / 2^6)
    assert t["units_needed"] == 6 and "about 6 seeds for 80% power" in t["verdict"]


def test_two_levels_without_shared_seeds_compare_their_seeds_as_two_groups():
    from junkdna.analysis.pipeline import analyze

    a = analyze(
        two_level_results(lambda s: 1 - s / 2, lambda s: 1 - s, hard_seeds=(7, 8)), n_boot=50
    )
    t = a.tests.iloc[0]
    assert t["paired_on"] == "unpaired" and t["n_units"] == 4
    # easy seeds [0.85, 0.85], hard [0.7, 0.7]: of the 6 splits of the 4 seeds, 2 are as extreme
    assert t["mean_diff"] == pytest.approx(0.15) and t["p_value"] == pytest.approx(2 / 6)
    assert body(t["verdict"]).startswith("Cannot answer with this design")


def test_three_levels_keep_the_rank_correlation():
    from junkdna.analysis.pipeline import analyze

    df = synthetic_results(
        {
            ("t", "1.0"): lambda s: 1.0,
            ("t", "0.5"): lambda s: 1 - s / 2,
            ("t", "0.1"): lambda s: 1 - s,
        },
        difficulty="data_adequacy",
    )
    a = analyze(df, n_boot=50)
    assert len(a.tests) == 1 and a.tests.iloc[0]["test"] == "exact" and a.tests.iloc[0]["n"] == 3
    assert len(a.auc_tests) == 1 and a.auc_tests.iloc[0]["n"] == 3


def test_dense_headroom_orders_two_tasks_by_what_dense_leaves_above_the_baseline():
    from junkdna.analysis.pipeline import analyze

    df = synthetic_results(
        {("easy", "none"): lambda s: 1 - s / 4, ("hard", "none"): lambda s: 1 - s},
        difficulty="dense_headroom",
        dense_score={("easy", "none"): 0.8, ("hard", "none"): 0.6},
        baseline=0.5,
        sparsities=(0.2, 0.4, 0.6),
        seeds=(1, 2),
    )
    a = analyze(df, n_boot=50)
    pts = a.points.set_index("task")["difficulty_value"]
    assert pts["easy"] == pytest.approx(40.0) and pts["hard"] == pytest.approx(80.0)
    t = a.tests.iloc[0]
    assert (t["easier"], t["harder"]) == ("easy [none]", "hard [none]")
    # normalized: easy mean of 1 - s/4 over {0.2, 0.4, 0.6} = 0.9, hard 1 - 0.4 = 0.6
    assert t["n_units"] == 2 and t["mean_diff"] == pytest.approx(0.3)
    assert t["measure"] == "dense error above the baseline (%)"
    assert body(t["verdict"]).startswith("Cannot answer")  # 2 seeds: p >= 0.5
    t = analyze(df, n_boot=50, quantity="above-baseline").tests.iloc[0]
    # kept: easy (0.8 (1 - s/4) - 0.5) / 0.3 = 1 - 2s/3, hard (0.6 (1 - s) - 0.5) / 0.1 = 1 - 6s
    assert t["mean_diff"] == pytest.approx(np.mean([16 / 3 * s for s in (0.2, 0.4, 0.6)]))


def test_two_levels_that_both_collapse_to_their_majority_compare_as_equal():
    """Plain score / dense would read 0.55 / 0.85 vs 0.35 / 0.65 (0.647 vs 0.538) as a difference;
    measured above each level's own baseline both keep nothing."""
    from junkdna.analysis.pipeline import analyze

    parts = [
        synthetic_results(
            {(task, "none"): lambda s, b=b, d=d: b / d},  # every sparse run at the baseline
            difficulty="dense_headroom",
            dense_score=d,
            baseline=b,
            sparsities=(0.2, 0.4, 0.6),
            seeds=(1, 2),
        )
        for task, b, d in (("easy", 0.55, 0.85), ("hard", 0.35, 0.65))
    ]
    both = pd.concat(parts, ignore_index=True)
    t = analyze(both, n_boot=50, quantity="above-baseline").tests.iloc[0]
    assert t["mean_diff"] == pytest.approx(0.0, abs=1e-12) and t["p_value"] == pytest.approx(1.0)
    # the primary quantity, score / dense, does see a difference here (the paper's measure)
    t = analyze(both, n_boot=50).tests.iloc[0]
    assert t["mean_diff"] == pytest.approx(0.55 / 0.85 - 0.35 / 0.65)


def test_two_levels_without_a_shared_configuration_say_why():
    from junkdna.analysis.pipeline import analyze

    df = pd.concat(
        [
            synthetic_results({("t", "1.0"): lambda s: 1.0}, difficulty="data_adequacy"),
            synthetic_results(
                {("t", "0.1"): lambda s: 1 - s}, difficulty="data_adequacy", method="wanda"
            ),
        ],
        ignore_index=True,
    )
    t = analyze(df, n_boot=50).tests
    assert len(t) == 1 and "share no pruning configuration" in t.iloc[0]["verdict"]


def test_levels_with_different_recipes_still_pair_and_a_repeated_level_is_averaged():
    from junkdna.analysis.levels import compare_levels

    rows = []
    for level, recipe, kept in (("small", "r6", 0.5), ("full", "r2", 0.8), ("full", "r3", 0.6)):
        rows.append({"level": level, "recipe": recipe, "method": "m", "structure": "u",
                     "scope": "g", "sparsity": 0.3, "seed": 1, "score": 0.5 + 0.3 * kept,
                     "dense_score": 0.8, "baseline": 0.5, "normalized": 0.0})  # fmt: skip
    df = pd.DataFrame(rows)
    res, how, n = compare_levels(
        df, {"level": "full"}, {"level": "small"}, quantity="above-baseline"
    )
    # full: mean of 0.8 and 0.6 = 0.7 kept; small 0.5 -> one seed, d = 0.2
    assert res.estimate == pytest.approx(0.2) and (how, n, res.n_units) == ("paired", 1, 1)


def test_the_human_model_gap_uses_the_human_scores_own_metric():
    """QQP's primary metric is F1, its human score (0.804) accuracy: the gap compares accuracy."""
    df = synthetic_results(
        {("qqp", "none"): lambda s: 1 - s / 2, ("rte", "none"): lambda s: 1 - s},
        difficulty="human_model_gap",
        dense_score={("qqp", "none"): 0.88, ("rte", "none"): 0.84},  # the primary metric
    )
    df["human_score"] = df["task"].map({"qqp": 0.804, "rte": 0.936})
    # QQP's dense accuracy is 0.918 while its F1 is 0.88; RTE's one metric is accuracy
    df["human_metric_score"] = df["task"].map({"qqp": 0.918, "rte": 0.84})
    from junkdna.analysis.pipeline import analyze

    pts = analyze(df, n_boot=50).points.drop_duplicates("task").set_index("task")
    assert pts.loc["qqp", "difficulty_value"] == pytest.approx((0.804 - 0.918) / 0.804 * 100)
    assert pts.loc["rte", "difficulty_value"] == pytest.approx((0.936 - 0.84) / 0.936 * 100)


def test_seeds_only_one_level_ran_are_counted_when_left_out():
    from junkdna.analysis.pipeline import analyze

    df = two_level_results(
        lambda s: 1 - s / 2, lambda s: 1 - s, seeds=(1, 2, 3, 4), hard_seeds=(1, 2)
    )
    t = analyze(df, n_boot=50).tests.iloc[0]
    assert t["n_units"] == 2 and t["paired_on"] == "paired; 2 unshared seed(s) left out"
    assert "2 unshared seed(s) left out" in t["verdict"]
