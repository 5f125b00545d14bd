"""Wanda (Sun et al., 2023): score |W_ij| * ||X_j||_2, compared per output row.

||X_j||_2 is the norm of input feature j over all calibration tokens. As in the paper's code, we
keep a running mean over sequences of the squared column norms (fp32, whatever the model dtype)
and take the square root at the end; the constant factor 1/sqrt(nsequences) changes no ranking.
"""

from __future__ import annotations

import torch

from junkdna.errors import JunkDNAError
from junkdna.pruning.base import register
from junkdna.pruning.calibrated import CalibrationCriterion, flat_inputs


class ColumnNorms:
    """Running mean over sequences of the squared input-column norms, shape (in,)."""

    def __init__(self, in_features: int, device: torch.device | str = "cpu"):
        self.sq = torch.zeros(in_features, dtype=torch.float32, device=device)
        self.nseq = 0

    def add(self, x: torch.Tensor) -> None:
        rows, nseq = flat_inputs(x)  # (tokens, in) fp32
        if rows.shape[0] == 0:
            return
        total = self.nseq + nseq
        self.sq.mul_(self.nseq / total).add_(rows.square().sum(0), alpha=1.0 / total)
        self.nseq = total

    def norm(self) -> torch.Tensor:
        return self.sq.sqrt()


@register
class Wanda(CalibrationCriterion):
    name = "wanda"
    default_scope = "row"  # Wanda's comparison group

    def new_stats(self, in_features: int, device: torch.device) -> ColumnNorms:
        return ColumnNorms(in_features, device)

    def score(self, weight: torch.Tensor, stats: ColumnNorms | torch.Tensor = None) -> torch.Tensor:
        """(out, in) weight and column norms (a ColumnNorms or an (in,) tensor) -> scores."""
        if stats is None:
            raise JunkDNAError("wanda needs the input column norms of the layer")
        norm = stats.norm() if isinstance(stats, ColumnNorms) else stats
        if norm.shape != (weight.shape[1],):
            raise JunkDNAError(
                f"wanda: {tuple(norm.shape)} column norms for a weight with {weight.shape[1]} inputs"
            )
        return weight.abs() * norm.to(weight.device, torch.float32)[None, :]
