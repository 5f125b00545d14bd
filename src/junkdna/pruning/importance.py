"""Task-aware weight importance: gradients of the task's own training loss on a few hundred
labelled examples, through the task's head, without training.

``task_importance(model, tokenizer, task, kind)`` samples ``nsamples`` training rows (seeded),
encodes them as fine-tuning does (``transfer.data.encode(..., generation=False)``), and runs
forward and backward passes of ``model(**batch).loss``, the loss fine-tuning minimises, in eval
mode (dropout off). No optimizer step is taken: the weights stay bit-identical. Two kinds:

* ``taylor``: score = |w * g|, with g the gradient of the mean loss over all the examples' loss
  terms (the first-order Taylor estimate of the loss change when w is set to 0). Each batch's
  gradient (of its own mean) is weighted by its number of loss terms
  (``heads.Head.loss_terms``: examples, or target tokens for the generation heads), so the result
  does not depend on ``batch_size``.
* ``fisher``: score = F * w^2 with F the diagonal empirical Fisher, the mean over examples of the
  squared per-example gradient (dl_n/dw)^2: Optimal Brain Damage's saliency with the Fisher
  standing in for the Hessian (its factor 1/2 is dropped; it changes no ranking). Per-example
  gradients need micro-batches of one example (``fisher_batch=1``, the default); a larger
  ``fisher_batch`` squares the gradients of batch means, a cheaper but biased estimate (squares
  of means underestimate the mean of squares by the examples' gradient variance).

Memory. Only the prunable weights get gradients (every other parameter's ``requires_grad`` is
off during the passes and restored afterwards). A post-accumulate-grad hook folds each weight's
gradient into an fp32 accumulator as soon as backward produces it and frees ``.grad`` at once,
so at most one layer's gradient is alive. The accumulators (4 bytes per prunable weight) are
bounded by ``max_grad_bytes``: above it, the weights are split into consecutive groups in forward
order that fit, and the examples run once per group with only that group requiring gradients.
Each finished group's scores go to a ``ScoreStore`` (RAM up to a budget, then disk), so a 7B
model's scores are never all in memory at once.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import time
from collections.abc import Mapping
from contextlib import contextmanager

import torch
from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.models import Prunable, parameters_by_name, prunable_weights
from junkdna.pruning.calibrated import positive_int
from junkdna.pruning.scorestore import ScoreStore, env_bytes

KINDS = ("taylor", "fisher")
DEFAULT_GRAD_BYTES = 2 << 30  # fp32 gradient accumulators of one group: 2 GiB (512M weights)
GRAD_ENV = "JUNKDNA_GRAD_BYTES"


def task_importance(
    model: nn.Module,
    tokenizer,
    task,
    kind: str = "fisher",
    *,
    nsamples: int = 256,
    seed: int = 0,
    batch_size: int = 8,
    prunables: Mapping[str, Prunable] | None = None,
    max_grad_bytes: int | None = None,
    device: str | torch.device | None = None,
    fisher_batch: int = 1,
) -> ScoreStore:
    """Importance scores of the prunable weights of ``model`` for ``task`` (a
    ``tasks.base.TaskData``) as a ``ScoreStore`` of fp32 (out, in) tensors (close it when done,
    or use it in a ``with`` block).

    ``kind``: "taylor" (|w * mean-loss gradient|) or "fisher" (mean squared per-example gradient
    times w^2); see the module docstring. ``nsamples``: training rows used (a seeded sample; all
    rows if the split has fewer). ``batch_size``: examples per pass for taylor; fisher runs
    ``fisher_batch`` examples per pass (1: exact per-example gradients). ``prunables``: the
    weights to score (default ``models.prunable_weights(model)``). ``max_grad_bytes``: bound on
    the fp32 accumulators of one group of weights (default: env ``JUNKDNA_GRAD_BYTES``, else
    2 GiB); more weights than fit run the examples once per group. ``device``: where the passes
    run (default: where the model is; a model moved there goes back afterwards).
    """
    from junkdna.heads import get_head

    if kind not in KINDS:
        raise JunkDNAError(f"unknown importance kind {kind!r}; valid: {', '.join(KINDS)}")
    positive_int(nsamples, f"{kind} nsamples")
    positive_int(batch_size, f"{kind} batch_size")
    positive_int(fisher_batch, f"{kind} fisher_batch")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise JunkDNAError(f"{kind} seed must be an integer, got {seed!r}")
    grad_bytes = (
        env_bytes(GRAD_ENV, DEFAULT_GRAD_BYTES) if max_grad_bytes is None else max_grad_bytes
    )
    positive_int(grad_bytes, f"{kind} max_grad_bytes")
    t0 = time.perf_counter()
    head = get_head(task.head)
    if not head.can_finetune:
        raise JunkDNAError(
            f"method {kind!r} needs labelled examples of the task {task.name!r} and a training "
            f"loss, but its head {task.head!r} cannot compute one"
        )
    features, rows = _examples(tokenizer, task, kind, nsamples, seed)
    micro = fisher_batch if kind == "fisher" else batch_size
    batches, skipped = _batches(features, tokenizer, micro, head, task, kind)
    if prunables is None:
        prunables = prunable_weights(model)
    params = parameters_by_name(model)
    groups = _groups(prunables, params, grad_bytes)
    store = ScoreStore()
    try:
        with _gradient_pass_scope(model, prunables, params, device) as dev:
            loss = None
            for group in groups:
                group_loss = _score_group(
                    model, group, prunables, params, batches, kind, dev, task.name, store
                )
                loss = group_loss if loss is None else loss
    except BaseException:
        store.close()
        raise
    total_terms = sum(t for _, t in batches)
    store.meta = {
        "kind": kind,
        "source": "task",
        "task": task.name,
        "head": task.head,
        "nsamples": nsamples,
        "examples": len(features),
        "train_rows": rows,
        "seed": seed,
        "batch_size": micro,
        **({"fisher_batch": fisher_batch} if kind == "fisher" else {}),
        "batches": len(batches),
        "skipped_batches": skipped,
        "loss_terms": total_terms,
        "loss": loss,
        "groups": len(groups),
        "passes": len(groups),
        "grad_bytes": sum(params[n].numel() * 4 for n in prunables),
        "max_grad_bytes": grad_bytes,
        "device": str(dev),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return store


# ----------------------------------------------------------------------------- examples


def _examples(tokenizer, task, kind: str, nsamples: int, seed: int) -> tuple[list[dict], int]:
    """Features of a seeded sample of ``nsamples`` training rows (all rows if fewer), encoded as
    fine-tuning encodes them; and the number of training rows."""
    from junkdna.heads.batching import column, take_rows
    from junkdna.recipe import Recipe
    from junkdna.transfer.data import encode

    ds = task.train
    n = 0 if ds is None else len(ds)
    if n == 0:
        raise JunkDNAError(
            f"method {kind!r} needs labelled examples of the task {task.name!r}, but its train "
            "split is empty"
        )
    if nsamples >= n:
        idx = list(range(n))
    else:
        gen = torch.Generator().manual_seed(seed)
        idx = sorted(torch.randperm(n, generator=gen)[:nsamples].tolist())
    sample = take_rows(ds, idx)
    try:
        labels = column(sample, task.label_field, "train")
    except JunkDNAError as e:
        raise JunkDNAError(
            f"method {kind!r} needs labelled examples of the task {task.name!r} ({e})"
        ) from None
    if all(y is None for y in labels):
        raise JunkDNAError(
            f"method {kind!r} needs labelled examples of the task {task.name!r}; its train "
            f"split has no labels in {task.label_field!r}"
        )
    features, _ = encode(tokenizer, dataclasses.replace(task, train=sample), "train", Recipe())
    return features, n


def _batches(features, tokenizer, size: int, head, task, kind: str):
    """Padded CPU batches of ``size`` examples in order, each with its number of loss terms;
    batches without any term (every target truncated away) are dropped and counted."""
    from junkdna.heads.batching import batches, collate, pad_id

    pad = pad_id(tokenizer)
    out, skipped = [], 0
    for idx in batches(len(features), size):
        batch = collate([features[i] for i in idx], pad)
        if "labels" not in batch:
            raise JunkDNAError(
                f"method {kind!r} needs labelled examples of the task {task.name!r}; its encoded "
                "examples carry no labels"
            )
        terms = head.loss_terms(batch)
        if terms == 0:
            skipped += 1
            continue
        out.append((batch, terms))
    if not out:
        raise JunkDNAError(
            f"method {kind!r}: no sampled example of the task {task.name!r} has a target to "
            "compute a loss on (all truncated away?)"
        )
    return out, skipped


# ----------------------------------------------------------------------------- groups


def _groups(prunables, params, max_bytes: int) -> list[list[str]]:
    """Consecutive runs of the prunable weights (forward order) whose fp32 accumulators fit
    ``max_bytes`` together; a weight larger than the bound forms a group of its own."""
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    seen: set[int] = set()
    for name in prunables:
        p = params[name]
        if id(p) in seen:  # a tied weight listed twice: its one gradient has two names
            raise JunkDNAError(
                f"prunable weight {name!r} is the same tensor as another one; exclude one name"
            )
        seen.add(id(p))
        need = p.numel() * 4
        if current and size + need > max_bytes:
            groups.append(current)
            current, size = [], 0
        current.append(name)
        size += need
    if current:
        groups.append(current)
    return groups


# ----------------------------------------------------------------------------- passes


@contextmanager
def _gradient_pass_scope(model: nn.Module, prunables, params, device):
    """Eval mode, every parameter frozen (``requires_grad`` False; the group being scored turns
    its own on), the prunable weights' existing ``.grad`` set aside, autograd enabled, the model
    on ``device``; all of it undone afterwards. Yields the device the passes run on."""
    home = next(model.parameters()).device
    dev = torch.device(device) if device is not None else home
    was_training = model.training
    flags = [(p, p.requires_grad) for p in model.parameters()]
    saved_grads = {n: params[n].grad for n in prunables}
    moved = dev != home
    try:
        if moved:
            model.to(dev)
        model.eval()
        for p, _ in flags:
            p.requires_grad_(False)
        for n in prunables:
            params[n].grad = None
        with torch.enable_grad():
            yield dev
    finally:
        for n in prunables:
            params[n].grad = None
        if moved:
            model.to(home)
        for p, flag in flags:
            p.requires_grad_(flag)
        for n, g in saved_grads.items():
            params[n].grad = g
        model.train(was_training)


def _score_group(model, group, prunables, params, batches, kind, dev, task_name, store):
    """One pass of all batches with only ``group`` requiring gradients; puts the group's scores
    into ``store``; returns the mean loss over the loss terms."""
    accs = {n: torch.zeros(params[n].shape, dtype=torch.float32, device=params[n].device)
            for n in group}  # fmt: skip
    state = {"factor": 1.0}

    def hook_for(name):
        acc = accs[name]

        def hook(param: torch.Tensor) -> None:
            g = param.grad
            if kind == "fisher":
                g32 = g.float()
                acc.addcmul_(g32, g32)
            else:
                acc.add_(g, alpha=state["factor"])
            param.grad = None  # free it at once: one layer's gradient alive at a time

        return hook

    use_cache = "use_cache" in inspect.signature(model.forward).parameters
    total, terms_total = 0.0, 0
    handles = []
    try:
        for n in group:
            params[n].requires_grad_(True)
            handles.append(params[n].register_post_accumulate_grad_hook(hook_for(n)))
        for batch, terms in batches:
            inputs = {k: v.to(dev) for k, v in batch.items()}
            if use_cache:
                inputs["use_cache"] = False
            out = model(**inputs)
            loss = getattr(out, "loss", None)
            if loss is None:
                raise JunkDNAError(
                    f"the model gives no training loss on the task {task_name!r}'s examples; "
                    "load it with the task's head"
                )
            value = float(loss.detach())
            if not math.isfinite(value):
                raise JunkDNAError(
                    f"the loss on the task {task_name!r}'s examples is {value} (not finite); "
                    "importance scores need a finite loss (use fp32, check the inputs)"
                )
            state["factor"] = float(terms)
            if loss.requires_grad:  # else no weight of the group takes part: gradient 0
                loss.backward()
            del out, loss
            total += value * terms
            terms_total += terms
    finally:
        for h in handles:
            h.remove()
        for n in group:
            params[n].requires_grad_(False)
            params[n].grad = None
    scale = 1.0 / (len(batches) if kind == "fisher" else terms_total)
    for n in group:
        acc = accs.pop(n)
        acc.mul_(scale)
        w = params[n].detach().float()
        # fisher: F * w^2; taylor: |w * g|
        scores = acc.mul_(w).mul_(w) if kind == "fisher" else acc.mul_(w).abs_()
        if not bool(torch.isfinite(scores).all()):
            raise JunkDNAError(
                f"the gradients of {n!r} on the task {task_name!r}'s examples are not finite; "
                "importance scores need finite gradients (use fp32, check the inputs)"
            )
        store.put(n, prunables[n].matrix(scores), owned=True)  # no copy: acc is ours
        del acc, scores, w
    return total / terms_total
