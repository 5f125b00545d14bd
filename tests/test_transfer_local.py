"""Local JSONL/CSV files as tasks."""

from __future__ import annotations

import csv
import json

import pytest

from junkdna.errors import JunkDNAError
from junkdna.tasks.local import load_local_task


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_jsonl_pairs_int_labels_and_seeded_disjoint_split(tmp_path):
    rows = [{"a": f"s{i}", "b": f"t{i}", "y": i % 3} for i in range(20)]
    f = write_jsonl(tmp_path / "pairs.jsonl", rows)
    t = load_local_task(f, text_fields=("a", "b"), label_field="y", validation_fraction=0.25)
    assert (len(t.train), len(t.validation)) == (15, 5)
    assert t.num_labels == 3 and t.label_names is None and t.metric == "accuracy"
    assert set(list(t.train["a"])).isdisjoint(list(t.validation["a"]))
    assert set(list(t.train["a"])) | set(list(t.validation["a"])) == {r["a"] for r in rows}
    again = load_local_task(f, text_fields=("a", "b"), label_field="y", validation_fraction=0.25)
    assert list(again.validation["a"]) == list(t.validation["a"])  # seeded: same split every time
    other = load_local_task(f, ("a", "b"), "y", validation_fraction=0.25, seed=1)
    assert list(other.validation["a"]) != list(t.validation["a"])


def test_csv_string_labels_become_sorted_class_ids(tmp_path):
    f = tmp_path / "emo.csv"
    with f.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for i, lab in enumerate(["pos", "neg", "neu", "pos", "neg", "pos"]):
            w.writerow([f"sentence {i}", lab])
    t = load_local_task(f, validation_fraction=0.5)
    assert t.label_names == ("neg", "neu", "pos") and t.num_labels == 3
    by_text = dict(
        zip(
            list(t.train["text"]) + list(t.validation["text"]),
            list(t.train["label"]) + list(t.validation["label"]),
            strict=True,
        )
    )
    assert by_text["sentence 0"] == 2 and by_text["sentence 1"] == 0 and by_text["sentence 2"] == 1


def test_missing_columns_named_with_those_present(tmp_path):
    f = write_jsonl(tmp_path / "x.jsonl", [{"sentence": "a", "gold": 1}] * 4)
    with pytest.raises(
        JunkDNAError, match=r"lacks column\(s\) 'text', 'label'; columns present: gold, sentence"
    ):
        load_local_task(f)


def test_regression_and_generation_labels_and_validation_file(tmp_path):
    train = write_jsonl(
        tmp_path / "tr.jsonl", [{"text": "a", "label": "0.5"}, {"text": "b", "label": 2}]
    )
    val = write_jsonl(tmp_path / "va.jsonl", [{"text": "c", "label": 1}])
    t = load_local_task(train, head="regression", validation=val)
    assert list(t.train["label"]) == [0.5, 2.0] and list(t.validation["label"]) == [1.0]
    assert t.metric == "pearson_spearman" and "validation file" in t.info["split"]
    g = load_local_task(train, head="causal-lm", validation=val)
    assert list(g.train["label"]) == ["0.5", "2"] and g.num_labels is None


@pytest.mark.parametrize(
    "content, suffix, match",
    [
        ('{"text": "a", "label": 1}\nnot json\n', ".jsonl", r"x.jsonl:2: not valid JSON"),
        ("", ".jsonl", "has no rows"),
        ("text,label\n", ".csv", "has no rows"),
        ("a b", ".txt", "expected one of .jsonl, .csv"),
    ],
)
def test_bad_files(tmp_path, content, suffix, match):
    f = tmp_path / f"x{suffix}"
    f.write_text(content)
    with pytest.raises(JunkDNAError, match=match):
        load_local_task(f)


def test_bad_head_negative_class_and_regression_text(tmp_path):
    f = write_jsonl(tmp_path / "x.jsonl", [{"text": "a", "label": -1}, {"text": "b", "label": 0}])
    with pytest.raises(JunkDNAError, match="must be >= 0"):
        load_local_task(f, validation_fraction=0.5)
    with pytest.raises(JunkDNAError, match="unknown head 'clasification'"):
        load_local_task(f, head="clasification")
    g = write_jsonl(
        tmp_path / "g.jsonl", [{"text": "a", "label": "high"}, {"text": "b", "label": "low"}]
    )
    with pytest.raises(JunkDNAError, match="must be numbers"):
        load_local_task(g, head="regression", validation_fraction=0.5)
    with pytest.raises(JunkDNAError, match="does not exist"):
        load_local_task(tmp_path / "nope.jsonl")
