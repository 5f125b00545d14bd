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
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from junkdna.errors import JunkDNAError, did_you_mean
from junkdna.models import CARRIED_OUTPUTS, Prunable, parameters_by_name, transformer_blocks
from junkdna.pruning.base import Criterion
from junkdna.pruning.select import MaskRule

DEFAULT_BATCH_SIZE = 8  # sequences per forward pass: bounds activation memory


class CalibrationCriterion(Criterion):
    """A criterion whose scores need the layer's inputs.

    ``new_stats(in_features, device)`` returns an accumulator with ``add(x)`` (x: the layer
    input, (..., in), any dtype); ``prune_layer`` turns a weight and its statistics into a keep
    mask, and optionally new weights (SparseGPT overrides it; others only score).
    """

    needs_calibration = True
    default_scope = "layer"
    scopes = ("layer", "row")  # a global threshold needs all layers' statistics at once
    option_defaults: ClassVar[dict[str, Any]] = {"batch_size": DEFAULT_BATCH_SIZE}

    def __init__(self, **options: Any):
        for key in options:
            if key not in self.option_defaults:
                raise JunkDNAError(
                    f"method {self.name!r} has no option {key!r}."
                    + did_you_mean(key, self.option_defaults)
                )
        self.options = {**self.option_defaults, **options}
        self.check_options()

    def check_options(self) -> None:
        _positive_int(self.options["batch_size"], f"{self.name} option batch_size")

    def new_stats(self, in_features: int, device: torch.device) -> Any:
        raise NotImplementedError

    def prune_layer(
        self, weight: torch.Tensor, stats: Any, rule: MaskRule, name: str
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(out, in) fp32 weight -> (keep mask (out, in), new weight or None)."""
        return rule.select(self.score(weight, stats), name), None

    def summary(self) -> dict[str, Any]:
        """Extra JSON-able facts for the calibration info (e.g. dampening retries)."""
        return {}


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise JunkDNAError(f"{what} must be a positive integer, got {value!r}")
    return value


def flat_inputs(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Layer input (..., in) -> fp32 (tokens, in) and the number of sequences it holds."""
    nseq = x.numel() // (x.shape[-2] * x.shape[-1]) if x.dim() >= 3 else 1
    return x.detach().reshape(-1, x.shape[-1]).float(), nseq


# ----------------------------------------------------------------------------- calibration data


def calibration_from_source(
    tokenizer, source: str, nsamples: int, seqlen: int, seed: int = 0
) -> torch.Tensor:
    """``nsamples`` random windows of ``seqlen`` tokens -> LongTensor (nsamples, seqlen).

    ``source``: ``"default"`` (offline Wikipedia paragraphs from the BIG-bench archive), a .txt
    file (its whole text) or a .jsonl file (one ``{"text": ...}`` per line). Paragraphs are joined
    by a blank line and tokenized as one stream without special tokens; window starts come from a
    seeded CPU generator, so the windows are the same on every machine.
    """
    _positive_int(nsamples, "nsamples")
    _positive_int(seqlen, "seqlen")
    texts = _read_texts(source)
    ids = tokenizer("\n\n".join(texts), add_special_tokens=False, verbose=False)["input_ids"]
    stream = torch.tensor(ids, dtype=torch.long)
    if stream.numel() < seqlen:
        raise JunkDNAError(
            f"calibration source {source!r} has {stream.numel()} tokens, fewer than one window "
            f"of seqlen={seqlen}; give more text or a smaller --seqlen"
        )
    gen = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, stream.numel() - seqlen + 1, (nsamples,), generator=gen)
    windows = torch.stack([stream[s : s + seqlen] for s in starts.tolist()])
    # Tensors take attributes: prune() records where its calibration came from.
    windows.junkdna_calibration = {  # type: ignore[attr-defined]
        "source": str(source),
        "seed": seed,
        "stream_tokens": stream.numel(),
    }
    return windows


def _read_texts(source: str) -> list[str]:
    if source == "default":
        try:
            from junkdna.data.bigbench import calibration_texts
        except ImportError as e:
            raise JunkDNAError(
                f"the default calibration text is not available ({e}); "
                "give a .txt or .jsonl file with --calibration"
            ) from None
        return list(calibration_texts())
    path = Path(source).expanduser()
    if not path.is_file():
        raise JunkDNAError(
            f"calibration source {source!r} is neither 'default' nor an existing .txt/.jsonl file"
        )
    if path.suffix == ".txt":
        return [path.read_text(encoding="utf-8")]
    if path.suffix == ".jsonl":
        return _read_jsonl(path)
    raise JunkDNAError(f"calibration file {source!r} must end in .txt or .jsonl")


def _read_jsonl(path: Path) -> list[str]:
    texts = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise JunkDNAError(f"{path}:{i}: not valid JSON ({e})") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise JunkDNAError(f"{path}:{i}: each line needs a string field 'text'")
        texts.append(row["text"])
    return texts


def calibration_batches(calibration: Any, batch_size: int) -> list[torch.Tensor]:
    """A LongTensor (nsamples, seqlen) split into batches, or an iterable of such batches."""
    if isinstance(calibration, torch.Tensor):
        _check_ids(calibration, "calibration")
        return list(calibration.split(batch_size))
    if not isinstance(calibration, Iterable) or isinstance(calibration, str | bytes):
        raise JunkDNAError(
            "calibration must be a LongTensor of token ids (nsamples, seqlen) or an iterable of "
            f"such batches, got {type(calibration).__name__}"
        )
    batches = list(calibration)
    if not batches:
        raise JunkDNAError("calibration is empty: give at least one batch of token ids")
    for i, b in enumerate(batches):
        _check_ids(b, f"calibration batch {i}")
    return batches


def _check_ids(t: Any, what: str) -> None:
    if not isinstance(t, torch.Tensor) or t.dtype.is_floating_point or t.dtype == torch.bool:
        raise JunkDNAError(f"{what} must be an integer tensor of token ids")
    if t.dim() != 2 or t.shape[0] == 0 or t.shape[1] == 0:
        raise JunkDNAError(f"{what} must have shape (nsamples, seqlen), got {tuple(t.shape)}")


# ----------------------------------------------------------------------------- the engine

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
    seqlens = sorted({b.shape[1] for b in batches})
    info = {
        "nsamples": sum(b.shape[0] for b in batches),
        "seqlen": seqlens[0] if len(seqlens) == 1 else seqlens,
        "tokens": sum(b.numel() for b in batches),
        "batches": len(batches),
        "device": str(device),
        **getattr(calibration, "junkdna_calibration", {}),
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
                model(**_model_inputs(model, ids))
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


def _model_inputs(model: nn.Module, ids: torch.Tensor) -> dict[str, Any]:
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
            keep, new = crit.prune_layer(weight, stats.pop(p.name), rule, p.name)
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
