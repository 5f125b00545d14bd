"""OWL, Outlier Weighed Layerwise sparsity (Yin et al., 2024): the layer budget that measures the
dense model. A block's outlier ratio D_l is the share of its Wanda scores |W_ij| * ||X_j||_2 (all
its prunable matrices together) above M times their mean, with ||X_j||_2 collected on calibration
token ids by forward hooks on the dense model. Blocks with more outliers keep more: the keep
ratios are D rescaled to [0, 2 lambda], shifted so that their mean is 1 - s, and the block
sparsity is 1 - keep ratio. OWL shifts by the plain mean over layers; we shift by the mean
weighted by the blocks' prunable sizes, so that the total is exact for blocks of any size (the two
are the same when all blocks have equal size, as in LLaMA).

``budgets`` parses ``owl`` / ``owl:M=5,lambda=0.08`` like any budget and turns the block
sparsities into exact per-matrix counts; this module only measures and applies the formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from junkdna.models import Prunable, parameters_by_name

OWL_M = 5.0  # outlier threshold, in multiples of the mean score
OWL_LAMBDA = 0.08  # keep ratios span [0, 2 lambda] before the shift
DEFAULT_BATCH_SIZE = 8  # calibration sequences per forward pass of the norm collection


def outlier_ratio(scores: Sequence[torch.Tensor | Callable[[], torch.Tensor]], m: float) -> float:
    """The share of all entries of ``scores`` (tensors, or functions returning them, taken
    together as one population) that exceed ``m`` times their mean: OWL's D_l of one block."""

    def get(s):
        return s() if callable(s) else s

    total, n = 0.0, 0
    for s in scores:
        t = get(s)
        total += float(t.double().sum())
        n += t.numel()
    if n == 0:
        return 0.0
    threshold = m * (total / n)
    above = sum(int(torch.count_nonzero(get(s).double() > threshold)) for s in scores)
    return above / n


def owl_sparsities(
    ratios: Sequence[float], sizes: Sequence[int], sparsity: float, lam: float
) -> tuple[list[float], bool]:
    """OWL's block sparsities from the outlier ratios D: keep = (D - min) / (max - min) * 2 lambda,
    shifted so that the size-weighted mean keep ratio is 1 - s; sparsity = 1 - keep. Returns the
    sparsities and whether it fell back to uniform (all ratios equal: nothing to rescale)."""
    lo, hi = min(ratios), max(ratios)
    if not hi > lo:
        return [sparsity] * len(ratios), True
    keep = [(d - lo) / (hi - lo) * 2 * lam for d in ratios]
    mean = math.fsum(k * s for k, s in zip(keep, sizes, strict=True)) / sum(sizes)
    shift = (1 - sparsity) - mean  # size-weighted, as budgets.weighted_mean
    return [1 - (k + shift) for k in keep], False


@torch.no_grad()
def activation_norms(
    model: nn.Module,
    prunables: Mapping[str, Prunable],
    calibration: Any,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """||X_j||_2 of every prunable matrix's inputs on the *dense* model (``wanda.ColumnNorms``,
    accumulated by forward hooks over plain forward passes, batch by batch, where the model
    lives), and a description of the calibration used."""
    from junkdna.pruning.calibration import calibration_batches, calibration_info
    from junkdna.pruning.sequential import model_inputs
    from junkdna.pruning.wanda import ColumnNorms

    batches = calibration_batches(calibration, batch_size)
    params = parameters_by_name(model)
    stats, handles = {}, []

    def recorder(acc):
        def hook(module, args, output):
            acc.add(args[0])

        return hook

    was_training = model.training
    model.eval()
    try:
        for n, p in prunables.items():
            w = p.matrix(params[n])
            stats[n] = ColumnNorms(w.shape[1], w.device)
            module = model.get_submodule(p.module_name)
            handles.append(module.register_forward_hook(recorder(stats[n])))
        for ids in batches:
            model(**model_inputs(model, ids))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    info = calibration_info(batches, calibration)
    return {n: s.norm() for n, s in stats.items()}, info


def outlier_ratios(
    model: nn.Module,
    prunables: Mapping[str, Prunable],
    norms: Mapping[str, torch.Tensor],
    m: float,
    groups: Mapping[str, Sequence[str]],
) -> dict[str, float]:
    """OWL's D_l per group (``groups``: {group: parameter names}, ``budgets.block_groups``): the
    share of the group's Wanda scores |W| * ||X|| (all its matrices together) above ``m`` times
    their mean."""
    params = parameters_by_name(model)

    def score(n: str) -> Callable[[], torch.Tensor]:
        def fn() -> torch.Tensor:
            w = prunables[n].matrix(params[n].detach()).float()
            return w.abs() * norms[n].to(w.device, torch.float32)[None, :]

        return fn

    return {g: outlier_ratio([score(n) for n in names], m) for g, names in groups.items()}
