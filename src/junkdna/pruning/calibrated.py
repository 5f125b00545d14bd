"""The base class of pruning methods whose scores need each layer's inputs (Wanda, SparseGPT),
and its input helpers. The block-by-block engine that feeds them is ``pruning.sequential``; the
calibration text comes from ``pruning.calibration``."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from junkdna.errors import JunkDNAError
from junkdna.pruning.base import Criterion, with_defaults
from junkdna.pruning.select import MaskRule

DEFAULT_BATCH_SIZE = 8  # sequences per forward pass: bounds activation memory


class CalibrationCriterion(Criterion):
    """A criterion whose scores need the layer's inputs.

    ``new_stats(in_features, device)`` returns an accumulator with ``add(x)`` (x: the layer
    input, (..., in), any dtype); ``prune_layer`` turns a weight and its statistics into a keep
    mask, and optionally new weights (SparseGPT overrides it; others only score).
    """

    needs_calibration = True
    default_scope = "layer"
    scopes = ("layer", "row")  # a global threshold needs all layers' statistics at once
    option_defaults: ClassVar[dict[str, Any]] = {"batch_size": DEFAULT_BATCH_SIZE}

    def __init__(self, **options: Any):
        self.options = with_defaults(self.name, options, self.option_defaults)
        self.check_options()

    def check_options(self) -> None:
        positive_int(self.options["batch_size"], f"{self.name} option batch_size")

    def new_stats(self, in_features: int, device: torch.device) -> Any:
        raise NotImplementedError

    def prune_layer(
        self, weight: torch.Tensor, stats: Any, rule: MaskRule, name: str
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(out, in) fp32 weight -> (keep mask (out, in), new weight or None)."""
        return rule.select(self.score(weight, stats), name), None

    def summary(self) -> dict[str, Any]:
        """Extra JSON-able facts for the calibration info (e.g. dampening retries)."""
        return {}


def positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise JunkDNAError(f"{what} must be a positive integer, got {value!r}")
    return value


def flat_inputs(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Layer input (..., in) -> fp32 (tokens, in) and the number of sequences it holds."""
    nseq = x.numel() // (x.shape[-2] * x.shape[-1]) if x.dim() >= 3 else 1
    return x.detach().reshape(-1, x.shape[-1]).float(), nseq
