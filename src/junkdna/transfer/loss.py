"""Mean held-out loss of an in-memory model: the same loss the training loop minimises, for every
head kind, averaged over the split's *loss terms* (not over batches).

The model's own loss (``model(**batch).loss``) is a mean over one batch's terms: examples for
classification (cross-entropy) and regression (MSE), target tokens for seq2seq and causal LM. A
plain mean of batch means would overweight a short last batch, so each batch mean is weighted by
its number of terms; the result equals one big batch's loss, whatever the eval batch size.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.registry import Registry
from junkdna.tasks.base import TaskData
from junkdna.transfer import data
from junkdna.transfer.evaluate import device_of, scoring
from junkdna.transfer.recipe import Recipe

# head kind -> the number of terms the model's batch loss averages over
LOSS_TERMS: Registry[Callable[[dict[str, torch.Tensor]], int]] = Registry("head kind")


@LOSS_TERMS.register("classification")
@LOSS_TERMS.register("regression")
@LOSS_TERMS.register("multiple-choice")
def _per_example(batch: dict[str, torch.Tensor]) -> int:
    return int(batch["labels"].shape[0])


@LOSS_TERMS.register("seq2seq")
def _target_tokens(batch: dict[str, torch.Tensor]) -> int:
    return int((batch["labels"] != data.IGNORE).sum())  # labels: (batch, target length)


@LOSS_TERMS.register("causal-lm")
def _shifted_target_tokens(batch: dict[str, torch.Tensor]) -> int:
    # The LM loss predicts token t+1 from tokens <= t: the first label position is never a term.
    return int((batch["labels"][:, 1:] != data.IGNORE).sum())


def evaluate_loss(
    model: nn.Module,
    tokenizer,
    task: TaskData,
    recipe: Recipe | None = None,
    split: str = "validation",
) -> float:
    """Mean loss of ``model`` on one split of ``task`` (eval mode, no gradients).

    Uses the training encoders (``transfer.data``), so the targets are exactly those the model
    was fine-tuned on; for a multiple-choice causal LM that is the log-loss of the gold choice."""
    recipe = recipe or Recipe()
    terms_of = LOSS_TERMS.get(task.head)
    features, _ = data.encode(tokenizer, task, split, recipe, generation=False)
    device, pad = device_of(model), data.pad_id(tokenizer)
    total, count = 0.0, 0
    with scoring(model, recipe):
        for idx in data.batches(len(features), recipe.resolved_eval_batch_size):
            batch = data.collate([features[i] for i in idx], pad)
            batch = {k: v.to(device) for k, v in batch.items()}
            n = terms_of(batch)
            if n == 0:  # e.g. every target truncated away: the model's loss would be NaN
                continue
            total += float(model(**batch).loss.float()) * n
            count += n
    if count == 0:
        raise JunkDNAError(
            f"task {task.name!r}: the {split} split has no target to score a loss on"
        )
    loss = total / count
    if not math.isfinite(loss):
        raise JunkDNAError(f"the {split} loss on task {task.name!r} is {loss} (not finite)")
    return loss
