"""``finetune(model, tokenizer, task, regime, masks, recipe) -> FinetuneResult``: one run, in
memory (the study runner and the CLI both call it)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from junkdna.heads import get_head
from junkdna.heads.batching import pad_id
from junkdna.masks import MaskSet
from junkdna.recipe import LOWER_IS_BETTER, Recipe
from junkdna.tasks.base import TaskData
from junkdna.tasks.metrics import ItemOutcomes
from junkdna.transfer import data
from junkdna.transfer.evaluate import Evaluation, evaluate_items
from junkdna.transfer.loop import NonFiniteError, train
from junkdna.transfer.regimes import REGIMES, Regime


@dataclass
class FinetuneResult:
    metrics: dict[str, float]  # the task metric dict; first key is the primary metric
    invariants: dict[str, Any]  # what the regime checked at the end (all passed)
    timings: dict[str, float]
    history: list[dict] = field(default_factory=list)  # per step: loss, lr; per epoch: eval
    config: dict[str, Any] = field(default_factory=dict)  # regime, task, resolved recipe
    items: ItemOutcomes | None = None  # the final evaluation's outcome per item

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: everything but the per-item outcomes (binary; see ``ItemOutcomes``)."""
        return {k: v for k, v in asdict(self).items() if k != "items"}


def finetune(
    model: nn.Module,
    tokenizer,
    task: TaskData,
    regime: str = "dense",
    masks: MaskSet | None = None,
    recipe: Recipe | None = None,
) -> FinetuneResult:
    """Fine-tune ``model`` in place on ``task.train`` under ``regime``; score ``task.validation``.

    ``model`` must carry the head for ``task.head`` (see ``models.load_model(head=...)``). For
    ``sparse`` and ``sparse-to-dense`` the masks are applied here (the model may be pruned
    already); ``frozen`` needs the *unpruned* pre-trained model, the masks only say what trains.
    Raises JunkDNAError on bad input, NonFiniteError on NaN/inf, InvariantError if a regime
    invariant is broken.
    """
    recipe = recipe or Recipe()
    regime_cls = REGIMES.get(regime)
    if not regime_cls.finetunes:
        from junkdna.errors import JunkDNAError

        raise JunkDNAError(
            f"regime {regime!r} does not fine-tune: evaluate the model with "
            "junkdna.transfer.evaluate (or junkdna.study.run.run_one, which does both)"
        )
    get_head(task.head)  # unknown head kind -> did-you-mean error before any work
    t0 = time.perf_counter()
    model.to(recipe.resolved_device())
    features, _ = data.encode(tokenizer, task, "train", recipe)
    masks = align_masks(masks, model)
    bound = regime_cls(model, masks)
    _prepare(model, recipe)
    torch.manual_seed(recipe.seed)  # dropout
    setup_s = time.perf_counter() - t0

    tracker = _EpochEvals(model, tokenizer, task, recipe)
    optimizer, history, timings = train(model, features, bound, recipe, pad_id(tokenizer), tracker)
    tracker.restore_best()
    invariants = _check(model, bound, optimizer)
    model.zero_grad(set_to_none=True)
    del optimizer  # frees AdamW state (2 floats per weight) before evaluation

    t1 = time.perf_counter()
    final = tracker.final() or evaluate_items(model, tokenizer, task, recipe)
    timings = {"setup_s": setup_s, **timings, "eval_s": time.perf_counter() - t1 + tracker.eval_s}
    config = {
        "regime": regime,
        "task": task.name,
        "head": task.head,
        "metric": task.metric,
        "n_train": len(features),
        "recipe": recipe.to_dict(),
        "masks": dict(masks.metadata) if masks is not None else None,
        "mask_sparsity": masks.sparsity if masks is not None else None,
    }
    history += tracker.history
    return FinetuneResult(final.metrics, invariants, timings, history, config, final.items)


def align_masks(masks: MaskSet | None, model: nn.Module) -> MaskSet | None:
    """Masks made on the bare model (``junkdna prune`` loads it headless: ``encoder.layer.0...``)
    fit the same model with a task head (``bert.encoder.layer.0...``) and vice versa: the names
    differ only by the model's ``base_model_prefix``. Anything else is left for
    ``MaskSet.check_compatible`` to reject."""
    if masks is None:
        return None
    names = set(dict(model.named_parameters(remove_duplicate=False)))
    if all(n in names for n in masks):
        return masks
    prefix = getattr(model, "base_model_prefix", "") + "."
    for rename in (lambda n: prefix + n, lambda n: n.removeprefix(prefix)):
        if prefix != "." and all(rename(n) in names for n in masks):
            meta = {**masks.metadata, "renamed_for_head": prefix.rstrip(".")}
            return MaskSet({rename(n): m for n, m in masks.items()}, meta)
    return masks


def _prepare(model: nn.Module, recipe: Recipe) -> None:
    if recipe.gradient_checkpointing:
        if not getattr(model, "supports_gradient_checkpointing", False):
            from junkdna.errors import JunkDNAError

            raise JunkDNAError(f"{type(model).__name__} does not support gradient checkpointing")
        kwargs = {"use_reentrant": False}
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    if getattr(getattr(model, "config", None), "use_cache", False):
        model.config.use_cache = False  # the KV cache is useless (and warns) during training


def _check(model: nn.Module, bound: Regime, optimizer) -> dict[str, Any]:
    bad = [n for n, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
    if bad:
        raise NonFiniteError(
            f"{len(bad)} parameter(s) hold NaN or inf after training, e.g. {bad[0]}"
        )
    return {**bound.check(optimizer), "finite_weights": True}


class _EpochEvals:
    """Optional per-epoch evaluation with an explicit ``last`` or ``best`` selection policy."""

    def __init__(self, model, tokenizer, task: TaskData, recipe: Recipe):
        self.model, self.tokenizer, self.task, self.recipe = model, tokenizer, task, recipe
        self.history: list[dict] = []
        self.best: tuple[float, Evaluation, dict] | None = None  # (score, evaluation, weights)
        self.last: Evaluation | None = None
        self.eval_s = 0.0

    def __call__(self, epoch: int, step: int) -> None:
        if not self.recipe.eval_each_epoch:
            return
        t = time.perf_counter()
        ev = evaluate_items(self.model, self.tokenizer, self.task, self.recipe)
        m = ev.metrics
        self.eval_s += time.perf_counter() - t
        self.history.append({"epoch": epoch, "step": step, "eval": m})
        self.last = ev
        if self.recipe.select == "best":
            key = next(iter(m))
            score = -m[key] if key in LOWER_IS_BETTER else m[key]
            if self.best is None or score > self.best[0]:  # ties keep the earlier epoch
                state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                self.best = (score, ev, state)

    def restore_best(self) -> None:
        if self.best is not None:
            self.model.load_state_dict(self.best[2])

    def final(self) -> Evaluation | None:
        """The last epoch's eval is the final state's (no second evaluation needed)."""
        if self.best is not None:
            return self.best[1]
        return self.last
