"""What the text-generating heads (seq2seq, causal LM) share: generation settings, decoding, and
comparing the stripped text of a prediction with the stripped target (or any of its aliases)."""

from __future__ import annotations

from typing import Any

from junkdna.heads.base import Head
from junkdna.heads.batching import eos, pad_id
from junkdna.recipe import Recipe


class GenerationHead(Head):
    labels = "text"
    choices = "optional"  # with choices, each is scored by its log-likelihood
    choices_metric = "choice_accuracy"  # predictions: [best by summed, by per-token log-prob]

    def scoring_labels(self, labels, task) -> list[Any]:
        if task.choices_field:  # scored by choice (an index), not generated: nothing to strip
            return list(labels)
        return [
            [str(a).strip() for a in y] if isinstance(y, list) else str(y).strip() for y in labels
        ]


def generate_kwargs(tokenizer, recipe: Recipe) -> dict[str, Any]:
    """``model.generate`` keywords: greedy (or beam) search, at most ``max_new_tokens``."""
    return {
        "max_new_tokens": recipe.max_new_tokens,
        "num_beams": recipe.num_beams,
        "do_sample": False,
        "pad_token_id": pad_id(tokenizer),
        "eos_token_id": eos(tokenizer),
    }


def decode(tokenizer, ids) -> list[str]:
    """Generated ids (batch, tokens) -> stripped texts."""
    return [t.strip() for t in tokenizer.batch_decode(ids, skip_special_tokens=True)]
