"""Run linear mode connectivity for one pair of fine-tuned checkpoints and keep the result.

Convention (the paper's Figure 10, and ``analysis.lmc``): alpha = 0 is the DENSE fine-tuned
model, alpha = 1 the SPARSE one; theta(alpha) = alpha * theta_sparse + (1 - alpha) * theta_dense.
A pair's result is ``lmc.json`` (curve, barrier, endpoints, provenance), ``lmc.csv`` (the curve)
and the figure as PNG and SVG, each written atomically.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from junkdna.analysis.lmc import ENDPOINT_TOL, LMCResult, interpolate, loss_barrier
from junkdna.errors import JunkDNAError
from junkdna.paths import atomic_path, atomic_write_text

WEIGHTS = "model.safetensors"  # what `finetune --save-weights` and a study's runs write
CONVENTION = "alpha=0: dense (B), alpha=1: sparse (A); theta = alpha*sparse + (1-alpha)*dense"
FORMAT = 1


def parse_alphas(text: str | None = None, steps: int | None = None) -> list[float]:
    """The grid: ``text`` ("0,0.25,...,1") or ``steps`` evenly spaced points (default 11).
    Every alpha lies in [0, 1] and the grid holds both endpoints (they define the chord)."""
    if text is not None and steps is not None:
        raise JunkDNAError("give --alphas or --steps, not both")
    if text is None:
        steps = 11 if steps is None else steps
        if steps < 2:
            raise JunkDNAError(f"--steps must be >= 2 (the two endpoints), got {steps}")
        return [round(float(a), 12) for a in np.linspace(0.0, 1.0, steps)]
    try:
        alphas = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise JunkDNAError(f"--alphas must be comma-separated numbers, got {text!r}") from None
    bad = [a for a in alphas if not (math.isfinite(a) and 0.0 <= a <= 1.0)]
    if bad:
        raise JunkDNAError(f"alphas must lie in [0, 1] (0 = dense, 1 = sparse); got {bad}")
    for end in (0.0, 1.0):
        if not any(abs(a - end) < ENDPOINT_TOL for a in alphas):
            raise JunkDNAError(f"alphas must include 0 and 1 (the two endpoints); got {alphas}")
    return sorted(set(alphas))


def weights_file(ref: str | Path, role: str) -> Path:
    """A .safetensors file, or a run folder holding ``model.safetensors``."""
    path = Path(ref).expanduser()
    if path.is_dir():
        path = path / WEIGHTS
    if not path.is_file():
        raise JunkDNAError(
            f"{role} weights not found: {path} (give a .safetensors file or a run folder with "
            f"{WEIGHTS}; fine-tune with --save-weights or a study with save_weights = true)"
        )
    return path


def load_endpoint(model, path: Path, role: str) -> dict[str, Any]:
    """The full state dict of ``model`` with ``path``'s weights (tied weights, stored once by
    ``save_model``, are restored by loading into the model). Shapes and names must match."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    try:
        load_model(model, str(path), strict=True)
    except (RuntimeError, SafetensorError, OSError) as e:
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise JunkDNAError(
            f"{role} weights {path} do not fit {type(model).__name__} (a different model, head "
            f"or number of labels?): {first}"
        ) from None
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def eval_fn(tokenizer, task, recipe):
    """``model -> {"loss", "metric"}`` on the task's validation split (primary metric)."""
    from junkdna.transfer.evaluate import evaluate
    from junkdna.transfer.loss import evaluate_loss

    def run(model) -> dict[str, float]:
        scores = evaluate(model, tokenizer, task, recipe)
        return {"loss": evaluate_loss(model, tokenizer, task, recipe), "metric": _primary(scores)}

    return run


def _primary(scores: Mapping[str, float]) -> float:
    return float(next(iter(scores.values()))) if scores else float("nan")


def run_pair(model, tokenizer, task, recipe, sparse: Path, dense: Path, alphas) -> LMCResult:
    """Interpolate dense (alpha 0) -> sparse (alpha 1) on ``task``'s validation split."""
    model.to(recipe.resolved_device())
    dense_state = load_endpoint(model, dense, "dense (B)")
    sparse_state = load_endpoint(model, sparse, "sparse (A)")
    # analysis.lmc: alpha 0 is state_a, alpha 1 is state_b.
    return interpolate(model, dense_state, sparse_state, alphas, eval_fn(tokenizer, task, recipe))


def result_record(res: LMCResult, **info: Any) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "convention": CONVENTION,
        "alphas": res.alphas,
        "losses": res.losses,
        "metrics": res.metrics,
        "barrier": res.barrier,
        **info,
    }


def write_result(out: Path, res: LMCResult, title: str, stem: str = "lmc", **info) -> Path:
    """``out/<stem>.json`` + ``.csv`` + ``.png``/``.svg``; returns the JSON's path."""
    from junkdna.analysis import plots

    out = Path(out)
    with atomic_path(out / f"{stem}.csv") as tmp:
        res.to_frame().to_csv(tmp, index=False)
    plots.save_figure(plots.lmc_figure(res.to_frame(), res.barrier, title), out, stem)
    record = result_record(res, title=title, **info)
    # Written last: a JSON present means the pair is complete (study mode skips it on resume).
    atomic_write_text(out / f"{stem}.json", json.dumps(record, indent=2, default=str))
    return out / f"{stem}.json"


def load_result(path: Path) -> tuple[LMCResult, dict[str, Any]]:
    """An LMCResult back from ``lmc.json`` (the barrier recomputed from the curve, so a file
    edited by hand cannot disagree with itself), and the whole record."""
    try:
        rec = json.loads(Path(path).read_text())
        alphas, losses = [float(a) for a in rec["alphas"]], [float(x) for x in rec["losses"]]
        metrics = [float(m) for m in rec["metrics"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise JunkDNAError(f"{path} is not a readable lmc.json ({type(e).__name__}: {e})") from None
    return LMCResult(alphas, losses, metrics, loss_barrier(alphas, losses)), rec


def format_curve(res: LMCResult, metric_name: str = "metric") -> str:
    lines = [f"{'alpha':>6} {'loss':>10} {metric_name:>10}"]
    lines += [
        f"{a:>6.3g} {loss:>10.5f} {m:>10.4f}"
        for a, loss, m in zip(res.alphas, res.losses, res.metrics, strict=True)
    ]
    return "\n".join(lines)


def cap_validation(task, max_examples: int | None):
    """The first ``max_examples`` validation rows (the same subset for every alpha)."""
    import dataclasses

    if max_examples is None:
        return task
    if max_examples < 1:
        raise JunkDNAError(f"--max-examples must be >= 1, got {max_examples}")
    if max_examples >= len(task.validation):
        return task
    val = task.validation
    rows = val.select(range(max_examples)) if hasattr(val, "select") else val[:max_examples]
    return dataclasses.replace(task, validation=rows)


def same_alphas(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) < ENDPOINT_TOL for x, y in zip(a, b, strict=True))
