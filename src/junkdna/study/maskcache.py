"""Masks computed once per mask key and reused across tasks, regimes and seeds.

``<output>/masks/<mask_key>/`` holds ``masks.safetensors`` (and, for criteria that also change the
kept weights such as SparseGPT, ``weights.safetensors``). Parameter names are stored relative to
the bare transformer (``encoder.layer.0...`` rather than ``bert.encoder.layer.0...``), so that a
mask made on a model with one task head fits the same model with another head. A file lock per
key makes concurrent workers compute a mask once; the others wait and load it.
"""

from __future__ import annotations

import copy
import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from junkdna.masks import MaskSet
from junkdna.paths import atomic_path


def _prefix(model: nn.Module) -> str:
    """'bert.' for a model with a head around its transformer, '' for the bare transformer."""
    base = getattr(model, "base_model_prefix", "")
    return f"{base}." if base and hasattr(model, base) else ""


def to_canonical(names: dict[str, Any], model: nn.Module) -> dict[str, Any]:
    p = _prefix(model)
    return {n.removeprefix(p) if p and n.startswith(p) else n: v for n, v in names.items()}


def to_model(names: dict[str, Any], model: nn.Module) -> dict[str, Any]:
    p = _prefix(model)
    params = dict(model.named_parameters(remove_duplicate=False))
    return {(n if n in params or not p else p + n): v for n, v in names.items()}


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes (or the process dies)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def get_masks(
    model: nn.Module,
    tokenizer,
    pruning: dict[str, Any],
    folder: Path,
    resolve_path,
    keep_model_dense: bool,
) -> tuple[MaskSet, dict[str, torch.Tensor] | None, dict[str, Any]]:
    """The MaskSet for ``model`` (its own parameter names), the updated kept weights if the
    criterion changes them, and info (cached or not, prune time).

    If the mask is computed here, ``model`` is pruned in place unless ``keep_model_dense``
    (frozen transfer needs the pre-trained values), in which case a copy is pruned.
    """
    with _locked(folder.with_suffix(".lock")):
        if (folder / "masks.safetensors").is_file():
            masks = MaskSet.load(folder / "masks.safetensors")
            weights = None
            if (folder / "weights.safetensors").is_file():
                from safetensors.torch import load_file

                weights = load_file(str(folder / "weights.safetensors"))
            info = {"cached": True, "prune_s": 0.0}
        else:
            target = copy.deepcopy(model) if keep_model_dense else model
            masks, weights, info = _compute(target, tokenizer, pruning, resolve_path)
            _save(folder, masks, weights, target)
    masks = MaskSet(to_model(masks.masks, model), masks.metadata)
    weights = None if weights is None else to_model(weights, model)
    return masks, weights, info


def _compute(model, tokenizer, pruning, resolve_path):
    from junkdna.pruning import prune
    from junkdna.pruning.calibration import calibration_from_source

    calibration = None
    cal = pruning["calibration"]
    if cal is not None:
        source = cal["source"]
        source = source if source == "default" else str(resolve_path(source))
        calibration = calibration_from_source(
            tokenizer, source, cal["nsamples"], cal["seqlen"], cal["seed"]
        )
    t0 = time.perf_counter()
    masks = prune(
        model,
        method=pruning["criterion"],
        sparsity=pruning["sparsity"],
        structure=pruning["structure"],
        scope=pruning["scope"],
        calibration=calibration,
        include=pruning["include"],
        exclude=pruning["exclude"],
    )
    weights = None
    if masks.metadata.get("updates_weights"):
        params = dict(model.named_parameters(remove_duplicate=False))
        weights = {n: params[n].detach().contiguous().cpu().clone() for n in masks}
    return masks, weights, {"cached": False, "prune_s": time.perf_counter() - t0}


def _save(folder: Path, masks: MaskSet, weights, model) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if weights is not None:
        from safetensors.torch import save_file

        # Weights first: a kill between the two files leaves no masks file, so the key is redone.
        with atomic_path(folder / "weights.safetensors") as tmp:
            save_file(to_canonical(weights, model), str(tmp))
    MaskSet(to_canonical(masks.masks, model), masks.metadata).save(folder / "masks.safetensors")


def apply_weights(model: nn.Module, weights: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters(remove_duplicate=False))
    with torch.no_grad():
        for n, w in weights.items():
            params[n].copy_(w)
