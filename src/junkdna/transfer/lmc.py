"""Linear mode connectivity (paper appendix B): are the dense and the sparse fine-tuned solutions
joined by a straight path of low loss?

theta(alpha) = alpha * theta_b + (1 - alpha) * theta_a, so alpha = 0 is ``state_a`` (the dense
solution, by the paper's convention) and alpha = 1 is ``state_b`` (the sparse one). The loss barrier
is the largest excess of the loss over the straight line between the endpoint losses:

    barrier = max_alpha [ loss(alpha) - ((1 - alpha) * loss(0) + alpha * loss(1)) ]

It is >= 0 (the excess is 0 at both endpoints); ~0 means linearly connected.

``run_pair`` interpolates two saved fine-tuned checkpoints of one model on a task's validation
split, scoring the held-out loss (the training loss) and the task's primary metric at each alpha.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from junkdna.errors import JunkDNAError

# eval_fn(model) -> (loss, metric) or {"loss": ..., "metric": ...}
EvalFn = Callable[[nn.Module], "tuple[float, float] | Mapping[str, float]"]
ENDPOINT_TOL = 1e-9


def loss_barrier(alphas: Sequence[float], losses: Sequence[float]) -> float:
    """Largest excess of ``losses`` over the chord between the losses at alpha 0 and alpha 1.
    ``alphas`` must contain 0 and 1 (the endpoints define the chord)."""
    a = np.asarray(alphas, dtype=float)
    loss = np.asarray(losses, dtype=float)
    if a.shape != loss.shape or a.ndim != 1 or a.size < 2:
        raise JunkDNAError(
            f"alphas and losses must be 1-D of equal length >= 2, got {a.shape} and {loss.shape}"
        )
    if not np.isfinite(loss).all():
        raise JunkDNAError("losses must be finite to compute a loss barrier")
    ends = [np.flatnonzero(np.abs(a - e) < ENDPOINT_TOL) for e in (0.0, 1.0)]
    if any(len(i) == 0 for i in ends):
        raise JunkDNAError(f"alphas must include 0 and 1 (the two endpoints); got {a.tolist()}")
    l0, l1 = loss[ends[0][0]], loss[ends[1][0]]
    return float(np.max(loss - ((1 - a) * l0 + a * l1)))


@dataclass
class LMCResult:
    alphas: list[float]
    losses: list[float]
    metrics: list[float]
    barrier: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"alpha": self.alphas, "loss": self.losses, "metric": self.metrics})


def _check_states(
    model: nn.Module, a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]
) -> None:
    own = model.state_dict()
    for name, other in (("state_a", a), ("state_b", b)):
        if set(other) != set(own):
            extra, missing = sorted(set(other) - set(own)), sorted(set(own) - set(other))
            raise JunkDNAError(
                f"{name} does not match the model's parameters: missing {missing[:3]}, "
                f"unexpected {extra[:3]}"
            )
        for key, t in other.items():
            if t.shape != own[key].shape:
                raise JunkDNAError(
                    f"{name}[{key!r}] has shape {tuple(t.shape)}, model has {tuple(own[key].shape)}"
                )


def _mix(a: torch.Tensor, b: torch.Tensor, alpha: float, key: str) -> torch.Tensor:
    if a.is_floating_point():
        return torch.lerp(a.float(), b.float().to(a.device), alpha).to(a.dtype)
    # Integer buffers (position ids, counters) cannot be averaged; they must agree.
    if not torch.equal(a, b.to(a.device)):
        raise JunkDNAError(f"non-float entry {key!r} differs between the two states")
    return a


def _as_pair(out) -> tuple[float, float]:
    if isinstance(out, Mapping):
        if "loss" not in out:
            raise JunkDNAError(f"eval_fn returned keys {sorted(out)}; it must include 'loss'")
        return float(out["loss"]), float(out.get("metric", np.nan))
    loss, metric = out
    return float(loss), float(metric)


@torch.no_grad()
def interpolate(
    model: nn.Module,
    state_a: Mapping[str, torch.Tensor],
    state_b: Mapping[str, torch.Tensor],
    alphas: Sequence[float],
    eval_fn: EvalFn,
) -> LMCResult:
    """Evaluate ``model`` at theta(alpha) for each alpha, in memory (nothing is saved).

    The model's own weights are restored afterwards. ``eval_fn(model)`` runs the held-out
    evaluation (and chooses eval mode / no_grad itself) and returns (loss, metric)."""
    alphas = [float(x) for x in alphas]
    _check_states(model, state_a, state_b)
    original = {k: v.detach().clone() for k, v in model.state_dict().items()}
    losses, metrics = [], []
    try:
        for alpha in alphas:
            mixed = {k: _mix(state_a[k], state_b[k], alpha, k) for k in state_a}
            model.load_state_dict(mixed)
            with torch.enable_grad():  # eval_fn decides about gradients, not us
                loss, metric = _as_pair(eval_fn(model))
            losses.append(loss)
            metrics.append(metric)
    finally:
        model.load_state_dict(original)
    return LMCResult(alphas, losses, metrics, loss_barrier(alphas, losses))


def parse_alphas(text: str | None = None, steps: int | None = None) -> list[float]:
    """The grid: ``text`` ("0,0.25,...,1") or ``steps`` evenly spaced points (default 11).
    Every alpha lies in [0, 1] and the grid holds both endpoints (they define the chord)."""
    if text is not None and steps is not None:
        raise JunkDNAError("give --alphas or --steps, not both")
    if text is None:
        steps = 11 if steps is None else steps
        if steps < 2:
            raise JunkDNAError(f"--steps must be >= 2 (the two endpoints), got {steps}")
        return [round(float(a), 12) for a in np.linspace(0.0, 1.0, steps)]
    try:
        alphas = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise JunkDNAError(f"--alphas must be comma-separated numbers, got {text!r}") from None
    bad = [a for a in alphas if not (math.isfinite(a) and 0.0 <= a <= 1.0)]
    if bad:
        raise JunkDNAError(f"alphas must lie in [0, 1] (0 = dense, 1 = sparse); got {bad}")
    for end in (0.0, 1.0):
        if not any(abs(a - end) < ENDPOINT_TOL for a in alphas):
            raise JunkDNAError(f"alphas must include 0 and 1 (the two endpoints); got {alphas}")
    return sorted(set(alphas))


def same_alphas(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) < ENDPOINT_TOL for x, y in zip(a, b, strict=True))


def load_endpoint(model, path: Path, role: str) -> dict[str, Any]:
    """The full state dict of ``model`` with ``path``'s weights (tied weights, stored once by
    ``save_model``, are restored by loading into the model). Shapes and names must match."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    try:
        load_model(model, str(path), strict=True)
    except (RuntimeError, SafetensorError, OSError) as e:
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise JunkDNAError(
            f"{role} weights {path} do not fit {type(model).__name__} (a different model, head "
            f"or number of labels?): {first}"
        ) from None
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def eval_fn(tokenizer, task, recipe):
    """``model -> {"loss", "metric"}`` on the task's validation split (primary metric)."""
    from junkdna.transfer.evaluate import evaluate
    from junkdna.transfer.loss import evaluate_loss

    def run(model) -> dict[str, float]:
        scores = evaluate(model, tokenizer, task, recipe)
        return {"loss": evaluate_loss(model, tokenizer, task, recipe), "metric": _primary(scores)}

    return run


def _primary(scores: Mapping[str, float]) -> float:
    return float(next(iter(scores.values()))) if scores else float("nan")


def run_pair(model, tokenizer, task, recipe, sparse: Path, dense: Path, alphas) -> LMCResult:
    """Interpolate dense (alpha 0) -> sparse (alpha 1) on ``task``'s validation split."""
    model.to(recipe.resolved_device())
    dense_state = load_endpoint(model, dense, "dense (B)")
    sparse_state = load_endpoint(model, sparse, "sparse (A)")
    # interpolate: alpha 0 is state_a, alpha 1 is state_b.
    return interpolate(model, dense_state, sparse_state, alphas, eval_fn(tokenizer, task, recipe))
