"""LMC barriers over seeds (``analysis.lmc_tests``) on data of known answer: a hand-computed
interval, hand-computed exact p-values, the false-positive rate under a null with seed-shared
offsets, the power for a clear effect, the "not testable" rows, and records of the study mode
(``study.lmc.load_study_lmc_records``), old files without labels included."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from junkdna.analysis.lmc_tests import (
    TEST_COLUMNS,
    barrier_summary,
    difficulty_mapping,
    lmc_tests,
)
from junkdna.analysis.synthetic import synthetic_results
from junkdna.errors import JunkDNAError

POINT = {"difficulty": "human_model_gap", "level": "none", "method": "magnitude",
         "structure": "unstructured", "scope": "global", "sparsity": 0.5, "regime": "sparse"}  # fmt: skip
# QNLI easier than RTE (as in the paper's Figure 10 pairs): larger = harder.
DIFFICULTY = {("QNLI", "none"): 0.1, ("RTE", "none"): 0.3}


def records(barriers: dict[str, dict[int, float]], model: str = "m", **over) -> pd.DataFrame:
    """One row per pair: {task: {seed: barrier}}."""
    return pd.DataFrame(
        [
            {"model": model, **POINT, **over, "task": task, "seed": seed, "barrier": b}
            for task, by_seed in barriers.items()
            for seed, b in by_seed.items()
        ]  # fmt: skip
    )


def simulate(rng, n_studies: int, n_seeds: int, effect: float) -> pd.DataFrame:
    """``n_studies`` independent studies (one model each) of ``n_seeds`` seeds: a seed's barrier
    = 0.5 + its own offset (shared by both tasks, sd 1: ten times the noise) + ``effect`` on the
    harder task (RTE) + noise (sd 0.1)."""
    shape = (n_studies, n_seeds)
    offset = rng.normal(0.0, 1.0, shape)
    frames = [
        pd.DataFrame({"model": np.repeat([f"study{i}" for i in range(n_studies)], n_seeds),
                      "task": task, "seed": np.tile(np.arange(n_seeds), n_studies),
                      "barrier": (0.5 + offset + extra + rng.normal(0, 0.1, shape)).ravel()})
        for task, extra in (("QNLI", 0.0), ("RTE", effect))
    ]  # fmt: skip
    return pd.concat(frames, ignore_index=True).assign(**POINT)


def test_summary_is_the_student_t_interval_over_seeds_by_hand():
    df = records({"RTE": {1: 0.1, 2: 0.2, 3: 0.3}, "QNLI": {1: 0.05, 2: 0.05}})
    s = barrier_summary(df).set_index("task")
    # mean 0.2, sd 0.1, t(0.975, 2 df) = 4.302652729911275: half-width 4.3027 * 0.1 / sqrt(3)
    half = 4.302652729911275 * 0.1 / math.sqrt(3)
    rte = s.loc["RTE"]
    assert rte["mean_barrier"] == pytest.approx(0.2)
    assert (rte["ci_low"], rte["ci_high"]) == pytest.approx((0.2 - half, 0.2 + half))
    assert rte["n_seeds"] == 3 and rte["n_pairs"] == 3 and rte["few_seeds"]
    # two equal seeds: no spread to measure, so no interval (not a zero-width one)
    assert math.isnan(s.loc["QNLI", "ci_low"]) and s.loc["QNLI", "n_seeds"] == 2
    assert s.loc["QNLI", "mean_barrier"] == pytest.approx(0.05) and s.loc["QNLI", "few_seeds"]
    # one seed: no interval
    one = barrier_summary(records({"RTE": {1: 0.4}})).iloc[0]
    assert one["mean_barrier"] == 0.4 and math.isnan(one["ci_low"]) and one["n_seeds"] == 1


def test_three_seeds_paired_by_hand_cannot_reach_significance():
    df = records({"QNLI": {1: 0.0, 2: 0.0, 3: 0.0}, "RTE": {1: 0.1, 2: 0.2, 3: 0.3}})
    t = lmc_tests(df, DIFFICULTY)
    assert list(t.columns) == TEST_COLUMNS and len(t) == 1
    row = t.iloc[0]
    assert (row["easier"], row["harder"]) == ("QNLI", "RTE")
    assert row["comparison"] == "loss barrier: RTE (harder) minus QNLI (easier)"
    half = 4.302652729911275 * 0.1 / math.sqrt(3)
    assert row["estimate"] == pytest.approx(0.2)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.2 - half, 0.2 + half))
    # every seed positive: 2 of the 2^3 sign patterns are as extreme; that is also the floor
    assert row["p_value"] == pytest.approx(2 / 8) and row["min_p"] == pytest.approx(2 / 8)
    assert row["unit"] == "seed" and row["n_units"] == 3 and row["paired_on"] == "paired"
    assert row["test"] == "sign-flip over seeds (exact)" and row["units_needed"] >= 6
    v = row["verdict"]
    assert v.startswith("Exploratory (m, human_model_gap, magnitude unstructured 0.5, sparse")
    assert "Cannot answer with this design" in v and "Consistent" not in v
    assert "3 seeds cannot reach p < 0.05 with an exact sign-flip" in v
    assert "only 3 seeds" in v


def test_a_clear_effect_on_every_seed_is_consistent_with_the_paper_and_the_reverse_is_not():
    seeds = range(1, 9)
    up = records({"QNLI": dict.fromkeys(seeds, 0.1), "RTE": {s: 0.3 + 0.01 * s for s in seeds}})
    row = lmc_tests(up, DIFFICULTY).iloc[0]
    assert row["p_value"] == pytest.approx(2 / 256) and row["n_units"] == 8
    assert row["verdict"].count("Consistent with the paper: the loss barrier is larger") == 1
    # swap which task is harder: the same data now contradict the paper
    down = lmc_tests(up, {("QNLI", "none"): 0.9, ("RTE", "none"): 0.3}).iloc[0]
    assert down["harder"] == "QNLI" and down["estimate"] == pytest.approx(-row["estimate"])
    assert "Contrary to the paper" in down["verdict"]


def test_sides_without_a_shared_seed_are_compared_as_groups_by_hand():
    # RTE on seeds 1-3, QNLI on 4-6: C(6, 3) = 20 assignments, the observed one and its mirror
    # are the two most extreme, so p = min_p = 2 / 20
    df = records({"RTE": {1: 0.4, 2: 0.5, 3: 0.6}, "QNLI": {4: 0.1, 5: 0.2, 6: 0.3}})
    row = lmc_tests(df, DIFFICULTY).iloc[0]
    assert row["paired_on"] == "unpaired" and row["n_units"] == 6
    assert row["test"] == "permutation over seeds (exact)"
    assert row["estimate"] == pytest.approx(0.3)
    assert row["p_value"] == pytest.approx(0.1) and row["min_p"] == pytest.approx(0.1)
    assert "cannot reach p < 0.05 with an exact permutation" in row["verdict"]


def test_unshared_seeds_are_left_out_of_a_paired_test():
    df = records({"QNLI": {1: 0.0, 2: 0.0, 9: 5.0}, "RTE": {1: 0.1, 2: 0.3}})
    row = lmc_tests(df, DIFFICULTY).iloc[0]
    assert row["estimate"] == pytest.approx(0.2) and row["n_units"] == 2
    assert row["paired_on"] == "paired; 1 unshared seed(s) left out"


def test_false_positive_rate_under_the_null_with_seed_shared_offsets():
    """No difference between the tasks, but seed offsets ten times the noise: pairing by seed
    removes them, and the exact sign-flip keeps the rate at or under alpha (its ceiling at 8
    seeds is 6/128 = 4.7%)."""
    t = lmc_tests(simulate(np.random.default_rng(1), 1000, 8, effect=0.0), DIFFICULTY)
    assert len(t) == 1000 and (t["n_units"] == 8).all()
    assert (t["test"] == "sign-flip over seeds (exact)").all()
    fpr = float((t["p_value"] < 0.05).mean())
    assert fpr <= 0.06  # measured: 0.038
    consistent = t["verdict"].str.contains("Consistent with the paper")
    assert consistent.mean() <= 0.035  # one side of the two-sided rate; measured: 0.021


def test_power_for_a_clear_effect_at_eight_seeds():
    """Effect 0.2 against a per-seed difference sd of 0.14 (about 1.4 sd)."""
    t = lmc_tests(simulate(np.random.default_rng(2), 400, 8, effect=0.2), DIFFICULTY)
    found = t["verdict"].str.contains("Consistent with the paper")
    assert ((t["p_value"] < 0.05) & (t["estimate"] > 0)).equals(found)
    assert float(found.mean()) >= 0.80  # measured: 0.89


def test_not_testable_rows_say_why():
    two = {"QNLI": {1: 0.1, 2: 0.1}, "RTE": {1: 0.2, 2: 0.3}}
    none = lmc_tests(records(two)).iloc[0]  # no difficulty measure at all
    assert math.isnan(none["p_value"]) and none["test"] == "undefined"
    assert "Not testable: no difficulty measure for QNLI and RTE" in none["verdict"]
    one = lmc_tests(records(two), {("RTE", "none"): 0.3}).iloc[0]
    assert "no difficulty measure for QNLI." in one["verdict"]
    same = lmc_tests(records(two), {("QNLI", "none"): 0.3, ("RTE", "none"): 0.3}).iloc[0]
    assert "QNLI and RTE have the same difficulty measure (0.3)" in same["verdict"]
    three = records({**two, "STS-B": {1: 0.0, 2: 0.0}})
    row = lmc_tests(three, {**DIFFICULTY, ("STS-B", "none"): 0.0}).iloc[0]
    assert "3 tasks/levels (QNLI, RTE, STS-B); this test compares exactly two" in row["verdict"]
    # one task only: nothing to compare, no row; and pruning points are never mixed
    assert lmc_tests(records({"RTE": {1: 0.2}}), DIFFICULTY).empty
    split = pd.concat([records({"QNLI": {1: 0.1}}), records({"RTE": {1: 0.2}}, sparsity=0.7)])
    assert lmc_tests(split, DIFFICULTY).empty
    with pytest.raises(JunkDNAError, match="lack column"):
        lmc_tests(records(two).drop(columns="seed"))


def test_difficulty_keys_the_most_specific_wins_and_levels_name_the_sides():
    df = records({"sst2": {1: 0.1, 2: 0.1}}, level="100%")
    df = pd.concat([df, records({"sst2": {1: 0.3, 2: 0.4}}, level="10%")])
    general = {("sst2", "100%"): 0.0, ("sst2", "10%"): 1.0}
    row = lmc_tests(df, general).iloc[0]
    assert row["comparison"] == "loss barrier: sst2 [10%] (harder) minus sst2 [100%] (easier)"
    specific = {**general, ("m", "sst2", "human_model_gap", "100%"): 2.0}
    assert lmc_tests(df, specific).iloc[0]["harder"] == "sst2 [100%]"


def test_difficulty_mapping_from_a_results_table():
    curves = {("QNLI", "none"): lambda s: 1.0, ("RTE", "none"): lambda s: 1.0 - s}
    results = synthetic_results(curves, difficulty_value={("QNLI", "none"): 0.1, ("RTE", "none"): 0.3})  # fmt: skip
    mapping = difficulty_mapping(results)
    assert mapping == {
        ("tiny", "QNLI", "human_model_gap", "none"): pytest.approx(0.1),
        ("tiny", "RTE", "human_model_gap", "none"): pytest.approx(0.3),
    }
    df = records({"QNLI": {41: 0.1, 42: 0.1}, "RTE": {41: 0.2, 42: 0.3}}, model="tiny")
    assert lmc_tests(df, mapping).iloc[0]["harder"] == "RTE"


# ----------------------------------------------------------------------------- study records


def _write(folder, name, **rec):
    folder.mkdir(parents=True, exist_ok=True)
    body = {"alphas": [0.0, 0.5, 1.0], "losses": [1.0, 2.0, 1.5], "metrics": [0.5, 0.4, 0.5]}
    (folder / f"{name}.json").write_text(json.dumps({**body, "barrier": 99.0, **rec}))


def test_old_records_without_labels_still_load_and_say_they_cannot_be_tested(tmp_path):
    from junkdna.study.lmc import RECORD_COLUMNS, load_study_lmc, load_study_lmc_records

    # written before the records carried labels: model and task only
    for i, task in enumerate(("QNLI", "RTE")):
        _write(tmp_path / "lmc", f"s{i}", pair=f"m {task}", sparse_run=f"s{i}", dense_run=f"d{i}",
               model="m", task=task)  # fmt: skip
    df = load_study_lmc_records(tmp_path)
    assert list(df.columns) == list(RECORD_COLUMNS) and len(df) == 2
    # the barrier is the curve's, not the stored 99: max(2 - 1.25, 0) = 0.75
    assert df["barrier"].tolist() == pytest.approx([0.75, 0.75])
    assert df["seed"].isna().all() and df["sparsity"].isna().all() and df["level"].isna().all()
    assert set(load_study_lmc(tmp_path)) == {"m QNLI", "m RTE"}  # Figure 10's loader unchanged
    assert barrier_summary(df).iloc[0]["n_seeds"] == 0
    row = lmc_tests(df, {("QNLI", None): 0.1, ("RTE", None): 0.3}).iloc[0]
    assert "do not say their seeds" in row["verdict"]
    assert load_study_lmc_records(tmp_path / "nowhere").empty


def test_records_take_the_study_labels_when_given_the_plan(tmp_path):
    from junkdna.recipe import Recipe
    from junkdna.study.lmc import load_study_lmc_records, pair_labels
    from junkdna.study.spec import PruningPoint, RunLabels, RunSpec

    spec = RunSpec("m", {"name": "RTE"}, "sparse", Recipe(seed=7),
                   difficulty={"setting": "human_model_gap", "params": {}},
                   pruning=PruningPoint("magnitude", "unstructured", "global", 0.5),
                   labels=RunLabels(level="hard"))  # fmt: skip
    labels = pair_labels(spec)
    assert labels == {"experiment": "run", "model": "m", "task": "RTE", "difficulty": "human_model_gap",
                      "level": "hard", "method": "magnitude", "structure": "unstructured",
                      "scope": "global", "sparsity": 0.5, "regime": "sparse", "seed": 7}  # fmt: skip
    sid = spec.run_id
    _write(tmp_path / "lmc", sid, pair="p", sparse_run=sid, dense_run="d", model="m", task="RTE")
    row = load_study_lmc_records(tmp_path, specs={sid: spec}).iloc[0]
    assert (row["seed"], row["level"], row["sparsity"]) == (7, "hard", 0.5)
    # a new record carries them itself
    _write(tmp_path / "new" / "lmc", "x", pair="p", sparse_run="x", dense_run="d", **labels)
    new = load_study_lmc_records(tmp_path / "new").iloc[0]
    assert {k: new[k] for k in labels} == labels
    # run_ids filters as load_study_lmc does
    assert load_study_lmc_records(tmp_path, {"other"}, specs={sid: spec}).empty


def test_each_experiment_is_its_own_pair_of_tasks():
    """Figure 10 runs QQP vs STS-B and QNLI vs RTE in one study, one experiment per pair: each
    experiment gets its own test instead of a "not testable" group of four tasks."""
    from junkdna.analysis.lmc_tests import lmc_tests

    rows = []
    for exp, tasks in {"qqp-stsb": ("qqp", "stsb"), "qnli-rte": ("qnli", "rte")}.items():
        for task in tasks:
            for seed in (1, 2, 3):
                rows.append({"experiment": exp, "model": "m", "task": task, "difficulty":
                             "human_model_gap", "level": "none", "method": "magnitude",
                             "structure": "unstructured", "scope": "global", "sparsity": 0.5,
                             "regime": "sparse", "seed": seed,
                             "barrier": 0.1 + 0.2 * (task in ("stsb", "rte"))})  # fmt: skip
    df = pd.DataFrame(rows)
    difficulty = {("qqp", "none"): 1.0, ("stsb", "none"): 2.0, ("qnli", "none"): 1.0,
                  ("rte", "none"): 3.0}  # fmt: skip
    tests = lmc_tests(df, difficulty, n_perm=99).set_index("experiment")
    assert sorted(tests.index) == ["qnli-rte", "qqp-stsb"]
    assert tests.loc["qnli-rte", "harder"] == "rte" and tests.loc["qqp-stsb", "harder"] == "stsb"
    assert tests["estimate"].tolist() == pytest.approx([0.2, 0.2])
    assert (tests["n_units"] == 3).all()
    # Without the experiment column the four tasks are one group: not testable, and it says why.
    (row,) = lmc_tests(df.drop(columns="experiment"), difficulty, n_perm=99).to_dict("records")
    assert "Not testable: 4 tasks/levels" in row["verdict"]
