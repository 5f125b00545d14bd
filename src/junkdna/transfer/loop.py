"""The one training loop: every regime, every head kind, CPU or CUDA, fp32 or bf16 autocast.

Per optimizer step (``grad_accum`` micro-batches)::

    zero grads -> forward/backward each micro-batch (loss checked finite) -> regime.before_step
    -> clip -> AdamW step -> LR schedule -> regime.after_step

Gradients are zeroed at the *start* of a step, so the last step's (masked) gradients are still
there when the regime checks its invariants at the end.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.heads import batching
from junkdna.heads.batching import autocast, device_of
from junkdna.recipe import Recipe
from junkdna.transfer.regimes import Regime

log = logging.getLogger(__name__)


class NonFiniteError(JunkDNAError):
    """The loss, the gradient norm or a weight became NaN or infinite."""


def build_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices only. Biases and norm scales (LayerNorm, RMSNorm) are
    exactly the 1-D parameters of a transformer, so ``ndim`` is the rule, not name matching."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": recipe.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(
        [g for g in groups if g["params"]],
        lr=recipe.lr,
        betas=recipe.adam_betas,
        eps=recipe.adam_eps,
        fused=_can_fuse(params) or None,
    )


def _can_fuse(params: list[nn.Parameter]) -> bool:
    """The fused AdamW kernel: one pass over every tensor instead of a Python loop of small
    kernels (on CPU about 10x faster per optimizer step for MiniLM's 22.7M weights: 1.15x per
    training epoch on an idle machine, see benchmarks/bench_epoch.py; same update rule, so zero
    gradients still leave the moments exactly 0)."""
    return bool(params) and all(
        p.device.type in ("cpu", "cuda")
        and p.dtype in (torch.float32, torch.float16, torch.bfloat16)
        for p in params
    )


def linear_schedule(
    optimizer: torch.optim.Optimizer, total: int, warmup: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up from 0 over ``warmup`` steps, then linear decay to 0 at ``total``
    (the Hugging Face ``linear`` schedule the paper's runs used)."""

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def plan_steps(n_examples: int, recipe: Recipe) -> tuple[int, int, int]:
    """(optimizer steps per epoch, total steps, warm-up steps)."""
    per_epoch = math.ceil(math.ceil(n_examples / recipe.batch_size) / recipe.grad_accum)
    total = recipe.max_steps or recipe.epochs * per_epoch
    return per_epoch, total, math.ceil(recipe.warmup_ratio * total)


def train(
    model: nn.Module,
    features: list[dict],
    regime: Regime,
    recipe: Recipe,
    pad_id: int,
    on_epoch_end: Callable[[int, int], Any] | None = None,
) -> tuple[torch.optim.Optimizer, list[dict], dict[str, float]]:
    """Train in place. Returns the optimizer (its state is part of the invariants), the per-step
    history and timings."""
    device = device_of(model)
    per_epoch, total, warmup = plan_steps(len(features), recipe)
    optimizer = build_optimizer(model, recipe)
    scheduler = linear_schedule(optimizer, total, warmup)
    order = torch.Generator().manual_seed(recipe.seed)  # data order, independent of dropout RNG
    lengths = [batching.feature_length(f) for f in features] if recipe.group_by_length else None
    history: list[dict] = []
    step, t0 = 0, time.perf_counter()
    model.train()
    for epoch in range(math.ceil(total / per_epoch)):
        micro = list(batching.batches(len(features), recipe.batch_size, order, lengths))
        for start in range(0, len(micro), recipe.grad_accum):
            if step == total:
                break
            group = micro[start : start + recipe.grad_accum]
            lr = scheduler.get_last_lr()[0]
            batches = [_batch(features, idx, pad_id, device) for idx in group]
            loss = train_step(model, batches, regime, optimizer, scheduler, recipe, step)
            step += 1
            history.append({"step": step, "epoch": epoch + 1, "loss": loss, "lr": lr})
            if step % max(1, total // 10) == 0 or step == total:
                log.info("step %d/%d epoch %d loss %.4f lr %.3g", step, total, epoch + 1, loss, lr)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, step)
    train_s = time.perf_counter() - t0
    timings = {"train_s": train_s, "steps": step, "step_s": train_s / max(step, 1)}
    return optimizer, history, timings


def _batch(features, idx, pad_id, device) -> dict[str, torch.Tensor]:
    batch = batching.collate([features[i] for i in idx], pad_id)
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def train_step(model, batches, regime, optimizer, scheduler, recipe: Recipe, step: int) -> float:
    """One optimizer step over ``batches`` (the accumulation group); returns the mean loss."""
    model.zero_grad(set_to_none=True)
    total = 0.0
    for batch in batches:
        with autocast(model, recipe):
            loss = model(**batch).loss
        value = float(loss.detach())
        if not math.isfinite(value):
            raise NonFiniteError(
                f"loss is {value} at step {step + 1}; the run is stopped rather than reporting a "
                f"meaningless number. Lower the learning rate (now {recipe.lr:g}), use fp32, or "
                f"check the inputs"
            )
        (loss / len(batches)).backward()
        total += value / len(batches)
    regime.before_step()
    if recipe.max_grad_norm is not None:
        params = [p for g in optimizer.param_groups for p in g["params"]]
        norm = torch.nn.utils.clip_grad_norm_(params, recipe.max_grad_norm)
        if not torch.isfinite(norm):
            raise NonFiniteError(
                f"gradient norm is {float(norm)} at step {step + 1}; lower the learning rate "
                f"(now {recipe.lr:g}) or check the inputs"
            )
    optimizer.step()
    scheduler.step()
    regime.after_step()
    return total
