"""Magnitude pruning: the smallest |W| go."""

from __future__ import annotations

import torch

from junkdna.pruning.base import Criterion, register


@register
class Magnitude(Criterion):
    name = "magnitude"
    default_scope = "global"  # the paper's default for RoBERTa and mBART
    elementwise = True

    def score(self, weight: torch.Tensor, stats=None) -> torch.Tensor:
        return weight.abs()
