"""Task metrics, each returning a dict whose first key is the primary metric."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from junkdna.registry import Registry

Metric = Callable[[np.ndarray, np.ndarray], dict[str, float]]
METRICS: Registry[Metric] = Registry("metric")


@METRICS.register("accuracy")
def accuracy(preds: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    preds, labels = np.asarray(preds), np.asarray(labels)
    return {"accuracy": float((preds == labels).mean()) if len(labels) else float("nan")}


def compute(name: str, preds, labels) -> dict[str, float]:
    return METRICS.get(name)(np.asarray(preds), np.asarray(labels))
