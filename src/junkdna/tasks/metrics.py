"""Task metrics, each returning a dict whose first key is the primary metric.

Conventions follow GLUE: Matthews correlation for CoLA, F1 (positive class 1) and accuracy for
QQP/MRPC, Pearson and Spearman for STS-B, accuracy elsewhere. Values are fractions (0..1, or
-1..1 for correlations), not percentages. An undefined value (no examples, constant predictions
for a correlation) is NaN, never a silent 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from junkdna.errors import JunkDNAError
from junkdna.registry import Registry

Metric = Callable[[np.ndarray, np.ndarray], dict[str, float]]
METRICS: Registry[Metric] = Registry("metric")
NAN = float("nan")


@METRICS.register("accuracy")
def accuracy(preds: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    preds, labels = np.asarray(preds), np.asarray(labels)
    return {"accuracy": float((preds == labels).mean()) if len(labels) else NAN}


@METRICS.register("matthews")
def matthews(preds: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import matthews_corrcoef

    if not len(labels):
        return {"matthews": NAN, "accuracy": NAN}
    # sklearn returns 0.0 when a row or column of the confusion matrix is empty (constant
    # predictions): that is the GLUE convention too, so we keep it.
    return {"matthews": float(matthews_corrcoef(labels, preds)), **accuracy(preds, labels)}


@METRICS.register("f1_accuracy")
def f1_accuracy(preds: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score

    if not len(labels):
        return {"f1": NAN, "accuracy": NAN}
    return {
        "f1": float(f1_score(labels, preds, pos_label=1, average="binary", zero_division=0.0)),
        **accuracy(preds, labels),
    }


@METRICS.register("pearson_spearman")
def pearson_spearman(preds: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    preds, labels = np.asarray(preds, dtype=float), np.asarray(labels, dtype=float)
    if len(labels) < 2 or np.ptp(preds) == 0 or np.ptp(labels) == 0:
        return {"pearson": NAN, "spearman": NAN}  # correlation undefined
    return {
        "pearson": float(pearsonr(preds, labels)[0]),
        "spearman": float(spearmanr(preds, labels)[0]),
    }


_NUMBER = re.compile(r"-?\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?|-?\.\d+")


def parse_number(text) -> float | None:
    """The last number in a generated answer ("... so the answer is 1,250." -> 1250.0)."""
    if isinstance(text, int | float | np.number):
        return float(text)
    found = _NUMBER.findall(str(text))
    if not found:
        return None
    try:
        return float(found[-1].replace(",", "").rstrip("."))
    except ValueError:
        return None


@METRICS.register("numeric_match")
def numeric_match(preds: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Arithmetic word problems: the last number in the answer equals the gold number (1e-4 rel)."""
    if not len(labels):
        return {"numeric_match": NAN}
    hits = 0
    for p, g in zip(preds, labels, strict=True):
        pv, gv = parse_number(p), parse_number(g)
        hits += (
            pv is not None and gv is not None and math.isclose(pv, gv, rel_tol=1e-4, abs_tol=1e-6)
        )
    return {"numeric_match": hits / len(labels)}


def compute(name: str, preds, labels) -> dict[str, float]:
    preds, labels = np.asarray(preds), np.asarray(labels)
    if preds.shape[0] != labels.shape[0]:
        raise JunkDNAError(f"metric {name}: {len(preds)} predictions for {len(labels)} labels")
    return METRICS.get(name)(preds, labels)


def primary(name: str, scores: dict[str, float]) -> float:
    """The primary value of a metric's result (its first key)."""
    return next(iter(scores.values()))
