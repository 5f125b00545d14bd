"""The atlas as report blocks (a section of a study's report, or the page ``junkdna atlas``
writes) and as JSON: the tasks' figures, the rank test (unit: the task), the leave-one-task-out
prediction of achievable sparsity, and the heat maps."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from junkdna.atlas.plots import atlas_figures
from junkdna.atlas.stats import PRIMARY_SIGNAL, predict_loto, rank_test
from junkdna.atlas.tables import Atlas

TASK_COLS = {
    "task": "task",
    "difficulty": "difficulty",
    "achievable": "achievable sparsity",
    "share_in_junk": "important among junk",
    "expected": "junk share",
    "enrichment": "enrichment",
    "importance_in_junk": "importance mass on junk",
    "jaccard_magnitude": "Jaccard with magnitude",
}


def analyze_atlas(atlas: Atlas, frame: pd.DataFrame | None = None) -> dict[str, Any]:
    """Tests and predictions. ``frame``: ``study.join_sweep``'s table (with difficulty and
    achievable); without it the atlas's own overall table (difficulties as given)."""
    frame = atlas.overall() if frame is None else frame
    tests = [
        rank_test(frame, PRIMARY_SIGNAL, primary=True),
        rank_test(frame, "importance_in_junk", primary=False),
    ]
    prediction, excluded = None, []
    if "achievable" in frame.columns:
        # A dense model at or below its baseline learned nothing: its normalized curve (and so
        # its achievable sparsity) is noise around 1, not a tolerance to predict.
        usable = frame
        if "dense_at_baseline" in frame.columns:
            at_base = frame["dense_at_baseline"].fillna(False).astype(bool)
            excluded = list(frame.loc[at_base, "task"])
            usable = frame[~at_base]
        if usable["achievable"].notna().sum() >= 3:
            prediction = predict_loto(usable)
    return {"frame": frame, "tests": tests, "prediction": prediction, "excluded": excluded}


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return "—" if not math.isfinite(v) else f"{v:.3g}"
    return v


def task_table(frame: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in TASK_COLS if c in frame.columns]
    return frame[cols].rename(columns=TASK_COLS).map(_fmt)


def tests_table(tests: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for t in tests:
        ci = (f"[{t['ci_low']:+.2f}, {t['ci_high']:+.2f}]" if math.isfinite(t["ci_low"])
              else "—")  # fmt: skip
        rows.append({
            "signal": t["signal"].replace("_", " "),
            "role": "primary" if t["primary"] else "exploratory",
            "rho [95% CI]": f"{t['rho']:+.2f} {ci}" if math.isfinite(t["rho"]) else "—",
            "n tasks": t["n"],
            "p": _fmt(t["p_value"]),
            "smallest reachable p": _fmt(t["min_p"]),
            "verdict": t["verdict"],
        })  # fmt: skip
    return pd.DataFrame(rows)


def prediction_table(prediction: pd.DataFrame) -> pd.DataFrame:
    p = prediction.drop(columns=["predictions"])
    p = p.rename(columns={"mae": "LOTO mean abs. error", "mae_mean": "error of the mean",
                          "skill": "skill (1 - error / error of the mean)"})  # fmt: skip
    p["signal"] = p["signal"].str.replace("_", " ")
    return p.map(_fmt)


def atlas_blocks(atlas: Atlas, result: dict[str, Any], figures: dict, chosen: dict | None = None):
    from junkdna.analysis.report_blocks import Heading, Image, Table, Text

    c = atlas.counts
    blocks = [
        Heading("Where the junk lives (atlas)"),
        Text(
            f"{c.model}, {c.method} importance of each task's own labelled examples through its "
            f"head; junk = the {c.sparsity:.0%} smallest magnitudes over all prunable weights; "
            f"a task's important weights = the {1 - c.sparsity:.0%} its criterion keeps. "
            "'Important among junk' is the share of them that are junk (equal to the junk share "
            "if importance ignored magnitude; enrichment = their ratio)."
            + (f" Achievable sparsity from the sweep's {_words(chosen)}." if chosen else "")
        ),
        Table(task_table(result["frame"])),
        Heading("Do harder tasks need more small weights?", 3),
        Table(tests_table(result["tests"]), "tests"),
    ]
    excluded = result.get("excluded") or []
    if excluded:
        blocks.append(
            Text(
                f"Left out of the prediction: {', '.join(excluded)} (the dense model scores at or "
                "below its baseline, so its achievable sparsity measures nothing)."
                + (
                    ""
                    if result["prediction"] is not None
                    else " Fewer than 3 tasks remain: no prediction."
                )
            )
        )
    if result["prediction"] is not None:
        blocks += [
            Heading("Predicting achievable sparsity from the atlas (leave one task out)", 3),
            Text(
                "Each task's achievable sparsity is predicted by a straight line through the "
                "other tasks' (signal, achievable sparsity); the error of the mean predicts the "
                "other tasks' mean. Skill above 0 beats the mean. Descriptive only: the held-out "
                "errors share training tasks, so no p-value is given."
            ),
            Table(prediction_table(result["prediction"])),
        ]
    blocks += [Image(s, p) for s, p in figures.items()]
    return blocks


def _words(chosen: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in chosen.items() if v is not None)


def atlas_json(atlas: Atlas, result: dict[str, Any], chosen: dict | None = None) -> dict:
    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        if isinstance(x, np.generic):
            return clean(x.item())
        return x

    extra = {
        "per_task": json.loads(result["frame"].to_json(orient="records")),
        "tests": result["tests"],
        "prediction": (None if result["prediction"] is None
                       else json.loads(result["prediction"].to_json(orient="records"))),
        "sweep": chosen,
        "excluded_from_prediction": result.get("excluded") or [],
    }  # fmt: skip
    return clean(atlas.to_json(extra))


def write_atlas_page(atlas: Atlas, out_dir: Path, title: str,
                     frame: pd.DataFrame | None = None) -> dict[str, Any]:  # fmt: skip
    """``report.html`` and ``report.md`` with the atlas section, and its figures, in
    ``out_dir`` (a staged folder); returns the analysis."""
    from junkdna.analysis.plots import save_figure
    from junkdna.analysis.report_blocks import html_page, markdown_page, write_text

    result = analyze_atlas(atlas, frame)
    figures = atlas_figures(atlas, result["frame"])
    pngs = {}
    for stem, plot in figures.items():
        save_figure(plot.figure, out_dir / "figures", stem)
        pngs[stem] = (out_dir / "figures" / f"{stem}.png").read_bytes()
    blocks = atlas_blocks(atlas, result, figures)
    write_text(out_dir / "report.html", html_page(title, blocks, pngs))
    write_text(out_dir / "report.md", markdown_page(title, blocks))
    return result


def study_section(atlas: Atlas, config: dict[str, Any]):
    """The atlas as a section of a study's report: a callable ``build_report`` gives the
    analysis (whose achievable sparsities and difficulty measures it joins)."""
    from junkdna.analysis.report_blocks import Section
    from junkdna.atlas.study import join_sweep

    def section(analysis) -> Section:
        points = analysis.points
        if not points.empty and config.get("model") is not None and "model" in points:
            points = points[points["model"] == config["model"]]
        frame, chosen = join_sweep(atlas, points)
        result = analyze_atlas(atlas, frame)
        figures = atlas_figures(atlas, result["frame"])
        return Section(
            blocks=atlas_blocks(atlas, result, figures, chosen),
            figures=figures,
            csvs={"atlas_tasks": result["frame"]},
            json={"atlas": atlas_json(atlas, result, chosen)},
        )

    return section
