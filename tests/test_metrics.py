"""Every metric against values computed by hand."""

import math

import numpy as np
import pytest

from junkdna.errors import JunkDNAError
from junkdna.tasks.metrics import METRICS, compute, parse_number


def test_accuracy_by_hand():
    assert compute("accuracy", [1, 0, 1, 1], [1, 1, 1, 0]) == {"accuracy": 0.5}
    assert math.isnan(compute("accuracy", [], [])["accuracy"])


def test_matthews_by_hand():
    # TP=2, TN=1, FP=1, FN=1: (2*1 - 1*1) / sqrt(3*3*2*2) = 1/6
    preds, labels = [1, 1, 1, 0, 0], [1, 1, 0, 1, 0]
    out = compute("matthews", preds, labels)
    assert list(out) == ["matthews", "accuracy"]
    assert out["matthews"] == pytest.approx(1 / 6)
    assert out["accuracy"] == pytest.approx(3 / 5)
    # constant predictions: GLUE/sklearn convention is 0, not NaN
    assert compute("matthews", [1, 1, 1], [1, 0, 1])["matthews"] == 0.0


def test_f1_accuracy_by_hand():
    # TP=2, FP=1, FN=1 -> precision 2/3, recall 2/3, F1 2/3; accuracy 3/5
    out = compute("f1_accuracy", [1, 1, 1, 0, 0], [1, 1, 0, 1, 0])
    assert list(out) == ["f1", "accuracy"]
    assert out["f1"] == pytest.approx(2 / 3)
    assert out["accuracy"] == pytest.approx(3 / 5)
    assert compute("f1_accuracy", [0, 0], [1, 0])["f1"] == 0.0  # no positive predicted


def test_pearson_spearman_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, 3.0, 2.0, 4.0])
    # Pearson: centered x = (-1.5,-.5,.5,1.5), y = (-1.5,.5,-.5,1.5); cov sum 4, var sums 5 -> 0.8
    # Spearman on ranks (same as values here) -> 0.8 too; a monotone warp keeps Spearman only
    out = compute("pearson_spearman", x, y)
    assert list(out) == ["pearson", "spearman"]
    assert out["pearson"] == pytest.approx(0.8)
    assert out["spearman"] == pytest.approx(0.8)
    warped = compute("pearson_spearman", x**3, y)
    assert warped["spearman"] == pytest.approx(0.8)
    assert warped["pearson"] != pytest.approx(0.8)
    assert math.isnan(compute("pearson_spearman", [2.0, 2.0, 2.0], [1.0, 2.0, 3.0])["pearson"])


def test_numeric_match():
    assert parse_number("so the answer is 1,250.") == 1250.0
    assert parse_number("no number") is None
    out = compute("numeric_match", ["it is 12", "3.50", "x", "-2"], ["12", "3.5", "4", "2"])
    assert out == {"numeric_match": 0.5}


def test_unknown_metric_and_length_mismatch():
    with pytest.raises(JunkDNAError, match="Did you mean 'accuracy'"):
        METRICS.get("acuracy")
    with pytest.raises(JunkDNAError, match="3 predictions for 2 labels"):
        compute("accuracy", [0, 1, 1], [0, 1])
