"""Models: where one comes from (``sources``), the hub (``hub``), loading it with its tokenizer and
task head (``loading``), and its structure - which weights are prunable, by block and module
type (``structure``, the ONE place that knows model structure).

The names below are the package's public surface (``junkdna.load_model``, the commands, the
studies and the other engineers' code import them from here); each lives in one submodule.
"""

from junkdna.models.hub import RETRY_DELAYS_S, hub_call, hub_failure
from junkdna.models.loading import head_for, load_model, load_tokenizer, model_id
from junkdna.models.sources import ModelSource, resolve
from junkdna.models.structure import (
    CARRIED_OUTPUTS,
    TYPE_ORDER,
    Prunable,
    module_type,
    parameters_by_name,
    prunable_weights,
    transformer_blocks,
)

__all__ = [
    "CARRIED_OUTPUTS",
    "RETRY_DELAYS_S",
    "TYPE_ORDER",
    "ModelSource",
    "Prunable",
    "head_for",
    "hub_call",
    "hub_failure",
    "load_model",
    "load_tokenizer",
    "model_id",
    "module_type",
    "parameters_by_name",
    "prunable_weights",
    "resolve",
    "transformer_blocks",
]
