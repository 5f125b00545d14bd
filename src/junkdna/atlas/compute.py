"""The model side of the atlas: which weights each task needs, counted per layer and module type.

For a model, a sparsity s and tasks t_1..t_k:

* the *junk* J: the s share of the prunable weights with the globally smallest magnitudes (what
  global magnitude pruning at s removes; the same for every task, since task heads are never
  prunable);
* task t's *important set* K_t: the (1 - s) share of the weights a task-aware criterion keeps at
  sparsity s (``fisher`` or ``taylor``, global scope), scored with t's own labelled examples
  through t's head (``junkdna.pruning.importance``);
* per cell (task, layer, module type) the counts ``n`` (weights), ``junk`` (|J|), ``kept`` (|K_t|),
  ``kept_junk`` (|K_t ∩ J|), the importance mass ``mass`` (sum of t's scores) and ``mass_junk``
  (their sum over J); and per pair of tasks per cell ``both`` (|K_a ∩ K_b|).

Every figure of ``junkdna.atlas.tables`` is a ratio of these sums, so layers and module types
aggregate exactly. Memory: one task's scores live in a ``ScoreStore`` (RAM up to a budget, then
spilled to disk) and are read one weight at a time; a task's important set is kept as packed bits
(one bit per weight), so k tasks cost k/8 bytes per weight, never fp32 per weight per task.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from junkdna.errors import JunkDNAError

TASK_AWARE = ("fisher", "taylor")


@dataclass
class AtlasTask:
    """One task of the atlas: its label in tables and a loader of its ``TaskData``."""

    label: str
    load: Callable[[], Any]
    difficulty: float | None = None  # a given difficulty measure (larger = harder)


@dataclass
class AtlasCounts:
    """The raw sums of an atlas (see the module docstring); ``tables.Atlas`` derives the rest."""

    model: str
    method: str
    sparsity: float
    cells: list[dict[str, Any]] = field(default_factory=list)  # per task x weight
    pairs: list[dict[str, Any]] = field(default_factory=list)  # per task pair x weight
    tasks: list[dict[str, Any]] = field(default_factory=list)  # label, difficulty, info


def check_method(method: str) -> None:
    if method not in TASK_AWARE:
        raise JunkDNAError(
            f"atlas method {method!r} is not a task-aware criterion; valid: {', '.join(TASK_AWARE)}"
        )


def _packed(mask: torch.Tensor) -> np.ndarray:
    return np.packbits(mask.reshape(-1).cpu().numpy())


def _popcount(bits: np.ndarray) -> int:
    return int(np.bitwise_count(bits).sum(dtype=np.int64))


def compute_atlas(
    model_ref: str,
    tasks: Sequence[AtlasTask],
    sparsity: float,
    *,
    method: str = "fisher",
    nsamples: int = 256,
    batch_size: int = 8,
    seed: int = 0,
    device: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> AtlasCounts:
    """Score every task and count (module docstring). ``model_ref``: an alias, folder or hub id;
    each task loads the model with its own (seeded) head."""
    from junkdna.models import module_type, prunable_weights, transformer_blocks
    from junkdna.pruning.importance import task_importance
    from junkdna.pruning.select import check_sparsity, select_smallest
    from junkdna.study.maskcache import to_canonical
    from junkdna.study.run import load_model_for

    check_method(method)
    check_sparsity(sparsity)
    if not 0 < sparsity < 1:
        raise JunkDNAError(f"atlas sparsity must be in (0, 1), got {sparsity!r}")
    labels = [t.label for t in tasks]
    if len(tasks) < 1 or len(set(labels)) != len(labels):
        raise JunkDNAError(f"atlas tasks must be one or more distinct names, got {labels}")
    say = progress or (lambda _msg: None)
    out = AtlasCounts(model_ref, method, float(sparsity))
    junk_bits: dict[str, np.ndarray] | None = None  # canonical name -> packed J
    layout: dict[str, dict[str, Any]] = {}  # canonical name -> layer, block, type, numel
    kept_bits: dict[str, dict[str, np.ndarray]] = {}
    for task_spec in tasks:
        t0 = time.perf_counter()
        task = task_spec.load()
        model, tokenizer = load_model_for(model_ref, task, seed)
        if device is not None:
            model.to(device)
        prunables = prunable_weights(model)
        params = dict(model.named_parameters(remove_duplicate=False))
        canon = to_canonical({n: n for n in prunables}, model)  # canonical -> model name
        if junk_bits is None:
            junk_bits, layout = _junk(model, prunables, params, canon, sparsity)
            layer_of = {b: i for i, (b, _) in enumerate(transformer_blocks(model))}
            for c, n in canon.items():
                p = prunables[n]
                layout[c] |= {
                    "layer": layer_of.get(p.block, -1),
                    "block": p.block or "outside",
                    "module_type": module_type(p.module_name),
                }
        elif set(canon) != set(layout):
            raise JunkDNAError(
                f"task {task_spec.label!r}: the model's prunable weights differ from the first "
                "task's; an atlas compares tasks on one backbone"
            )
        say(f"{task_spec.label}: scoring {method} on {nsamples} examples")
        with task_importance(
            model, tokenizer, task, method, nsamples=nsamples, seed=seed,
            batch_size=batch_size, prunables=prunables,
        ) as store:  # fmt: skip
            keep = select_smallest(store.fns(), sparsity=sparsity)
            bits: dict[str, np.ndarray] = {}
            for c, n in canon.items():
                scores = store.load(n).double()
                k = keep.pop(n)
                junk = torch.from_numpy(
                    np.unpackbits(junk_bits[c], count=k.numel()).astype(bool)
                ).view(k.shape)
                out.cells.append(
                    {
                        "task": task_spec.label,
                        "weight": c,
                        **layout[c],
                        "kept": int(k.sum()),
                        "kept_junk": int((k & junk).sum()),
                        "mass": float(scores.sum()),
                        "mass_junk": float(scores[junk].sum()),
                    }
                )
                bits[c] = _packed(k)
            info = dict(store.info)
        del keep
        kept_bits[task_spec.label] = bits
        out.tasks.append(
            {
                "task": task_spec.label,
                "name": task.name,
                "difficulty": task_spec.difficulty,
                "n_train": len(task.train),
                "importance": info,
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
        del model
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            for c in layout:
                both = _popcount(np.bitwise_and(kept_bits[a][c], kept_bits[b][c]))
                out.pairs.append({"task_a": a, "task_b": b, "weight": c, "both": both})
    return out


def _junk(model, prunables, params, canon, sparsity):
    """Packed bits of the globally smallest-magnitude ``sparsity`` share (True = junk), by
    canonical name, and each weight's size."""
    from junkdna.pruning.select import select_smallest

    def magnitude(n):
        return lambda: prunables[n].matrix(params[n].detach()).float().abs()

    keep = select_smallest({n: magnitude(n) for n in canon.values()}, sparsity=sparsity)
    bits, layout = {}, {}
    for c, n in canon.items():
        k = keep.pop(n)
        bits[c] = _packed(~k)
        layout[c] = {"n": k.numel(), "junk": int((~k).sum())}
    return bits, layout
