"""Task registry: specs validate, offline preparation from a small local archive, splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_bigbench import make_archive

from junkdna.errors import JunkDNAError
from junkdna.tasks import prepare as prep
from junkdna.tasks.registry import get_spec, list_specs, load_task
from junkdna.tasks.spec import HubSource, HumanScore, TaskSpec
from junkdna.tasks.splits import split_positions

PAPER_TASKS = [
    "sst2",
    "cola",
    "qqp",
    "stsb",
    "qnli",
    "mnli",
    "rte",
    "mrpc",
    "csqa",
    "winogrande",
    "mawps",
    "svamp",
]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    return tmp_path


def test_every_spec_validates_and_paper_tasks_exist():
    names = {s.name for s in list_specs()}
    assert set(PAPER_TASKS) <= names
    assert {"multiemo_en", "vitaminc", "winogrande_twins"} <= names
    for spec in list_specs():
        spec.validate()
        # offline = no hub source anywhere (a domain mix is offline when all its parts are)
        parts = getattr(spec.source, "parts", ())
        hub = isinstance(spec.source, HubSource) or any(not get_spec(t).offline for _, t in parts)
        assert spec.offline == (not hub)
    assert get_spec("qqp").human.key == "accuracy"
    assert get_spec("cola").metric == "matthews" and get_spec("stsb").head == "regression"


def test_unknown_task_did_you_mean():
    with pytest.raises(JunkDNAError, match="Did you mean 'sst2'"):
        load_task("sst3")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"metric": "acc"}, "unknown metric"),
        ({"head": "ranking"}, "head 'ranking'"),
        ({"human": HumanScore(0.9, "f1", "x")}, "human score key 'f1'"),
        ({"label_names": ("a",)}, "1 label_names for num_labels=2"),
        ({"text_fields": ("a", "b", "c")}, "one or two fields"),
    ],
)
def test_bad_spec_rejected(change, message):
    base = dict(
        name="t",
        description="",
        source=HubSource("x"),
        head="classification",
        text_fields=("sentence",),
        metric="accuracy",
        num_labels=2,
    )
    with pytest.raises(JunkDNAError, match=message):
        TaskSpec(**{**base, **change})


def test_split_rule_is_fixed_and_partitions():
    a = split_positions(100, 10, 10)
    b = split_positions(100, 10, 10)
    for k in a:
        assert np.array_equal(a[k], b[k])
    together = np.concatenate(list(a.values()))
    assert sorted(together.tolist()) == list(range(100))
    # Pinned: the rule must not drift across numpy versions or machines.
    assert a["validation"].tolist() == PINNED_VALIDATION


PINNED_VALIDATION = [8, 11, 22, 27, 51, 68, 74, 76, 77, 90]


def test_prepare_and_load_offline_task(home):
    archive = make_archive(home)
    task = load_task("multiemo_en", archive=archive)
    meta = task.info
    assert meta["source_examples"] == 61 and meta["dropped_examples"] == 1
    assert meta["sizes"] == {
        "train": len(task.train),
        "validation": len(task.validation),
        "test": len(task.test),
    }
    assert sum(meta["sizes"].values()) == 60
    assert task.text_fields == ("text",) and task.num_labels == 4 and task.metric == "accuracy"
    row = task.train[0]
    assert task.label_names[row["label"]] in row["text"]  # the label mapping is right
    # majority baseline = share of the train-majority class in validation
    labels = task.validation["label"]
    majority = task.label_names.index(meta["majority_label"])
    assert meta["majority_baseline"]["validation"] == pytest.approx(
        labels.count(majority) / len(labels)
    )
    # prepared once: a second load reads the cache (archive gone)
    archive.path.unlink()
    assert len(load_task("multiemo_en", archive=archive).train) == len(task.train)


def test_parallel_languages_share_the_split(home):
    archive = make_archive(home)
    en = load_task("multiemo_en", archive=archive)
    pl = load_task("multiemo_pl", archive=archive)
    assert en.validation["text"] == pl.validation["text"]  # same positions (same fake text here)
    # polarity: the English rows labelled positive or negative, same split, labels remapped
    pol = load_task("multiemo_en_polarity", archive=archive)
    assert pol.label_names == ("positive", "negative") and pol.num_labels == 2
    en_rows = {r["text"]: en.label_names[r["label"]] for r in en.validation}
    want = {t: lab for t, lab in en_rows.items() if lab in ("positive", "negative")}
    assert want and {r["text"]: pol.label_names[r["label"]] for r in pol.validation} == want


def test_sentence_pair_and_twins(home):
    archive = make_archive(home)
    vit = load_task("vitaminc", archive=archive)
    row = vit.train[0]
    assert row["evidence"].startswith("Title") and row["claim"].startswith("claim")
    assert (
        vit.label_names[row["label"]]
        == ("True", "False", "Neither")[int(row["claim"].split()[1].rstrip(".")) % 3]
    )
    tw = load_task("winogrande_twins", archive=archive)
    for split in (tw.train, tw.validation, tw.test):
        assert split["label"].count(0) == split["label"].count(1)  # twins stay together
    r = tw.train[0]
    assert "the cup was" in r["filled_option1"] and "the bowl was" in r["filled_option2"]
    assert ("big" in r["filled_option1"]) == (r["label"] == 0)
    mc = load_task("winogrande_mc", archive=archive)
    assert mc.head == "multiple-choice" and mc.choices_field == "choices"
    assert len(mc.train) == len(tw.train) and mc.train["label"] == tw.train["label"]
    for row, pair in zip(mc.train, tw.train, strict=True):
        assert row["sentence"].count("_") == 1 and len(row["choices"]) == 2
        filled = [row["sentence"].replace("_", c) for c in row["choices"]]
        assert filled == [pair["filled_option1"], pair["filled_option2"]]


def test_hub_task_is_not_prepared_offline(home):
    with pytest.raises(JunkDNAError, match="comes from the hub"):
        prep.prepare("sst2")


def test_missing_column_is_a_clear_error(home, monkeypatch):
    archive = make_archive(home)
    prep.prepare("multiemo_en", archive)
    folder = prep.task_dir(get_spec("multiemo_en"))
    lines = (folder / "validation.jsonl").read_text().splitlines()
    rows = [{"sentence": json.loads(x)["text"], "label": json.loads(x)["label"]} for x in lines]
    (folder / "validation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(JunkDNAError, match="split 'validation' has no column.*text"):
        load_task("multiemo_en", archive=archive)


def test_cli_tasks_lists_specs(capsys):
    from junkdna.cli import main

    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "sst2" in out and "multiemo_en" in out and "Nangia & Bowman" in out
    forms = {line.split()[0]: line.split()[-3] for line in out.splitlines() if line[:1].strip()}
    assert forms["rte_val"] == "true_false" and forms["arc_easy_val"] == "choices"  # zero-shot
    assert forms["triviaqa_val"] == "-" and forms["winogrande"] == "partial"


def test_measured_baselines_learns_rule_and_plan_notes():
    from junkdna.study import load_study, plan_study
    from junkdna.study.plan import measured_notes
    from junkdna.tasks.baselines import Measured, measured

    def m(score, base, n):
        return Measured("t", "minilm", score, base, n, "r", "c", "d")

    # margin = 3 * sqrt(b (1 - b) / n): 0.531 over 286 rows -> 0.0885
    assert m(0.783, 0.531, 286).margin == pytest.approx(3 * (0.531 * 0.469 / 286) ** 0.5)
    assert m(0.783, 0.531, 286).learns and not m(0.61, 0.531, 286).learns
    assert not m(0.506, 0.5, 1000).learns  # 0.006 above chance is noise at n = 1000
    assert measured("sst2_val").learns and not measured("rte_val").learns
    assert measured("csqa_val").learns and not measured("winogrande_val").learns
    studies = Path(__file__).resolve().parents[1] / "studies"
    notes = measured_notes(plan_study(load_study(studies / "minilm_baselines.toml")))
    assert any("rte_val" in n and "does NOT learn" in n for n in notes)
    assert not any("sst2_val" in n for n in notes)
