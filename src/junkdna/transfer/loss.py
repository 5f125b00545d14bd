"""Mean held-out loss of an in-memory model: the same loss the training loop minimises, for every
head kind, averaged over the split's *loss terms* (not over batches).

The model's own loss (``model(**batch).loss``) is a mean over one batch's terms: examples for
classification (cross-entropy) and regression (MSE), target tokens for seq2seq and causal LM (each
head's ``loss_terms``). A plain mean of batch means would overweight a short last batch, so each
batch mean is weighted by its number of terms; the result equals one big batch's loss, whatever
the eval batch size.
"""

from __future__ import annotations

import math

from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.heads import get_head
from junkdna.heads.batching import batches, collate, device_of, pad_id, scoring
from junkdna.recipe import Recipe
from junkdna.tasks.base import TaskData
from junkdna.transfer import data


def evaluate_loss(
    model: nn.Module,
    tokenizer,
    task: TaskData,
    recipe: Recipe | None = None,
    split: str = "validation",
) -> float:
    """Mean loss of ``model`` on one split of ``task`` (eval mode, no gradients).

    Uses the training encoding (``generation=False``), so the targets are exactly those the model
    was fine-tuned on; for a multiple-choice causal LM that is the log-loss of the gold choice."""
    recipe = recipe or Recipe()
    terms_of = get_head(task.head).loss_terms
    features, _ = data.encode(tokenizer, task, split, recipe, generation=False)
    device, pad = device_of(model), pad_id(tokenizer)
    total, count = 0.0, 0
    with scoring(model, recipe):
        for idx in batches(len(features), recipe.resolved_eval_batch_size):
            batch = collate([features[i] for i in idx], pad)
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
