"""Linear mode connectivity of fine-tuned runs (paper appendix B): a pair's result files, and the
study mode that pairs every sparse-regime run with the dense run of the same model, task,
difficulty level, seed and recipe (both finished with saved weights).

Convention (the paper's Figure 10, and ``transfer.lmc``): alpha = 0 is the DENSE fine-tuned
model, alpha = 1 the SPARSE one; theta(alpha) = alpha * theta_sparse + (1 - alpha) * theta_dense.
A pair's result is ``<stem>.json`` (curve, barrier, endpoints, provenance) and ``<stem>.csv``
(the curve), each written atomically; in study mode ``<output>/lmc/<sparse run id>.json``, whose
record also carries the sparse run's labels (``pair_labels``: seed, difficulty setting and level,
pruning point, regime), the columns a test across seeds needs. The report (``junkdna report
STUDY``) reads them back with ``load_study_lmc`` (Figure 10) and ``load_study_lmc_records`` (one
row per pair, for ``analysis.lmc_tests``). A pair whose JSON exists with the same two runs and
alphas is not recomputed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from junkdna.errors import JunkDNAError
from junkdna.paths import atomic_path, atomic_write_text
from junkdna.recipe import Recipe
from junkdna.study.run import cap_validation, load_model_for, load_run_task
from junkdna.study.spec import WEIGHTS, RunSpec
from junkdna.transfer.lmc import LMCResult, loss_barrier, run_pair, same_alphas
from junkdna.transfer.regimes import REGIMES

log = logging.getLogger(__name__)
LMC_DIR = "lmc"
CONVENTION = "alpha=0: dense (B), alpha=1: sparse (A); theta = alpha*sparse + (1-alpha)*dense"
FORMAT = 1


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
    """``out/<stem>.json`` + ``.csv`` (figures are the report's and the command's); returns the
    JSON's path."""
    out = Path(out)
    with atomic_path(out / f"{stem}.csv") as tmp:
        res.to_frame().to_csv(tmp, index=False)
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


@dataclass(frozen=True)
class Pair:
    sparse: RunSpec
    dense: RunSpec

    @property
    def name(self) -> str:
        return self.sparse.describe()


def require_saved_weights(plan) -> None:
    if not any(r.labels.save_weights for r in plan.runs):
        raise JunkDNAError(
            f"study {plan.study.name!r} saves no fine-tuned weights; set save_weights = true in "
            "its [[experiment]] (for the sparse and dense runs), run it, then run lmc"
        )


def study_pairs(plan, store, regimes=("sparse",)) -> list[Pair]:
    """Finished pairs with saved weights. A study that keeps no weights is an error that says
    how to fix it; so is one with no finished pair."""
    require_saved_weights(plan)
    for r in regimes:
        if not REGIMES.get(r).takes_masks():  # unknown names: did-you-mean
            raise JunkDNAError(f"regime {r!r} runs unpruned; pair a regime that takes masks")
    done = {r["run_id"] for r in store.rows() if r["status"] == "done"}
    # The reference of a fine-tuned lineage: the unpruned run of a regime that fine-tunes and is
    # its own reference (dense transfer).
    dense: dict[str, RunSpec] = {}
    for run in plan.runs:
        policy = REGIMES.get(run.regime)
        if policy.is_reference() and policy.finetunes and run.run_id in done:
            dense[run.lineage()] = run
    out = []
    for run in plan.runs:
        if run.regime in regimes and run.run_id in done:
            ref = dense.get(run.lineage())
            if ref is not None:
                out.append(Pair(run, ref))
    if not out:
        raise JunkDNAError(
            f"study {plan.study.name!r} has no finished pair of a {'/'.join(regimes)} run and the "
            "dense run with the same model, task, difficulty level, seed and recipe"
        )
    return out


