"""Task-aware pruning methods: ``taylor`` and ``fisher`` score every prunable weight with
gradients of the task's own training loss on a few hundred labelled examples, through the task's
head, without training (``junkdna.pruning.importance``).

* ``taylor``: |w * g|, g the gradient of the mean loss: the first-order estimate of how much the
  loss changes when w is set to 0.
* ``fisher``: F * w^2, F the diagonal empirical Fisher (mean squared per-example gradient):
  Optimal Brain Damage's second-order estimate of the same change, the Fisher standing in for the
  Hessian.

Both estimate a *loss change*, in the loss's own units whatever the layer, so scores compare
across layers: the default scope is ``global`` (one threshold over the whole model). Scopes
``layer`` and ``row`` and N:M structures work too; every structure goes through ``select.py``.

``prune(model, "fisher", sparsity, task=TaskData, tokenizer=...)`` scores and selects; the
examples are set by the options ``nsamples`` (default 256) and ``seed`` (default 0), which a
study's ``calibration = {source = "task", nsamples, seed}`` fills in.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from junkdna.errors import JunkDNAError
from junkdna.pruning.base import Criterion, register, with_defaults
from junkdna.pruning.calibrated import positive_int

DEFAULT_NSAMPLES = 256


class TaskAwareCriterion(Criterion):
    """Scores from the task's labelled examples (``needs_task``): the scores of all weights come
    from one gradient computation, ``importance.task_importance``, not from a weight alone, so
    ``score`` is not used; ``prune`` calls ``task_scores``."""

    needs_task = True
    default_scope = "global"  # scores are loss changes: comparable across layers
    scopes = ("global", "layer", "row")
    option_defaults: ClassVar[dict[str, Any]] = {
        "nsamples": DEFAULT_NSAMPLES,  # labelled training examples
        "seed": 0,  # which examples
        "batch_size": 8,  # examples per forward/backward pass (taylor; fisher: fisher_batch)
        "max_grad_bytes": None,  # fp32 accumulators per group (None: env or 2 GiB)
    }

    def __init__(self, **options: Any):
        self.options = with_defaults(self.name, options, self.option_defaults)
        for key in self.option_defaults:
            value = self.options[key]
            if key == "seed":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise JunkDNAError(f"{self.name} option seed must be an integer, got {value!r}")
            elif not (key == "max_grad_bytes" and value is None):
                positive_int(value, f"{self.name} option {key}")

    def score(self, weight: torch.Tensor, stats: Any = None) -> torch.Tensor:
        raise JunkDNAError(
            f"method {self.name!r} scores all weights at once from the task's examples; use "
            "prune(..., task=...) or junkdna.pruning.importance.task_importance"
        )

    def task_scores(self, model, tokenizer, task, prunables, device=None):
        """The ``ScoreStore`` of this method's scores for ``task`` (close it when done)."""
        from junkdna.pruning.importance import task_importance

        extra = {k: v for k, v in self.options.items() if k == "fisher_batch"}
        return task_importance(
            model, tokenizer, task, self.name,
            nsamples=self.options["nsamples"], seed=self.options["seed"],
            batch_size=self.options["batch_size"], prunables=prunables,
            max_grad_bytes=self.options["max_grad_bytes"], device=device, **extra,
        )  # fmt: skip


@register
class Taylor(TaskAwareCriterion):
    """|w * g|: g the gradient of the task's mean training loss over the sampled examples."""

    name = "taylor"


@register
class Fisher(TaskAwareCriterion):
    """F * w^2: F the mean over examples of the squared per-example loss gradient. Option
    ``fisher_batch`` (default 1: exact per-example gradients): examples per backward pass; more
    than 1 squares the gradients of batch means, a cheaper estimate biased low."""

    name = "fisher"
    option_defaults: ClassVar[dict[str, Any]] = {
        **TaskAwareCriterion.option_defaults,
        "fisher_batch": 1,
    }
