"""Difficulty settings 1 and 4: nested stratified subsamples; the paper's Table 1."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from junkdna.difficulty import (
    PAPER_TABLE1,
    DataAdequacy,
    HumanModelGap,
    from_params,
    normalized_gap,
    paper_table1,
)
from junkdna.errors import JunkDNADeprecationWarning, JunkDNAError
from junkdna.tasks.base import TaskData
from junkdna.tasks.splits import nested_order


def toy_task(n=1000, head="classification", info=None):
    # imbalanced 4 classes: 50% / 25% / 15% / 10%
    labels = np.repeat([0, 1, 2, 3], [n // 2, n // 4, 15 * n // 100, n // 10])
    rows = {"text": [f"row {i}" for i in range(len(labels))], "label": labels.tolist()}
    ds = datasets.Dataset.from_dict(rows)
    return TaskData(
        "toy", head, ds, ds.select(range(10)), ("text",), "label", "accuracy", 4, info=info or {}
    )


def test_table1_reproduced_exactly():
    assert paper_table1() == {
        "sst2": 1.64,
        "cola": 2.26,
        "qqp": -14.18,
        "stsb": 0.54,
        "qnli": -3.51,
        "rte": 9.94,
        "winogrande": 16.91,
        "csqa": 18.99,
    }
    assert normalized_gap(80.0, 60.0) == pytest.approx(25.0)
    # Both printed rows are the inputs (CSQA: human 89.0, RoBERTa-large 72.1).
    assert PAPER_TABLE1["csqa"] == (89.0, 72.1)


def test_registered_human_scores_are_table1s_human_row():
    from junkdna.tasks.registry import get_spec

    for task, (human, _) in PAPER_TABLE1.items():
        assert get_spec(task).human.value * 100 == pytest.approx(human), task


def test_gap_from_measured_score_uses_the_human_key():
    # QQP's human score is accuracy 0.804: F1 must be ignored.
    assert HumanModelGap.gap("qqp", {"f1": 0.1, "accuracy": 0.918}) == pytest.approx(
        (0.804 - 0.918) / 0.804 * 100
    )
    assert HumanModelGap.gap("sst2", 0.962) == pytest.approx(normalized_gap(97.8, 96.2))
    assert set(PAPER_TABLE1) <= {"sst2", "cola", "qqp", "stsb", "qnli", "rte", "winogrande", "csqa"}
    with pytest.raises(JunkDNAError, match="no published human score"):
        HumanModelGap.gap("multiemo_en", 0.7)


def test_dense_headroom_by_hand():
    from junkdna.difficulty import DenseHeadroom, headroom_gap

    # MultiEmo-like: dense 0.64 over a 0.36 majority leaves (1 - 0.64) / (1 - 0.36) = 56.25%.
    assert headroom_gap(0.64, 0.36) == pytest.approx(56.25)
    assert headroom_gap(0.36, 0.36) == pytest.approx(100.0)  # at the baseline
    assert headroom_gap(1.0, 0.5) == 0.0
    with pytest.raises(JunkDNAError, match="must be below 1"):
        headroom_gap(0.9, 1.0)
    task = toy_task(info={"majority_baseline": {"validation": 0.489}})
    out = DenseHeadroom().apply(task, seed=2)
    assert out.info["difficulty"]["name"] == "dense_headroom" and out.train is task.train
    # no baseline: still applies (the study file's difficulty_value gives the measure)
    assert DenseHeadroom().apply(toy_task()).info["difficulty"]["name"] == "dense_headroom"


def test_human_gap_apply_records_and_requires_a_human_score():
    task = toy_task(info={"human": {"value": 0.9, "key": "accuracy", "citation": "x"}})
    out = HumanModelGap().apply(task, seed=3)
    assert out.info["difficulty"] == {
        "name": "human_model_gap",
        "setting": 4,
        "params": {},
        "seed": 3,
    }
    assert out.train is task.train
    with pytest.raises(JunkDNAError, match="no published human score"):
        HumanModelGap().apply(toy_task())


@pytest.mark.parametrize("bad", [0, -0.1, 1.01, float("nan")])
def test_fraction_outside_unit_interval_rejected(bad):
    with pytest.raises(JunkDNAError, match=r"fraction must be in \(0, 1\]"):
        DataAdequacy(bad)


def test_exactly_one_of_fraction_or_examples():
    with pytest.raises(JunkDNAError, match="exactly one"):
        DataAdequacy()
    with pytest.raises(JunkDNAError, match="exactly one"):
        DataAdequacy(0.5, 10)
    with pytest.raises(JunkDNAError, match="2000 examples asked"):
        DataAdequacy(examples=2000).apply(toy_task())


def test_nested_stratified_deterministic():
    task = toy_task()
    texts = {}
    for f in (0.1, 0.25, 0.7, 1.0):
        out = DataAdequacy(f).apply(task, seed=7)
        texts[f] = set(out.train["text"])
        assert len(out.train) == round(f * 1000)
        # stratified: each class within the prefix bound 1 + C * p_c of its share (C = 4 classes)
        counts = np.bincount(out.train["label"], minlength=4)
        share = np.array([0.5, 0.25, 0.15, 0.1])
        assert np.all(np.abs(counts - share * len(out.train)) < 1 + 4 * share)
        assert out.info["difficulty"]["params"] == {"fraction": f, "examples": None}
        assert out.validation is task.validation
    assert texts[0.1] < texts[0.25] < texts[0.7] < texts[1.0]
    # count samples nest with the fraction samples too
    assert set(DataAdequacy(examples=50).apply(task, seed=7).train["text"]) < texts[0.1]
    # deterministic for a seed, different across seeds, and not "the first p% of the file"
    again = DataAdequacy(0.1).apply(task, seed=7)
    assert set(again.train["text"]) == texts[0.1]
    assert set(DataAdequacy(0.1).apply(task, seed=8).train["text"]) != texts[0.1]
    assert texts[0.1] != {f"row {i}" for i in range(100)}


def test_every_prefix_is_stratified():
    labels = np.repeat([0, 1, 2], [60, 30, 10])
    order = nested_order(labels, 100, seed=0)
    assert sorted(order.tolist()) == list(range(100))
    share = np.array([0.6, 0.3, 0.1])
    for k in range(1, 101):
        counts = np.bincount(labels[order[:k]], minlength=3)
        assert np.all(np.abs(counts - share * k) < 1 + 3 * share), k


def test_regression_is_plain_permutation():
    task = toy_task(head="regression")
    out = DataAdequacy(0.5).apply(task, seed=1)
    assert len(out.train) == 500


def test_from_params_round_trip_and_unknown_keys():
    d = DataAdequacy(0.25)
    assert from_params(d.name, d.params()) == d
    assert from_params("human_model_gap", {}) == HumanModelGap()
    with pytest.raises(JunkDNAError, match="no parameter.*frac.*valid: examples, fraction"):
        from_params("data_adequacy", {"frac": 0.1})
    with pytest.raises(JunkDNAError, match="Did you mean 'data_adequacy'"):
        from_params("data_adequcy", {})


# ------------------------------------------------------------------ one registry, one measure each


def test_every_setting_has_one_name_a_description_and_a_measure_label():
    from junkdna.difficulty import DIFFICULTIES

    assert DIFFICULTIES.names() == [
        "data_adequacy",
        "dense_headroom",
        "external_information",
        "human_model_gap",
        "language_probe",
        "majority_minority",
    ]
    for name, cls in DIFFICULTIES.items():
        assert cls.name == name
        for line in (cls.description, cls.measure_label):
            assert line and "\n" not in line, name


def test_measures_larger_is_harder():
    from junkdna.difficulty import (
        DenseHeadroom,
        ExternalInformation,
        MajorityMinority,
        RunFacts,
    )

    assert DataAdequacy(0.25).measure() == pytest.approx(4.0)  # 1 / fraction
    # what the run trained on wins over the parameters (rounding of the sample size)
    assert DataAdequacy(0.3).measure(RunFacts(train_full=999, train_kept=300)) == 999 / 300
    assert DataAdequacy(examples=200).measure() is None  # needs the full split's size
    assert DataAdequacy(examples=200).measure(RunFacts(train_full=800, train_kept=200)) == 4.0
    assert ExternalInformation(mode="closed-book").measure() == 1.0
    assert ExternalInformation(mode="open-book").measure() == 0.0
    facts = RunFacts(dense=0.6, human=0.9, baseline=0.2)
    assert HumanModelGap().measure(facts) == pytest.approx(normalized_gap(0.9, 0.6))
    assert DenseHeadroom().measure(facts) == pytest.approx(50.0)
    assert HumanModelGap().measure(RunFacts(dense=0.6, human=0.0)) is None  # undefined gap
    assert DenseHeadroom().measure(RunFacts(dense=0.6, baseline=float("nan"))) is None
    assert HumanModelGap().measure() is None and DenseHeadroom().measure() is None
    # Setting 2: the inverse of the level's group's share of the two groups' data (Table 2's
    # CC-25 GB when zero-shot); fine-tuning rows need counts or the run's sampled rows.
    zero = dict(majority=("ru", "vi"), minority=("gu", "my"), mode="zero-shot", data="cc25")
    assert MajorityMinority(**zero, group="majority").measure() == pytest.approx(418.8 / 415.3)
    assert MajorityMinority(**zero, group="minority").measure() == pytest.approx(418.8 / 3.5)
    few = MajorityMinority(("en",), ("pl",), majority_examples=800, minority_examples=100)
    assert few.measure() == pytest.approx(9.0)  # 900 / 100, the minority group
    assert MajorityMinority(minority=("gu",)).measure() is None  # all rows: the run knows
    assert few.measure(RunFacts(train_full=90, train_kept=30)) == 3.0


def test_the_run_measure_is_what_the_analysis_falls_back_to():
    """The export measures a run from its task info, the analysis a table's level from its
    label: the same setting object answers both."""
    from junkdna.difficulty import level_from_label, measure_run

    task = toy_task(n=999)  # 996 rows: 30% of them is 298.8, rounded to 299
    run = DataAdequacy(0.3).apply(task, seed=1)
    assert run.info["data_adequacy"] == {"train_full": 996, "train_kept": 299, "stratified": True}
    assert measure_run(run.info) == 996 / 299  # what the run trained on
    # with only the label at hand, the parameters: the same up to the rounding of the sample
    from_label = level_from_label("data_adequacy", "fraction=0.3").measure()
    assert from_label == 1 / 0.3 and from_label == pytest.approx(996 / 299, rel=1e-3)
    human = toy_task(info={"human": {"value": 0.9}})
    assert measure_run(HumanModelGap().apply(human).info) is None  # needs the dense score
    assert measure_run(task.info) is None  # no difficulty level


def test_level_from_label():
    from junkdna.difficulty import ExternalInformation, MajorityMinority, level_from_label

    assert level_from_label("data_adequacy", "0.25") == DataAdequacy(0.25)
    assert level_from_label("data_adequacy", "examples=200") == DataAdequacy(examples=200)
    assert level_from_label("external_information", "closed-book") == ExternalInformation(
        mode="closed-book"
    )
    label = "majority=['ru', 'vi'],minority=['gu'],minority_examples=10,mode=few-shot"
    assert level_from_label("majority_minority", label) == MajorityMinority(
        ("ru", "vi"), ("gu",), minority_examples=10, mode="few-shot"
    )
    assert level_from_label("human_model_gap", "any label") == HumanModelGap()
    assert level_from_label("data_adequacy", "half") is None  # free-form: no parameters
    assert level_from_label("majority_minority", "zero-shot") is None  # domains unknown
    assert level_from_label("no_such_setting", "x") is None


def test_old_names_are_aliases_with_a_deprecation_warning():
    from junkdna.difficulty import current_name

    assert current_name("human_model_gap") == "human_model_gap"
    with pytest.warns(JunkDNADeprecationWarning, match="'across_tasks'.*'human_model_gap'"):
        assert current_name("across_tasks") == "human_model_gap"
    with pytest.warns(JunkDNADeprecationWarning, match="'external_information'"):
        assert current_name("external_info") == "external_information"
