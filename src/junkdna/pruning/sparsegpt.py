"""SparseGPT (Frantar & Alistarh, 2023): prune with the layer-wise OBS solver and update the kept
weights so that the layer's output on the calibration data changes as little as possible.

For a layer with weight W (rows, cols) and inputs X (cols, n): H = (2/n) X X^T. Columns are
processed left to right; pruning column i (error e = (w - q) / [H^-1]_ii) is compensated by the
not yet processed columns through row i of U, the upper Cholesky factor of H^-1 (the OBS update
restricted to the remaining columns). Updates inside a block of ``blocksize`` columns are applied
column by column; the rest of the matrix receives the block's errors in one matmul (lazy update).
The mask is chosen adaptively per block from w^2 / U_ii^2 just before the block is processed.
Cost per layer: O(cols^3) for the inverse plus O(rows * cols^2) for the updates.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from junkdna.errors import JunkDNAError
from junkdna.pruning.base import register
from junkdna.pruning.calibrated import CalibrationCriterion, flat_inputs
from junkdna.pruning.select import (
    MaskRule,
    select_layer,
    select_nm,
    select_row_counts,
    select_rows,
    select_smallest,
    spread,
)

DAMP_RETRIES = 3  # after the first attempt, dampening x10 each time


class Hessian:
    """H = (2/n) X X^T over all n calibration tokens, (in, in) fp32, updated batch by batch."""

    def __init__(self, in_features: int, device: torch.device | str = "cpu"):
        self.h = torch.zeros(in_features, in_features, dtype=torch.float32, device=device)
        self.n = 0

    def add(self, x: torch.Tensor) -> None:
        rows, _ = flat_inputs(x)  # (tokens, in) fp32
        if rows.shape[0] == 0:
            return
        total = self.n + rows.shape[0]
        self.h.mul_(self.n / total).addmm_(rows.T, rows, alpha=2.0 / total)
        self.n = total


@register
class SparseGPT(CalibrationCriterion):
    name = "sparsegpt"
    updates_weights = True
    default_scope = "layer"
    option_defaults = {"batch_size": 8, "damp": 0.01, "blocksize": 128}

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.damp_retries: dict[str, float] = {}

    def check_options(self) -> None:
        super().check_options()
        damp, bs = self.options["damp"], self.options["blocksize"]
        if isinstance(damp, bool) or not isinstance(damp, int | float) or not 0 <= damp < math.inf:
            raise JunkDNAError(f"sparsegpt option damp must be a number >= 0, got {damp!r}")
        if isinstance(bs, bool) or not isinstance(bs, int) or bs < 1:
            raise JunkDNAError(f"sparsegpt option blocksize must be a positive integer, got {bs!r}")

    def new_stats(self, in_features: int, device: torch.device) -> Hessian:
        return Hessian(in_features, device)

    def score(self, weight: torch.Tensor, stats: Hessian | torch.Tensor = None) -> torch.Tensor:
        """One-shot OBS saliency w^2 / [U]_jj^2 (no updates); ``prune_layer`` is what prunes."""
        h = stats.h if isinstance(stats, Hessian) else stats
        if h is None:
            raise JunkDNAError("sparsegpt needs the layer's Hessian")
        u, _ = inverse_cholesky(h.float().clone(), float(self.options["damp"]), "layer")
        return weight.square() / u.diagonal().square()[None, :]

    def prune_layer(self, weight, stats: Hessian, rule: MaskRule, name: str):
        damp = float(self.options["damp"])
        rule = rule.for_layer(name)  # a layer budget's exact count for this matrix, if any
        new, keep, used = solve(weight, stats.h, rule, self.options["blocksize"], damp, name)
        if used != damp:
            self.damp_retries[name] = used
        return keep, new

    def summary(self) -> dict[str, Any]:
        return {"damp_retries": dict(self.damp_retries)} if self.damp_retries else {}


def inverse_cholesky(h: torch.Tensor, damp: float, name: str) -> tuple[torch.Tensor, float]:
    """Upper Cholesky factor of (H + damp * mean(diag H) * I)^-1, and the dampening used.

    When a factorisation fails, the dampening grows x10 (from at least 1e-3), a few times; then
    a JunkDNAError names the layer. ``h`` is modified in place.
    """
    if not bool(torch.isfinite(h).all()):
        raise JunkDNAError(
            f"sparsegpt: the Hessian of layer {name!r} has NaN or infinite entries "
            "(non-finite activations in the calibration forward pass)"
        )
    mean_diag = h.diagonal().mean()
    fracs = [damp] + [max(damp, 1e-4) * 10**k for k in range(1, DAMP_RETRIES + 1)]
    eye = torch.eye(h.shape[0], dtype=h.dtype, device=h.device)
    added = 0.0
    for frac in fracs:
        h.diagonal().add_((frac - added) * mean_diag)
        added = frac
        # With J the order reversal and J H J = M M^T (lower Cholesky), U = J M^-1 J is upper
        # triangular and U^T U = J M^-T M^-1 J = H^-1: one factorisation and one triangular
        # inverse, no explicit H^-1 (and no second factorisation that could fail).
        lower, info = torch.linalg.cholesky_ex(h.flip(0, 1))
        if int(info) == 0:
            upper = torch.linalg.solve_triangular(lower, eye, upper=False).flip(0, 1)
            if bool(torch.isfinite(upper).all()):
                return upper, frac
    raise JunkDNAError(
        f"sparsegpt: the Hessian of layer {name!r} is not positive definite even with dampening "
        f"{fracs[-1]:g} x its mean diagonal; check the calibration data or raise option damp"
    )


def solve(
    weight: torch.Tensor,
    hessian: torch.Tensor,
    rule: MaskRule,
    blocksize: int = 128,
    damp: float = 0.01,
    name: str = "layer",
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Prune one (rows, cols) weight given its (cols, cols) Hessian.

    Returns the new fp32 weight (zeros where pruned), the keep mask, and the dampening used.
    Unstructured: exactly round(s * rows * width) of each column block go (scope ``layer``), or
    round(s * width) of each row of it (scope ``row``). N:M: N of every M consecutive columns
    are kept, chosen when the solver reaches the group.

    A rule with an exact ``count`` (layer budgets) removes exactly that many in all: the count
    is spread over the column blocks by cumulative rounding (the first j columns hold
    round(count * j / cols) of it; differences of those telescope to exactly ``count``); with
    scope ``row`` each row's own count (``spread`` over the rows) is split the same way.
    """
    w = weight.detach().float().clone()
    rows, cols = w.shape
    h = hessian.detach().float().clone()
    if h.shape != (cols, cols):
        raise JunkDNAError(f"sparsegpt: Hessian {tuple(h.shape)} does not fit layer {name!r}")
    st = rule.structure
    if rule.scope == "global" and not st.is_nm:
        raise JunkDNAError("sparsegpt selects per layer; scope 'global' is not supported")
    if st.is_nm and (cols % st.m or blocksize % st.m):
        raise JunkDNAError(
            f"{st} does not fit layer {name!r}: its input size {cols} and the blocksize "
            f"{blocksize} must be multiples of {st.m}"
        )
    dead = h.diagonal() == 0  # inputs that were always 0: their weights cannot matter
    h.diagonal()[dead] = 1.0
    w[:, dead] = 0.0
    u, used = inverse_cholesky(h, damp, name)
    del h
    keep = torch.ones_like(w, dtype=torch.bool)
    per = None if rule.count is None else (
        spread(rule.count, rows) if rule.scope == "row" else torch.tensor([rule.count])
    )  # fmt: skip
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        # The block is handled transposed, (width, rows): a column of W is a contiguous row.
        wt, keep_t = w[:, i1:i2].t().contiguous(), keep[:, i1:i2].t().contiguous()
        quota = None if per is None else _upto(per, i2, cols) - _upto(per, i1, cols)
        errs_t = _solve_block(wt, u[i1:i2, i1:i2], keep_t, rule, name, quota)
        w[:, i1:i2] = (wt * keep_t).t()
        keep[:, i1:i2] = keep_t.t()
        w[:, i2:].sub_(errs_t.t() @ u[i1:i2, i2:])  # lazy update of everything right of the block
    return w, keep, used


