"""Sequential block-by-block calibration, written once for every calibration criterion.

The statistics of block k+1 are computed from the outputs of block k *after* it was pruned:

1. one forward pass of the whole model per calibration batch, stopped by an exception raised from
   a pre-hook on the first block of a stack, captures what that block receives (hidden states and
   every other positional and keyword argument: attention masks, rotary position embeddings,
   cache_position, encoder states ...);
2. for each block in order: forward hooks on its prunable modules accumulate the criterion's
   statistics over all batches; the criterion turns them into masks (SparseGPT also updates the
   kept weights); the block is pruned; the block is re-run to give the next block's inputs.

Only the block being processed and the activations live on ``device``; the block goes back where
it came from afterwards, so a model larger than the accelerator prunes one block at a time. The
capture passes run where the model lives and stop at the first block, so they cost little (an
encoder-decoder's second pass also runs the pruned encoder there).

Encoder-decoder models have two stacks (encoder, then decoder). The decoder's first-block inputs
are captured by a second stopped forward pass, after the encoder was pruned, so they include
``encoder_hidden_states`` of the pruned encoder. The decoder reads the calibration ids shifted
right by one position behind the decoder start token (teacher forcing on the same text): the
calibration text is unlabelled, so the source text itself is the most natural target.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.models import CARRIED_OUTPUTS, Prunable, parameters_by_name, transformer_blocks
from junkdna.pruning.calibrated import CalibrationCriterion
from junkdna.pruning.calibration import calibration_batches, calibration_info
from junkdna.pruning.select import MaskRule

Inputs = list[tuple[tuple, dict]]  # per batch: the (args, kwargs) a block is called with


@torch.no_grad()
def prune_sequential(
    model: nn.Module,
    crit: CalibrationCriterion,
    prunables: dict[str, Prunable],
    rule: MaskRule,
    calibration: Any,
    device: str | torch.device | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Prune ``model`` in place block by block; return keep masks (parameters' own layouts) and
    a JSON-able description of the calibration."""
    outside = [n for n, p in prunables.items() if p.block is None]
    if outside:
        raise JunkDNAError(
            f"method {crit.name!r} calibrates block by block, but {outside[0]!r} "
            f"({len(outside)} weight(s) in all) lies outside the transformer blocks; "
            "drop the include pattern or prune those weights with magnitude"
        )
    batches = calibration_batches(calibration, crit.options["batch_size"])
    device = torch.device(device) if device is not None else next(model.parameters()).device
    members: dict[str, list[Prunable]] = {}
    for p in prunables.values():
        members.setdefault(p.block, []).append(p)
    params = parameters_by_name(model)
    masks: dict[str, torch.Tensor] = {}
    was_training = model.training
    model.eval()  # dropout off: statistics of the deterministic network
    try:
        for stack in _stacks(model):
            inputs = _capture(model, stack[0][1], batches, device)
            for bname, block in stack:
                inputs = _process_block(
                    model, block, members.get(bname, []), crit, rule, inputs, device, params, masks
                )
            del inputs
    finally:
        model.train(was_training)
    info = {
        **calibration_info(batches, calibration),
        "batches": len(batches),
        "device": str(device),
        **crit.summary(),
    }
    return masks, info


def _stacks(model: nn.Module) -> list[list[tuple[str, nn.Module]]]:
    """Blocks grouped by the ModuleList holding them, in forward order (encoder first)."""
    stacks: dict[str, list[tuple[str, nn.Module]]] = {}
    for name, block in transformer_blocks(model):
        stacks.setdefault(name.rsplit(".", 1)[0], []).append((name, block))
    return list(stacks.values())


class _Stop(Exception):
    """Raised from the first block's pre-hook: its inputs are all we need from the model."""

    def __init__(self, args: tuple, kwargs: dict):
        super().__init__("calibration capture")
        self.args, self.kwargs = args, kwargs


def _capture(model: nn.Module, first: nn.Module, batches, device: torch.device) -> Inputs:
    def stop(module, args, kwargs):
        raise _Stop(args, kwargs)

    handle = first.register_forward_pre_hook(stop, with_kwargs=True)
    captured: Inputs = []
    try:
        for ids in batches:
            try:
                model(**model_inputs(model, ids))
            except _Stop as s:
                captured.append((_to(s.args, device), _to(s.kwargs, device)))
            else:
                raise JunkDNAError(
                    f"the forward pass of {type(model).__name__} never reached its first "
                    f"{type(first).__name__}; cannot calibrate"
                )
    finally:
        handle.remove()
    return captured


def model_inputs(model: nn.Module, ids: torch.Tensor) -> dict[str, Any]:
    ids = ids.to(model.get_input_embeddings().weight.device)
    kwargs: dict[str, Any] = {"input_ids": ids}
    config = getattr(model, "config", None)
    if getattr(config, "is_encoder_decoder", False):
        kwargs["decoder_input_ids"] = _shift_right(ids, config)
    if "use_cache" in inspect.signature(model.forward).parameters:
        kwargs["use_cache"] = False
    return kwargs


def _shift_right(ids: torch.Tensor, config) -> torch.Tensor:
    """Decoder inputs: the same ids one position later, behind the decoder start token."""
    keys = ("decoder_start_token_id", "bos_token_id", "pad_token_id")
    start = next((t for k in keys if (t := getattr(config, k, None)) is not None), 0)
    out = ids.new_full(ids.shape, start)
    out[:, 1:] = ids[:, :-1]
    return out


def _to(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, tuple | list):
        return type(obj)(_to(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    return obj


def _process_block(
    model, block, members, crit, rule, inputs: Inputs, device, params, masks
) -> Inputs:
    """Accumulate statistics, prune, and return the next block's inputs (pruned outputs)."""
    home = next(block.parameters()).device
    block.to(device)
    try:
        stats = {}
        handles = []
        for p in members:
            stats[p.name] = crit.new_stats(p.matrix(params[p.name]).shape[1], device)
            handles.append(
                model.get_submodule(p.module_name).register_forward_hook(_recorder(stats[p.name]))
            )
        try:
            if members:
                for args, kwargs in inputs:
                    block(*args, **kwargs)
        finally:
            for h in handles:
                h.remove()
        for p in members:
            param = params[p.name]
            weight = p.matrix(param.detach()).float()  # (out, in)
            layer_rule = rule.for_layer(p.name)  # the rule itself unless a budget gives counts
            keep, new = crit.prune_layer(weight, stats.pop(p.name), layer_rule, p.name)
            if new is None:
                param.mul_(p.matrix(keep))
            else:
                param.copy_(p.matrix(new * keep).to(param.dtype))
            masks[p.name] = p.matrix(keep).contiguous().to(home)
        return [_next_inputs(block, args, kwargs) for args, kwargs in inputs]
    finally:
        block.to(home)


def _recorder(stats):
    def hook(module, args, output):
        stats.add(args[0])

    return hook


def _next_inputs(block: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    out = block(*args, **kwargs)
    hidden = out[0] if isinstance(out, tuple | list) else out
    if args:
        new_args = [hidden, *args[1:]]
    elif "hidden_states" in kwargs:
        new_args, kwargs = [], {**kwargs, "hidden_states": hidden}
    else:
        raise JunkDNAError(f"cannot find the hidden states among {type(block).__name__}'s inputs")
    for out_i, arg_i in CARRIED_OUTPUTS.get(type(block).__name__, ()):
        if arg_i < len(new_args) and out_i < len(out):
            new_args[arg_i] = out[out_i]
    return tuple(new_args), kwargs
