"""A pruning *method* (the one word users see: ``prune(method=...)``, ``--method``, the study
key ``methods``, the results table's ``method`` column) is implemented by a ``Criterion``: it only
scores. Turning scores into masks is ``select.py``'s job."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from junkdna.registry import Registry


class Criterion:
    """Base class. ``score(weight, stats)`` gets the (out, in) weight in fp32 and, for
    calibration criteria, the layer's input statistics; it returns non-negative scores of the
    same shape (higher = more important = kept)."""

    name: ClassVar[str]
    needs_calibration: ClassVar[bool] = False
    # Scores from the task's labelled examples (taylor, fisher): ``prune`` needs ``task=``.
    needs_task: ClassVar[bool] = False
    elementwise: ClassVar[bool] = False  # score of w_ij depends on w_ij alone (cheap sampling)
    updates_weights: ClassVar[bool] = False  # SparseGPT also reconstructs the kept weights
    default_scope: ClassVar[str] = "layer"
    scopes: ClassVar[tuple[str, ...]] = ("global", "layer", "row")

    def __init__(self, **options: Any):
        if options:
            from junkdna.errors import JunkDNAError

            raise JunkDNAError(f"method {self.name!r} takes no options, got {sorted(options)}")
        self.options: dict[str, Any] = {}

    def score(self, weight: torch.Tensor, stats: Any = None) -> torch.Tensor:
        raise NotImplementedError


def with_defaults(method: str, options: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """``options`` over ``defaults``; an unknown option is a did-you-mean error."""
    from junkdna.errors import JunkDNAError, did_you_mean

    for key in options:
        if key not in defaults:
            raise JunkDNAError(
                f"method {method!r} has no option {key!r}." + did_you_mean(key, defaults)
            )
    return {**defaults, **options}


METHODS: Registry[type[Criterion]] = Registry("pruning method")


def register(cls: type[Criterion]) -> type[Criterion]:
    METHODS.add(cls.name, cls)
    return cls