def _upto(count: torch.Tensor, j: int, cols: int) -> torch.Tensor:
    """round_half_up(count * j / cols) in exact integer arithmetic: how much of ``count`` the
    first ``j`` of ``cols`` columns remove."""
    return (2 * count * j + cols) // (2 * cols)


def _solve_block(wt, u1, keep_t, rule: MaskRule, name: str, quota=None) -> torch.Tensor:
    """One column block, transposed: wt, keep_t (width, rows), updated in place. Returns the
    OBS errors (width, rows).

    Pruning column i costs err = w_i / U_ii on the pruned entries (0 on the kept ones); the
    columns right of it absorb -err * U[i, i+1:]. Column i itself is not updated (it would
    become exactly q); the caller multiplies the block by its mask instead. Two tensor ops per
    column: the loop over columns is the algorithm, everything inside it is vectorized.
    ``quota``: the block's exact number to remove (a 1-element tensor, scope ``layer``) or each
    row's (a (rows,) tensor, scope ``row``); None follows ``rule.sparsity``.
    """
    d = u1.diagonal()  # (width,)
    st = rule.structure
    if not st.is_nm:
        saliency = wt.square() / d.square()[:, None]  # (width, rows)
        if quota is None:
            select = select_rows if rule.scope == "row" else select_layer
            keep_t.copy_(select(saliency.t(), rule.sparsity).t())
        elif rule.scope == "row":
            keep_t.copy_(select_row_counts(saliency.t(), quota).t())
        else:
            k = int(quota[0])
            keep_t.copy_(select_smallest({name: lambda: saliency.t()}, k=k)[name].t())
        scale = (~keep_t) / d[:, None]  # (width, rows): 1/U_ii where pruned, else 0
    else:
        scale = torch.empty_like(wt)
    errs = torch.empty_like(wt)
    for i in range(wt.shape[0]):
        if st.is_nm and i % st.m == 0:
            g = slice(i, i + st.m)
            group = wt[g].square() / d[g].square()[:, None]  # (M, rows)
            keep_t[g] = select_nm(group.t(), st.n, st.m, name).t()
            torch.div(~keep_t[g], d[g, None], out=scale[g])
        torch.mul(wt[i], scale[i], out=errs[i])
        wt[i + 1 :].addr_(u1[i, i + 1 :], errs[i], alpha=-1.0)  # OBS update of later columns
    return errs
