"""Regression (STS-B): one or two text fields -> a score from a single-output classifier head,
trained with MSE (``problem_type="regression"``)."""

from __future__ import annotations

from junkdna.errors import JunkDNAError
from junkdna.heads.base import Head, register
from junkdna.heads.batching import eval_batches, features_of
from junkdna.heads.classification import encode_pairs


@register
class Regression(Head):
    name = "regression"
    default_metric = "pearson_spearman"
    labels = "number"
    auto_class = "AutoModelForSequenceClassification"

    def model_kwargs(self, num_labels):
        # One output whatever the task says; a checkpoint's head of another size is replaced.
        return {"num_labels": 1, "ignore_mismatched_sizes": True, "problem_type": "regression"}

    def encode(self, tokenizer, rows, labels, recipe, task, generation):
        try:
            values = [float(y) for y in labels]
        except (TypeError, ValueError):
            raise JunkDNAError(f"task {task.name!r}: regression labels must be numbers") from None
        return features_of(encode_pairs(tokenizer, rows, recipe), values)

    def predict(self, model, tokenizer, features, recipe):
        out: list[float] = []
        for batch in eval_batches(model, tokenizer, features, recipe):
            out.extend(model(**batch).logits[:, 0].float().tolist())  # logits: (batch, 1)
        return out
