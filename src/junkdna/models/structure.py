"""The ONE place that knows model structure: the transformer blocks, which weights are prunable (the
Linear and GPT-2 ``Conv1D`` projections inside the blocks; embeddings, LM head, pooler and task
heads lie outside and are never pruned unless an ``include`` pattern names them) and each
weight's module type."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from junkdna.errors import JunkDNAError

# ----------------------------------------------------------------------------- structure


def _is_projection(module: nn.Module) -> bool:
    # transformers' Conv1D (GPT-2) stores its weight as (in, out); we detect it by class name so
    # that this works across transformers versions without importing private modules.
    return isinstance(module, nn.Linear) or type(module).__name__ == "Conv1D"


def transformer_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The repeated blocks, in forward order (for encoder-decoders: encoder first).

    A block stack is an outermost ``nn.ModuleList`` whose entries are all of one class and contain
    projections (BERT ``encoder.layer``, LLaMA ``model.layers``, GPT-2 ``transformer.h``, mBART and
    T5 encoder and decoder stacks).
    """
    stacks: list[str] = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.ModuleList) or len(module) == 0:
            continue
        if any(name.startswith(s + ".") for s in stacks):
            continue  # nested list inside a block (e.g. T5Block.layer)
        if len({type(m) for m in module}) != 1:
            continue
        if not any(_is_projection(m) for m in module[0].modules()):
            continue
        stacks.append(name)
    blocks = []
    for s in stacks:
        stack = model.get_submodule(s)
        blocks.extend((f"{s}.{i}", b) for i, b in enumerate(stack))
    return blocks


# Blocks that hand state to the next block through their outputs, for code that runs blocks one
# by one (sequential calibration): output index -> argument index of the next block's call.
# T5 computes its relative position bias in the first block only and passes it on.
CARRIED_OUTPUTS: dict[str, tuple[tuple[int, int], ...]] = {"T5Block": ((1, 2), (2, 5))}


@dataclass(frozen=True)
class Prunable:
    """One prunable weight. ``matrix(w)`` views it as (out_features, in_features)."""

    name: str  # parameter name, e.g. "model.layers.0.self_attn.q_proj.weight"
    module_name: str
    block: str | None  # e.g. "model.layers.0"
    transposed: bool  # GPT-2 Conv1D keeps (in, out)

    def matrix(self, t: torch.Tensor) -> torch.Tensor:
        return t.t() if self.transposed else t


def prunable_weights(
    model: nn.Module, include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> dict[str, Prunable]:
    """Prunable weights in forward order. Patterns are regular expressions searched in the
    parameter name: ``include`` adds projections or embeddings (token, position) outside the
    blocks, ``exclude`` removes any. An embedding is a (rows, dim) matrix like a projection's
    (out, in): mBART's token embedding is also its output layer's weight.

    A weight tied to others (mBART's ``shared`` = encoder and decoder ``embed_tokens`` =
    ``lm_head``) is one weight: it appears once, under the first name the patterns select."""
    inc = [_compile(p, "include") for p in include]
    exc = [_compile(p, "exclude") for p in exclude]
    block_of: dict[str, str] = {}
    for bname, block in transformer_blocks(model):
        for sub, _ in block.named_modules():
            block_of[f"{bname}.{sub}" if sub else bname] = bname
    out: dict[str, Prunable] = {}
    seen: set[int] = set()  # ids of the weights already in ``out`` (tied weights once)
    for mname, module in model.named_modules(remove_duplicate=False):
        weight = getattr(module, "weight", None)
        if weight is None or not (_is_projection(module) or isinstance(module, nn.Embedding)):
            continue
        pname = f"{mname}.weight"
        # An embedding is never a block member, even inside one (T5's relative position bias):
        # it has no input activations for calibration to read.
        block = block_of.get(mname) if _is_projection(module) else None
        if block is None and not any(r.search(pname) for r in inc):
            continue
        if any(r.search(pname) for r in exc) or id(weight) in seen:
            continue
        seen.add(id(weight))
        out[pname] = Prunable(pname, mname, block, type(module).__name__ == "Conv1D")
    if not out:
        raise JunkDNAError(
            f"no prunable weights found in {type(model).__name__} "
            f"(include={list(include)}, exclude={list(exclude)}); narrow the exclude patterns"
        )
    return out


def _compile(pattern: str, what: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as e:
        raise JunkDNAError(f"bad {what} pattern {pattern!r}: {e}") from None


def parameters_by_name(model: nn.Module) -> dict[str, nn.Parameter]:
    return dict(model.named_parameters(remove_duplicate=False))


# ----------------------------------------------------------------------------- module types

# What a projection does, from its module name's last parts (BERT/RoBERTa, LLaMA/Mistral, GPT-2,
# mBART/BART/OPT, T5), in the order the atlas shows them. The first matching pattern wins.
MODULE_TYPES: tuple[tuple[str, str], ...] = (
    (r"(encoder_attn|crossattention|EncDecAttention)\.(q_proj|q|query)$", "xattn_q"),
    (r"(encoder_attn|crossattention|EncDecAttention)\.(k_proj|k|key)$", "xattn_k"),
    (r"(encoder_attn|crossattention|EncDecAttention)\.(v_proj|v|value)$", "xattn_v"),
    (r"(encoder_attn|crossattention|EncDecAttention)\.(out_proj|o|output\.dense)$", "xattn_o"),
    (r"(q_proj|\.query|SelfAttention\.q)$", "attn_q"),
    (r"(k_proj|\.key|SelfAttention\.k)$", "attn_k"),
    (r"(v_proj|\.value|SelfAttention\.v)$", "attn_v"),
    (r"(attn\.c_attn|query_key_value|qkv_proj|Wqkv)$", "attn_qkv"),
    (r"(o_proj|out_proj|attention\.output\.dense|attn\.c_proj|attention\.dense|SelfAttention\.o)$",
     "attn_o"),
    (r"(gate_proj|w1)$", "mlp_gate"),
    (r"(up_proj|intermediate\.dense|mlp\.c_fc|fc1|dense_h_to_4h|DenseReluDense\.wi(_0|_1)?|w3)$",
     "mlp_up"),
    (r"(down_proj|(?<!attention\.)output\.dense|mlp\.c_proj|fc2|dense_4h_to_h|DenseReluDense\.wo"
     r"|w2)$", "mlp_down"),
)  # fmt: skip
TYPE_ORDER = tuple(dict.fromkeys(t for _, t in MODULE_TYPES))


def module_type(module_name: str) -> str:
    """``attn_q``/``attn_k``/``attn_v``/``attn_o`` (``attn_qkv`` when fused, ``xattn_*`` for
    cross-attention), ``mlp_gate``/``mlp_up``/``mlp_down``, or the module's own last name when
    the architecture is not known here."""
    for pattern, kind in MODULE_TYPES:
        if re.search(pattern, module_name):
            return kind
    return module_name.rsplit(".", 1)[-1]
