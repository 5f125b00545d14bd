"""Masks computed once per mask key and reused across tasks, regimes and seeds.

``<output>/masks/<mask_key>/`` holds ``masks.safetensors`` (and, for methods that also change the
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
    point,
    folder: Path | None,
    resolve_path,
    keep_model_dense: bool,
    task=None,
) -> tuple[MaskSet, dict[str, torch.Tensor] | None, dict[str, Any]]:
    """The MaskSet of pruning point ``point`` (a ``PruningPoint``) for ``model`` (its own
    parameter names), the updated kept weights if the method changes them, and info (cached or
    not, prune time). ``folder``: the mask key's cache folder (None: compute, keep nothing).

    If the mask is computed here, ``model`` is pruned in place unless ``keep_model_dense``
    (frozen transfer needs the pre-trained values), in which case a copy is pruned. ``task``:
    the run's TaskData, for points whose mask depends on it (``PruningPoint.uses_task``: the
    taylor/fisher methods, calibration source "task"); their cache key includes the task.
    """
    if folder is None:
        target = copy.deepcopy(model) if keep_model_dense else model
        masks, weights, info = _compute(target, tokenizer, point, resolve_path, task)
        return masks, weights, info
    with _locked(folder.with_suffix(".lock")):
        if (folder / "masks.safetensors").is_file():
            masks, weights = load_folder(folder, model)
            return masks, weights, {"cached": True, "prune_s": 0.0}
        target = copy.deepcopy(model) if keep_model_dense else model
        masks, weights, info = _compute(target, tokenizer, point, resolve_path, task)
        _save(folder, masks, weights, target)
    return masks, weights, info


def load_folder(folder: Path, model: nn.Module):
    """``masks.safetensors`` (and ``weights.safetensors`` where the method reconstructed the kept
    weights) from a mask-cache folder or ``junkdna prune``'s output (the folder or its masks
    file), named for ``model``."""
    from junkdna.errors import JunkDNAError

    if folder.suffix == ".safetensors" and folder.is_file():
        folder = folder.parent
    path = folder / "masks.safetensors"
    if not path.is_file():
        raise JunkDNAError(
            f"no masks.safetensors in {str(folder)!r}; give the folder that `junkdna prune --out` "
            "wrote"
        )
    masks = MaskSet.load(path)
    weights = None
    if (folder / "weights.safetensors").is_file():
        from safetensors.torch import load_file

        try:
            stored = load_file(str(folder / "weights.safetensors"))
        except Exception as e:  # safetensors raises several types for a corrupt file
            raise JunkDNAError(
                f"weights file {str(folder / 'weights.safetensors')!r} is corrupt or truncated "
                f"({e}); write it again with `junkdna prune`"
            ) from e
        weights = to_model(stored, model)
        params = dict(model.named_parameters(remove_duplicate=False))
        bad = [n for n, w in weights.items() if n not in params or params[n].shape != w.shape]
        if bad:
            raise JunkDNAError(
                f"weights file {str(folder / 'weights.safetensors')!r}: {bad[0]!r} does not fit "
                "this model; give weights pruned from this model"
            )
    masks = MaskSet(to_model(masks.masks, model), masks.metadata)
    try:
        masks.check_compatible(model)
    except JunkDNAError as e:
        raise JunkDNAError(
            f"mask file {str(path)!r}: {e}; give masks pruned from this model"
        ) from None
    return masks, weights


def _compute(model, tokenizer, point, resolve_path, task=None):
    from junkdna.pruning import prune_calibrated

    cal = point.calibration
    if cal is not None and cal["source"] not in ("default", "task"):
        cal = {**cal, "source": str(resolve_path(cal["source"]))}
    t0 = time.perf_counter()
    masks = prune_calibrated(
        model,
        tokenizer,
        point.method,
        cal,
        sparsity=point.sparsity,
        structure=point.structure,
        scope=point.scope,
        include=list(point.include),
        exclude=list(point.exclude),
        budget=getattr(point, "budget", None),
        task=task,
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
