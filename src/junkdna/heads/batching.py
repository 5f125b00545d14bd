"""What every head kind shares: reading a split's columns, padding features into batches, and
running a model for scoring (device, eval mode, autocast).

A *feature* is one example as plain Python lists: ``input_ids``, ``attention_mask`` (and
``token_type_ids`` where the tokenizer makes them), plus ``labels``: an int (classification,
multiple choice), a float (regression) or a token list (seq2seq, causal LM; ``IGNORE`` marks
positions without loss). A multiple-choice feature holds one sequence per choice (lists of lists).
Padding is dynamic: each batch is padded to its own longest sequence.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.recipe import Recipe

IGNORE = -100  # label id that the loss skips (Hugging Face convention)
SEQUENCE_KEYS = {"input_ids", "attention_mask", "token_type_ids"}
MEGABATCH = 50  # batches per length-sorted group (group_by_length)

# ----------------------------------------------------------------------------- text -> features


def column(ds: Any, field: str, split: str) -> list[Any]:
    """A column of a datasets.Dataset, a dict of lists, or a list of row dicts."""
    try:
        if isinstance(ds, Sequence) and not hasattr(ds, "column_names"):
            return [row[field] for row in ds]
        return list(ds[field])
    except (KeyError, ValueError):
        present = getattr(ds, "column_names", None) or (list(ds[0]) if len(ds) else [])
        raise JunkDNAError(
            f"{split} split has no column {field!r}; columns present: {', '.join(present)}"
        ) from None


def take_rows(ds: Any, idx: Sequence[int]) -> Any:
    """Rows ``idx`` (in that order) of a datasets.Dataset, a dict of lists or a list of row
    dicts, as the same kind of container."""
    idx = list(idx)
    if hasattr(ds, "select"):
        return ds.select(idx)
    if isinstance(ds, dict):
        return {k: [v[i] for i in idx] for k, v in ds.items()}
    return [ds[i] for i in idx]


def prompts(rows: Sequence[Sequence[Any]]) -> list[str]:
    """The text fields of each row, one per line (the input of the generation heads)."""
    return ["\n".join(str(t) for t in r) for r in rows]


def features_of(enc, labels: Sequence[Any]) -> list[dict]:
    """Per-example features from a batch tokenizer output (its sequence keys) and the labels."""
    keys = [k for k in enc if k in SEQUENCE_KEYS]
    return [{**{k: enc[k][i] for k in keys}, "labels": y} for i, y in enumerate(labels)]


def eos(tokenizer) -> int:
    """The end-of-sequence id (SEP for BERT-style tokenizers that have no EOS)."""
    eos_id = tokenizer.eos_token_id
    if eos_id is None:
        eos_id = tokenizer.sep_token_id
    if eos_id is None:
        raise JunkDNAError("the tokenizer has no end-of-sequence token; causal-LM targets need one")
    return eos_id


def pad_id(tokenizer) -> int:
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    return eos(tokenizer)


def feature_length(feature: dict) -> int:
    """Tokens of the longest sequence of a feature (multiple choice: of its longest choice)."""
    ids = feature["input_ids"]
    return max((len(s) for s in ids), default=0) if ids and isinstance(ids[0], list) else len(ids)


# ----------------------------------------------------------------------------- features -> batches


def collate(features: list[dict], pad_id: int, left: bool = False) -> dict[str, torch.Tensor]:
    """Pad each sequence key to the batch's longest (left padding for decoder-only generation)."""
    batch: dict[str, torch.Tensor] = {}
    for key in features[0]:
        values = [f[key] for f in features]
        if key == "labels" and values[0] is None:
            continue
        if isinstance(values[0], list):
            fill = pad_id if key == "input_ids" else IGNORE if key == "labels" else 0
            if values[0] and isinstance(values[0][0], list):  # (batch, choices, sequence)
                k = len(values[0])
                flat = pad([s for v in values for s in v], fill, left)
                batch[key] = flat.view(len(values), k, -1)
            else:
                batch[key] = pad(values, fill, left)
        elif isinstance(values[0], float):
            batch[key] = torch.tensor(values, dtype=torch.float32)
        else:
            batch[key] = torch.tensor(values, dtype=torch.long)
    return batch


def pad(seqs: list[list[int]], fill: int, left: bool) -> torch.Tensor:
    """Token lists as one (batch, longest) tensor, filled with ``fill`` on the right or left."""
    width = max(len(s) for s in seqs)
    out = torch.full((len(seqs), width), fill, dtype=torch.long)  # (batch, longest)
    for i, s in enumerate(seqs):
        if s:
            if left:
                out[i, width - len(s) :] = torch.tensor(s)
            else:
                out[i, : len(s)] = torch.tensor(s)
    return out


def batches(
    n: int,
    batch_size: int,
    generator: torch.Generator | None = None,
    lengths: Sequence[int] | None = None,
) -> Iterator[list[int]]:
    """Index batches: shuffled by ``generator`` (training) or in order (evaluation). With
    ``lengths`` (training only), each run of ``MEGABATCH`` batches of the shuffled order is sorted
    by length, longest first, so that a batch holds sequences of similar length."""
    order = torch.randperm(n, generator=generator).tolist() if generator is not None else range(n)
    order = list(order)
    if lengths is not None and generator is not None:
        mega = batch_size * MEGABATCH
        order = [
            i
            for s in range(0, n, mega)
            for i in sorted(order[s : s + mega], key=lambda i: -lengths[i])
        ]
    for i in range(0, n, batch_size):
        yield order[i : i + batch_size]


# ----------------------------------------------------------------------------- running a model


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


def eval_batches(
    model: nn.Module, tokenizer, features: list[dict], recipe: Recipe, left: bool = False
) -> Iterator[dict[str, torch.Tensor]]:
    """The model inputs of ``features`` in order, ``recipe``'s eval batch size at a time, on the
    model's device, without labels (prediction needs none)."""
    device = device_of(model)
    fill = pad_id(tokenizer)
    for idx in batches(len(features), recipe.resolved_eval_batch_size):
        batch = collate([features[i] for i in idx], fill, left=left)
        batch.pop("labels", None)
        yield {k: v.to(device) for k, v in batch.items()}
