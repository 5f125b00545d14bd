"""Transfer regimes (Dense, Sparse, Frozen, Sparse-to-Dense) over one training loop.

from junkdna.transfer import Recipe, finetune, evaluate
result = finetune(model, tokenizer, task, "sparse", masks, Recipe(lr=2e-5, epochs=3))
result.metrics, result.invariants, result.timings
"""

from junkdna.recipe import Recipe  # re-exported: its home is junkdna.recipe
from junkdna.transfer.api import FinetuneResult, finetune
from junkdna.transfer.evaluate import evaluate
from junkdna.transfer.loop import NonFiniteError
from junkdna.transfer.regimes import REGIMES, Regime, regime_names

__all__ = [
    "REGIMES",
    "FinetuneResult",
    "NonFiniteError",
    "Recipe",
    "Regime",
    "evaluate",
    "finetune",
    "regime_names",
]
