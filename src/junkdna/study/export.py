"""The tidy results table (one row per finished run) in the analysis contract
(``junkdna.analysis.normalize.REQUIRED`` plus difficulty_value, baseline, warning, human_score,
recipe, metrics, error), the study's status counts, and cost estimates from measured run times."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import pandas as pd

from junkdna.difficulty import measure_run
from junkdna.study.failures import ENVIRONMENT
from junkdna.study.plan import Plan
from junkdna.study.spec import RunSpec
from junkdna.study.store import Store
from junkdna.transfer.regimes import REGIMES


def results_table(plan: Plan, store: Store) -> pd.DataFrame:
    """One row per recorded run of the plan. Runs that failed for their environment (a missing
    source, the hub offline, a full disk) are not results: they are left out, like pending runs
    (the next `junkdna run` runs them again)."""
    rows = {r["run_id"]: r for r in store.rows() if r.get("failure_kind") != ENVIRONMENT}
    out = [_row(run, rows[run.run_id]) for run in plan.runs if run.run_id in rows]
    return pd.DataFrame(out, columns=COLUMNS)


COLUMNS = [
    "run_id", "experiment", "model", "task", "difficulty", "level", "method", "budget",
    "structure", "scope", "sparsity", "regime", "seed", "metric", "score", "status", "difficulty_value",
    "baseline", "warning", "human_score", "human_metric_score", "recipe", "metrics", "mask_key", "error", "git_commit",
    "finished",
]  # fmt: skip


def _row(run: RunSpec, rec: dict[str, Any]) -> dict[str, Any]:
    cfg, meta = run.config, run.labels.to_dict()
    pruning = cfg["pruning"]
    metrics = rec.get("metrics") or {}
    task_info = (rec.get("invariants") or {}).get("task_info", {})
    setting = None if cfg["difficulty"] is None else cfg["difficulty"]["setting"]
    primary = next(iter(metrics), None)
    recipe = {k: v for k, v in cfg["recipe"].items() if k != "seed"}
    return {
        "run_id": run.run_id,
        "experiment": meta["experiment"],
        "model": cfg["model"],
        "task": cfg["task"]["name"],
        "difficulty": "none" if setting is None else setting,
        "level": meta["level"],
        "method": "none" if run.pruning is None else run.pruning.method,
        # the layer budget ("uniform", "owl", ...): tells "wanda" from "wanda+owl"
        "budget": "uniform" if run.pruning is None else run.pruning.budget_label,
        "structure": "none" if pruning is None else pruning["structure"],
        "scope": None if pruning is None else pruning["scope"],
        "sparsity": 0.0 if pruning is None else pruning["sparsity"],
        "regime": cfg["regime"],
        "seed": cfg["seed"],
        "metric": primary or task_info.get("metric", "unknown"),
        "score": metrics.get(primary) if primary else float("nan"),
        "status": rec["status"],
        "difficulty_value": _difficulty_value(meta, task_info),
        # Chance for a choice task (1/k), else the majority class of the scored rows.
        "baseline": task_info.get("chance")
        or (task_info.get("majority_baseline") or {}).get("validation"),
        # A score below its baseline by > 3 standard errors (tasks.plausibility), else None.
        "warning": warning_text(rec),
        "human_score": meta.get("human_score") or (task_info.get("human") or {}).get("value"),
        # The run's score on the human score's own metric (QQP: accuracy, not its primary F1).
        "human_metric_score": metrics.get((task_info.get("human") or {}).get("key") or primary),
        "recipe": json.dumps(recipe, sort_keys=True),
        "metrics": json.dumps(metrics, sort_keys=True),
        "mask_key": run.mask_key,
        "error": rec.get("error"),
        "git_commit": rec.get("git_commit"),
        "finished": rec.get("finished"),
    }


def warnings_of(rec: dict[str, Any]) -> list[dict]:
    """The warnings a run recorded (a study row's invariants); empty for older rows."""
    return list((rec.get("invariants") or {}).get("warnings") or [])


def warning_text(rec: dict[str, Any]) -> str | None:
    found = warnings_of(rec)
    return "; ".join(w["message"] for w in found) if found else None


def _difficulty_value(meta: dict[str, Any], task_info: dict[str, Any]) -> float | None:
    """A value given in the study file, else the setting's own measure of the run's level (None
    where it needs the dense score, which the analysis adds from the dense reference)."""
    if meta.get("difficulty_value") is not None:
        return float(meta["difficulty_value"])
    return measure_run(task_info)


def status_counts(plan: Plan, store: Store) -> dict[str, Any]:
    """Runs by status; "failed (environment)" (only when there are some): failed for what the
    machine lacked, not counted as failed, run again by the next `junkdna run`."""
    statuses = store.statuses()
    env = store.environment_failures()
    ids = [r.run_id for r in plan.runs]
    counts = Counter(
        "env" if i in env and statuses.get(i) == "failed" else statuses.get(i, "pending")
        for i in ids
    )
    extra = len(set(statuses) - set(ids))
    out = {s: counts.get(s, 0) for s in ("done", "running", "failed", "pending")}
    if counts.get("env"):
        out["failed (environment)"] = counts["env"]
    return out | {"not_in_plan": extra}


def _cost_keys(run: RunSpec) -> list[tuple]:
    pruned = run.pruning is not None
    finetunes = REGIMES.get(run.regime).finetunes
    return [
        (run.model, run.task_name, run.labels.level, run.regime, pruned),
        (run.model, run.task_name, run.regime),
        (run.model, finetunes),
        (run.model,),
    ]


def estimate_cost(plan: Plan, store: Store | None) -> dict[str, Any] | None:
    """Seconds for the runs not yet done, from the measured total times of finished runs with the
    most similar settings (same model/task/level/regime, then coarser). None without data."""
    if store is None:
        return None
    recs = {r["run_id"]: r for r in store.rows() if r["status"] == "done"}
    if not recs:
        return None
    by_id = plan.by_id()
    times: dict[tuple, list[float]] = defaultdict(list)
    for run_id, rec in recs.items():
        run = by_id.get(run_id)
        seconds = (rec.get("timings") or {}).get("total_s")
        if run is None or seconds is None:
            continue
        for key in _cost_keys(run):
            times[key].append(seconds)
    pending = [r for r in plan.runs if r.run_id not in recs]
    total, unknown = 0.0, 0
    for run in pending:
        match = next((times[k] for k in _cost_keys(run) if times.get(k)), None)
        if match is None:
            unknown += 1
        else:
            total += sum(match) / len(match)
    return {"pending": len(pending), "seconds": total, "unestimated": unknown}
