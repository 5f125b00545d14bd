"""Evaluation per head kind: predictions -> the task's metric dict (first key = primary metric).

Works on an in-memory model, so a pruned or fine-tuned model is scored without being saved.
Classification and regression read the logits; seq2seq and causal LM generate greedily (or with
beams) and compare the stripped text with the target text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from junkdna.registry import Registry
from junkdna.tasks import metrics as task_metrics
from junkdna.tasks.base import TaskData
from junkdna.transfer import data
from junkdna.transfer.recipe import Recipe

Predictor = Callable[[nn.Module, Any, list[dict], Recipe], list[Any]]
PREDICTORS: Registry[Predictor] = Registry("head kind")


def evaluate(
    model: nn.Module,
    tokenizer,
    task: TaskData,
    recipe: Recipe | None = None,
    split: str = "validation",
) -> dict[str, float]:
    """Score ``model`` on one split of ``task`` with ``task.metric``."""
    recipe = recipe or Recipe()
    predictor = PREDICTORS.get(task.head)
    features, labels = data.encode(tokenizer, task, split, recipe, generation=True)
    with scoring(model, recipe):
        preds = predictor(model, tokenizer, features, recipe)
    if task.head in ("seq2seq", "causal-lm") and not task.choices_field:
        labels = [
            [str(a).strip() for a in y] if isinstance(y, list) else str(y).strip() for y in labels
        ]
    scores = task_metrics.compute(task.metric, preds, labels)
    if task.domain_field:  # multi-domain tasks: the metric per domain too ("accuracy/en")
        from junkdna.tasks.domains import per_domain

        domains = data.column(getattr(task, split), task.domain_field, split)
        scores.update(per_domain(task.metric, preds, labels, domains))
    return scores


def device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@contextlib.contextmanager
def scoring(model: nn.Module, recipe: Recipe):
    """Eval mode, no autograd, the recipe's autocast; the model's train/eval mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast(model, recipe):
            yield
    finally:
        model.train(was_training)


def autocast(model: nn.Module, recipe: Recipe):
    if recipe.precision != "bf16":
        return contextlib.nullcontext()
    return torch.autocast(device_of(model).type, dtype=torch.bfloat16)


def _batches(model, tokenizer, features, recipe, left=False):
    device = device_of(model)
    pad = data.pad_id(tokenizer)
    for idx in data.batches(len(features), recipe.resolved_eval_batch_size):
        batch = data.collate([features[i] for i in idx], pad, left=left)
        batch.pop("labels", None)
        yield {k: v.to(device) for k, v in batch.items()}


@PREDICTORS.register("classification")
@PREDICTORS.register("multiple-choice")  # logits: (batch, choices)
def _classify(model, tokenizer, features, recipe):
    out: list[int] = []
    for batch in _batches(model, tokenizer, features, recipe):
        out.extend(model(**batch).logits.argmax(-1).tolist())  # logits: (batch, num_labels)
    return out


@PREDICTORS.register("regression")
def _regress(model, tokenizer, features, recipe):
    out: list[float] = []
    for batch in _batches(model, tokenizer, features, recipe):
        out.extend(model(**batch).logits[:, 0].float().tolist())  # logits: (batch, 1)
    return out


def _generate_kwargs(tokenizer, recipe) -> dict:
    return {
        "max_new_tokens": recipe.max_new_tokens,
        "num_beams": recipe.num_beams,
        "do_sample": False,
        "pad_token_id": data.pad_id(tokenizer),
        "eos_token_id": data._eos(tokenizer),
    }


@PREDICTORS.register("seq2seq")
def _seq2seq(model, tokenizer, features, recipe):
    if features and "tgt_lang" in features[0]:  # mBART-style: the target language is forced
        from junkdna.transfer.seq2seq import generate_with_languages

        return generate_with_languages(model, tokenizer, features, recipe)
    out: list[str] = []
    for batch in _batches(model, tokenizer, features, recipe):
        batch.pop("token_type_ids", None)
        ids = model.generate(**batch, **_generate_kwargs(tokenizer, recipe))
        out.extend(t.strip() for t in tokenizer.batch_decode(ids, skip_special_tokens=True))
    return out


@PREDICTORS.register("causal-lm")
def _causal_lm(model, tokenizer, features, recipe):
    if features and "choice_ids" in features[0]:  # a task with choices: log-likelihood scoring
        from junkdna.transfer.causal import predict_choices

        return predict_choices(model, tokenizer, features, recipe)
    out: list[str] = []
    for batch in _batches(model, tokenizer, features, recipe, left=True):
        width = batch["input_ids"].shape[1]
        ids = model.generate(**batch, **_generate_kwargs(tokenizer, recipe))
        new = ids[:, width:]  # (batch, generated) — left padding keeps every prompt flush right
        out.extend(t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True))
    return out
