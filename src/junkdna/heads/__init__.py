"""Head kinds (classification, regression, multiple-choice, seq2seq, causal-lm, text-likelihood):
one module per kind, one registry (``HEADS``). See ``heads.base`` for what a head says about its
kind.

from junkdna.heads import get_head
get_head(task.head).encode(tokenizer, rows, labels, recipe, task, generation=False)
"""

# Importing the kinds registers them (each module's ``@register``).
from junkdna.heads import (  # noqa: F401
    causal_lm,
    classification,
    multiple_choice,
    regression,
    seq2seq,
    text_likelihood,
)
from junkdna.heads.base import HEADS, Head, get_head

__all__ = ["HEADS", "Head", "get_head"]
