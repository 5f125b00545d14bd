"""The atlas of a study (``[atlas]`` in the study file): its tasks are those of one experiment
(each difficulty level its own entry), loaded exactly as that experiment's dense runs load them
(training budget, level, validation cap), and it is kept in ``<output>/atlas/``. The report
joins it with the experiment's achievable sparsities and difficulty measures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from junkdna.atlas.compute import AtlasTask
from junkdna.atlas.tables import Atlas
from junkdna.errors import JunkDNAError
from junkdna.study.spec import digest

FOLDER = "atlas"


def atlas_config(study) -> dict[str, Any] | None:
    """The study's resolved ``[atlas]`` settings, or None (``study.checks.atlas_settings``)."""
    from junkdna.study.checks import atlas_settings

    return atlas_settings(study)


def atlas_tasks(plan, cfg: dict[str, Any]) -> list[AtlasTask]:
    """One entry per (task, level) of the experiment: the first seed's dense (or unpruned) run
    says how the task is loaded."""
    from junkdna.study.run import load_run_task

    specs = [r for r in plan.runs if r.labels.experiment == cfg["experiment"]
             and r.pruning is None and r.masks_from is None]  # fmt: skip
    specs = [r for r in specs if r.model == cfg["model"]]
    if not specs:
        raise JunkDNAError(
            f"[atlas]: experiment {cfg['experiment']!r} has no unpruned run of model "
            f"{cfg['model']!r} to take its tasks from"
        )
    first: dict[tuple, Any] = {}
    for r in sorted(specs, key=lambda r: r.seed):
        first.setdefault((r.task_name, r.labels.level), r)
    levels = {lvl for _, lvl in first}
    out = []
    for (task, level), spec in first.items():
        label = task if len(levels) == 1 else f"{task} [{level}]"
        out.append(AtlasTask(label, lambda s=spec: load_run_task(s), spec.labels.difficulty_value))
    return out


def atlas_key(cfg: dict[str, Any], tasks: list[AtlasTask]) -> str:
    return digest({**cfg, "tasks": [t.label for t in tasks]})


def atlas_folder(study) -> Path:
    return study.output / FOLDER


def ensure_atlas(plan, progress=print) -> Path | None:
    """Compute the study's atlas unless ``<output>/atlas`` holds it for this config."""
    from junkdna.atlas.compute import compute_atlas
    from junkdna.paths import atomic_write_text, staged_folder

    cfg = atlas_config(plan.study)
    if cfg is None:
        return None
    tasks = atlas_tasks(plan, cfg)
    key = atlas_key(cfg, tasks)
    folder = atlas_folder(plan.study)
    meta = folder / "atlas_meta.json"
    if meta.is_file() and json.loads(meta.read_text()).get("key") == key:
        return folder
    counts = compute_atlas(
        cfg["model"], tasks, cfg["sparsity"], method=cfg["method"], nsamples=cfg["nsamples"],
        batch_size=cfg["batch_size"], seed=cfg["seed"], progress=progress,
    )  # fmt: skip
    atlas = Atlas(counts)
    with staged_folder(folder, "atlas folder") as stage:
        atlas.save(stage)
    # The key goes in last: a kill before this line leaves a folder that is computed again.
    m = json.loads(meta.read_text())
    atomic_write_text(meta, json.dumps({**m, "key": key, "config": cfg}, indent=2, default=str))
    return folder


def load_study_atlas(study) -> tuple[Atlas, dict[str, Any]] | None:
    folder = atlas_folder(study)
    if not (folder / "atlas_meta.json").is_file():
        return None
    meta = json.loads((folder / "atlas_meta.json").read_text())
    return Atlas.load(folder), meta.get("config", {})


def join_sweep(atlas: Atlas, points: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per atlas task: its overall figures, difficulty (the analysis's measure where the atlas
    has none) and achievable sparsity from ``points`` (``Analysis.points``), for the sweep's
    first pruning configuration in sorted order (method, structure, scope, regime; named in the
    returned dict). ``headroom`` is the dense model's error over its headroom above the baseline,
    (1 - dense) / (1 - baseline)."""
    overall = atlas.overall()
    tasks = atlas.tasks.set_index("task")
    chosen: dict[str, Any] = {}
    p = points[points["regime"] != "dense"] if "regime" in points else points
    if not p.empty:
        keys = [k for k in ("method", "structure", "scope", "regime") if k in p.columns]
        first = p.sort_values(keys).iloc[0]
        chosen = {k: first[k] for k in keys}
        for k, v in chosen.items():
            p = p[p[k] == v]
    rows = []
    for _, r in overall.iterrows():
        name = tasks.loc[r["task"], "name"]
        level = None
        if "[" in str(r["task"]):
            level = str(r["task"]).split("[", 1)[1].rstrip("]")
        m = p[p["task"] == name] if not p.empty else p
        if level is not None and not m.empty:
            m = m[m["level"] == level]
        row = dict(r)
        row["achievable"] = float(m["achievable"].iloc[0]) if len(m) else np.nan
        if len(m):
            dense, base = float(m["dense_score"].iloc[0]), float(m["baseline"].iloc[0])
            row["headroom"] = (1 - dense) / (1 - base) if np.isfinite(base) and base < 1 else np.nan
            row["dense_at_baseline"] = bool(np.isfinite(base) and dense <= base)
            if not np.isfinite(float(row.get("difficulty") or np.nan)):
                row["difficulty"] = float(m["difficulty_value"].iloc[0])
        else:
            row["headroom"] = np.nan
            row["dense_at_baseline"] = False
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["difficulty"] = pd.to_numeric(frame["difficulty"], errors="coerce")
    return frame, {k: (v.item() if hasattr(v, "item") else v) for k, v in chosen.items()}
