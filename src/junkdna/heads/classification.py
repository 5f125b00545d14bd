"""Sequence classification: one or two text fields -> a class id; the logits' argmax predicts."""

from __future__ import annotations

from typing import Any

from junkdna.errors import JunkDNAError
from junkdna.heads.base import Head, is_index, register
from junkdna.heads.batching import eval_batches, features_of


def encode_pairs(tokenizer, rows: list[list[Any]], recipe):
    """Tokenize rows of one text (or a sentence pair) as the sequence classifiers read them."""
    if len(rows[0]) > 2:
        raise JunkDNAError(
            f"a sequence classifier takes one or two text fields, got {len(rows[0])}"
        )
    cols = list(zip(*rows, strict=True))
    return tokenizer(*[list(c) for c in cols], truncation=True, max_length=recipe.max_length)


def predict_argmax(model, tokenizer, feats: list[dict], recipe) -> list[int]:
    """The highest-scoring label of each feature (logits: (batch, num_labels or choices))."""
    out: list[int] = []
    for batch in eval_batches(model, tokenizer, feats, recipe):
        out.extend(model(**batch).logits.argmax(-1).tolist())
    return out


@register
class Classification(Head):
    name = "classification"
    stratify = True
    auto_class = "AutoModelForSequenceClassification"

    def model_kwargs(self, num_labels):
        # A checkpoint that already has a head of another size (e.g. 2 labels vs 3) gets a fresh
        # one: task heads are never part of what we study.
        return {"num_labels": num_labels or 2, "ignore_mismatched_sizes": True}

    def encode(self, tokenizer, rows, labels, recipe, task, generation):
        n = task.num_labels or 2
        for y in labels:
            if not is_index(y, n):
                raise JunkDNAError(
                    f"task {task.name!r}: classification labels must be ints in 0..{n - 1}, "
                    f"got {y!r}"
                )
        return features_of(encode_pairs(tokenizer, rows, recipe), labels)

    def predict(self, model, tokenizer, features, recipe):
        return predict_argmax(model, tokenizer, features, recipe)
