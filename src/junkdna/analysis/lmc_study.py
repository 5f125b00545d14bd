"""Linear mode connectivity over a study: every sparse-regime run paired with the dense run of the
same model, task, difficulty level, seed and recipe, both finished with saved weights.

Each pair's result goes to ``<output>/lmc/<sparse run id>.json`` (+ csv, png, svg); the report
(``junkdna report STUDY``) reads them back with ``load_study_lmc`` for Figure 10 and the barrier
table. A pair whose JSON exists with the same two runs and alphas is not recomputed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from junkdna.analysis.lmc import LMCResult
from junkdna.analysis.lmc_run import (
    WEIGHTS,
    cap_validation,
    load_result,
    run_pair,
    same_alphas,
    write_result,
)
from junkdna.errors import JunkDNAError

log = logging.getLogger(__name__)
LMC_DIR = "lmc"


@dataclass(frozen=True)
class Pair:
    sparse: Any  # PlannedRun
    dense: Any  # PlannedRun

    @property
    def name(self) -> str:
        c, p = self.sparse.config, self.sparse.config["pruning"] or {}
        prune = " ".join(str(p.get(k)) for k in ("criterion", "structure") if p.get(k))
        sparsity = f" {p['sparsity']:g}" if p.get("sparsity") is not None else ""
        return (
            f"{c['model']} {c['task']['name']} [{self.sparse.meta['level']}] "
            f"{c['regime']} {prune}{sparsity} seed {c['seed']}"
        )


def _match_key(run) -> str:
    c = run.config  # everything that makes the two fine-tunings comparable but the regime/mask
    keys = ("model", "task", "difficulty", "seed", "recipe")
    return json.dumps({k: c[k] for k in keys}, sort_keys=True)


def require_saved_weights(plan) -> None:
    if not any(r.meta.get("save_weights") for r in plan.runs):
        raise JunkDNAError(
            f"study {plan.study.name!r} saves no fine-tuned weights; set save_weights = true in "
            "its [[experiment]] (for the sparse and dense runs), run it, then run lmc"
        )


def study_pairs(plan, store, regimes=("sparse",)) -> list[Pair]:
    """Finished pairs with saved weights. A study that keeps no weights is an error that says
    how to fix it; so is one with no finished pair."""
    require_saved_weights(plan)
    done = {r["run_id"] for r in store.rows() if r["status"] == "done"}
    dense: dict[str, Any] = {}
    for run in plan.runs:
        if run.config["regime"] == "dense" and run.run_id in done:
            dense[_match_key(run)] = run
    out = []
    for run in plan.runs:
        if run.config["regime"] in regimes and run.run_id in done:
            ref = dense.get(_match_key(run))
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
    from junkdna.study.runner import _resolve, load_study_task

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
        cfg = pair.sparse.config
        task = load_study_task(cfg, study.root, pair.sparse.meta.get("human_score"))
        task = cap_validation(task, max_examples)
        recipe = _recipe(cfg["recipe"], {"device": device, **(overrides or {})})
        model, tokenizer = load_model_for(
            str(_resolve(study.root, cfg["model"])), task, cfg["seed"]
        )
        res = run_pair(model, tokenizer, task, recipe, files[0], files[1], alphas)
        info = {
            "pair": pair.name,
            "sparse_run": pair.sparse.run_id,
            "dense_run": pair.dense.run_id,
            "sparse_weights": str(files[0]),
            "dense_weights": str(files[1]),
            "model": cfg["model"],
            "task": task.name,
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


def _recipe(cfg: dict[str, Any], overrides: dict[str, Any]):
    from junkdna.transfer import Recipe

    return Recipe(**{**cfg, **{k: v for k, v in overrides.items() if v is not None}})


def load_model_for(ref: str, task, seed: int):
    """The model with ``task``'s head (its random init is overwritten by the endpoints)."""
    import torch
    import transformers

    from junkdna.models import load_model, load_tokenizer

    transformers.logging.set_verbosity_error()  # silence the "newly initialized head" report
    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(seed)
    return load_model(ref, head=task.head, num_labels=task.num_labels), load_tokenizer(ref)


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