def run_study_lmc(
    plan,
    store,
    alphas,
    *,
    regimes=("sparse",),
    max_examples: int | None = None,
    device: str | None = None,
    force: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Interpolate every pair; returns {pair name: lmc json path}. ``overrides``: evaluation
    settings over the study's recipe (eval_batch_size, precision; None = the study's)."""
    study = plan.study
    out: dict[str, Path] = {}
    for pair in study_pairs(plan, store, regimes):
        stem = pair.sparse.run_id
        final = study.output / LMC_DIR / f"{stem}.json"
        if not force and _up_to_date(final, pair, alphas, max_examples):
            log.info("lmc %s: done before, kept", pair.name)
            out[pair.name] = final
            continue
        files = [_run_weights(study, r) for r in (pair.sparse, pair.dense)]
        spec = pair.sparse
        task = cap_validation(load_run_task(spec), max_examples)
        recipe = _recipe(spec.recipe, {"device": device, **(overrides or {})})
        model, tokenizer = load_model_for(spec.model_ref, task, spec.seed)
        res = run_pair(model, tokenizer, task, recipe, files[0], files[1], alphas)
        info = {
            "pair": pair.name,
            "sparse_run": pair.sparse.run_id,
            "dense_run": pair.dense.run_id,
            "sparse_weights": str(files[0]),
            "dense_weights": str(files[1]),
            **pair_labels(spec),
            "metric": task.metric,
            "n_validation": len(task.validation),
            "max_examples": max_examples,
        }
        out[pair.name] = write_result(final.parent, res, pair.name, stem, **info)
        log.info("lmc %s: barrier %.4g", pair.name, res.barrier)
    return out


def _up_to_date(path: Path, pair: Pair, alphas, max_examples) -> bool:
    if not path.is_file():
        return False
    try:
        _, rec = load_result(path)
    except JunkDNAError:
        return False
    same_runs = (rec.get("sparse_run"), rec.get("dense_run")) == (
        pair.sparse.run_id,
        pair.dense.run_id,
    )
    same_data = rec.get("max_examples") == max_examples
    return same_runs and same_data and same_alphas(rec["alphas"], alphas)


def _run_weights(study, run) -> Path:
    path = study.output / "runs" / run.run_id / WEIGHTS
    if not path.is_file():
        raise JunkDNAError(
            f"run {run.run_id} ({run.describe()}) has no {WEIGHTS}: it finished before "
            "save_weights = true was set; rerun it (delete its row or use a new output folder)"
        )
    return path


def _recipe(recipe: Recipe, overrides: dict[str, Any]) -> Recipe:
    # Built anew, so that the overrides are validated like any recipe.
    return Recipe(**{**recipe.to_dict(), **{k: v for k, v in overrides.items() if v is not None}})


# The labels of a pair in a record and in ``load_study_lmc_records``'s table: those of the sparse
# run (its dense partner shares model, task, difficulty, level and seed by construction), in the
# results table's own spelling (``study.export``) so that the two join.
LABELS = ("experiment", "model", "task", "difficulty", "level", "method", "structure", "scope",
          "sparsity", "regime", "seed")  # fmt: skip
RECORD_COLUMNS = ("pair", *LABELS, "barrier", "sparse_run", "dense_run")


def pair_labels(spec: RunSpec) -> dict[str, Any]:
    """``LABELS`` of a pair, from its sparse run."""
    cfg, pruning = spec.config, spec.pruning
    return {
        "experiment": spec.labels.experiment,
        "model": cfg["model"],
        "task": spec.task_name,
        "difficulty": "none" if cfg["difficulty"] is None else cfg["difficulty"]["setting"],
        "level": spec.labels.level,
        "method": "none" if pruning is None else pruning.method,
        "structure": "none" if pruning is None else pruning.structure,
        "scope": None if pruning is None else pruning.scope,
        "sparsity": 0.0 if pruning is None else pruning.sparsity,
        "regime": spec.regime,
        "seed": spec.seed,
    }


def load_study_lmc(output: Path, run_ids=None) -> dict[str, LMCResult]:
    """{pair name: LMCResult} from ``<output>/lmc/*.json`` (empty if lmc never ran). With
    ``run_ids``, only pairs whose two runs are among them (the study file may have changed)."""
    folder = Path(output) / LMC_DIR
    out: dict[str, LMCResult] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        res, rec = load_result(path)
        if run_ids is not None and not {rec.get("sparse_run"), rec.get("dense_run")} <= run_ids:
            continue
        out[str(rec.get("pair") or rec.get("title") or path.stem)] = res
    return out


def load_study_lmc_records(
    output: Path, run_ids=None, *, specs: Mapping[str, RunSpec] | None = None
) -> pd.DataFrame:
    """One row per pair of ``<output>/lmc/*.json`` (``RECORD_COLUMNS``; empty if lmc never ran),
    the barrier recomputed from the curve (``load_result``). ``run_ids``: as ``load_study_lmc``.

    ``specs`` ({run id: RunSpec}, e.g. ``plan.by_id()``): the labels come from the study's
    current sparse run, so that they match the results table (a level renamed in the study file
    is renamed here too) and records written before they carried labels still get them; without
    ``specs``, or for a run the study no longer has, from the record (missing: None / NaN)."""
    folder = Path(output) / LMC_DIR
    rows = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        res, rec = load_result(path)
        if run_ids is not None and not {rec.get("sparse_run"), rec.get("dense_run")} <= run_ids:
            continue
        spec = (specs or {}).get(rec.get("sparse_run"))
        labels = pair_labels(spec) if spec is not None else {k: rec.get(k) for k in LABELS}
        rows.append({
            "pair": str(rec.get("pair") or rec.get("title") or path.stem), **labels,
            "barrier": res.barrier, "sparse_run": rec.get("sparse_run"),
            "dense_run": rec.get("dense_run"),
        })  # fmt: skip
    df = pd.DataFrame(rows, columns=list(RECORD_COLUMNS))
    df["sparsity"] = pd.to_numeric(df["sparsity"], errors="coerce").astype(float)
    df["seed"] = pd.to_numeric(df["seed"], errors="coerce").astype("Int64")
    df["barrier"] = df["barrier"].astype(float)
    return df
