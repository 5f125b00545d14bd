"""Tables: the dense references, the Table 1-style difficulty table, and Markdown/HTML rendering."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from junkdna.analysis.normalize import is_reference
from junkdna.analysis.words import is_nm
from junkdna.difficulty import HumanModelGap, RunFacts

POINT = ["model", "task", "difficulty", "level"]
MISSING = "\u2014"  # an em dash: what a NaN or missing cell shows


def references_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, task, difficulty, level) of a validated table: the dense reference's
    metric, mean score over seeds, seed count, baseline, human score, the mean score on the human
    score's own metric and the difficulty_value the study gave (NaN when unknown)."""
    refs = results[is_reference(results)]
    return (
        refs.groupby(POINT, sort=True)
        .agg(
            metric=("metric", "first"),
            dense_score=("score", "mean"),
            dense_seeds=("seed", "nunique"),
            baseline=("baseline", "max"),
            human_score=("human_score", "max"),
            human_metric_score=("human_metric_score", "mean"),
            difficulty_value=("difficulty_value", "max"),
        )
        .reset_index()
    )


def below_counts(references: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """``references`` (``references_table``) with, per row, how many of its dense runs
    (``below_dense``) and of the other runs it normalizes (``below_others``) score below their
    baseline (``flagged``)."""
    done = results[results["status"] == "done"]
    below = done[flagged(done)]
    table = references
    for col, rows in (("below_dense", below[is_reference(below)]),
                      ("below_others", below[~is_reference(below)])):  # fmt: skip
        counts = rows.groupby(POINT).size().rename(col).reset_index()
        table = table.merge(counts, on=POINT, how="left")
        table[col] = table[col].fillna(0).astype(int)
    return table


def flagged(results: pd.DataFrame) -> pd.Series:
    """Rows whose score lies below their baseline (the export's ``warning`` column, written by
    ``tasks.plausibility``); all False for a table without it."""
    if "warning" not in results.columns:
        return pd.Series(False, index=results.index)
    w = results["warning"]
    return w.notna() & (w.astype(str).str.strip() != "")


def _human(human_scores: Mapping | None, task: str, level: str, fallback: float) -> float:
    if not human_scores:
        return fallback
    for key in ((task, level), task):
        if key in human_scores:
            return float(human_scores[key])
    return fallback


def _gap(dense: float, human: float) -> float:
    # The human_model_gap setting's own measure, for every row: Table 1 shows it for any level.
    gap = HumanModelGap().measure(RunFacts(dense=dense, human=human))
    return math.nan if gap is None else gap


def interval_text(value, low, high, lower_bound: bool = False, spec: str = ".4g") -> str:
    """ "0.3 [0.2, 0.4]": a value with its interval, or the value alone where the interval is
    missing or a point; a trailing ``+`` marks a lower bound (a curve that never dropped)."""
    if not (isinstance(value, int | float | np.number) and math.isfinite(value)):
        return MISSING
    plus = "+" if lower_bound else ""
    finite = all(isinstance(x, int | float | np.number) and math.isfinite(x) for x in (low, high))
    if finite and low != high:
        return f"{value:{spec}}{plus} [{low:{spec}}, {high:{spec}}]"
    return f"{value:{spec}}{plus}"


def _interval(row) -> str:
    return interval_text(row.achievable, row.achievable_low, row.achievable_high,
                         bool(row.never_drops), "g")  # fmt: skip


def difficulty_table(
    results: pd.DataFrame,
    achievable: pd.DataFrame | None = None,
    human_scores: Mapping | None = None,
) -> pd.DataFrame:
    """Table 1: task, level, human score, dense score, baseline, normalized gap
    (human - dense) / human * 100, and the achievable sparsity of every unstructured configuration
    (``"0.3 [0.2, 0.4]"``; a trailing ``+`` marks a lower bound: the curve never dropped).

    Human scores come from ``human_scores`` ({task or (task, level): score}) or else from the
    table's ``human_score`` column."""
    table = references_table(results).drop(columns="difficulty_value")
    table["human_score"] = [
        _human(human_scores, r.task, r.level, r.human_score) for r in table.itertuples()
    ]
    table["normalized_gap_pct"] = [
        _gap(r.human_metric_score if np.isfinite(r.human_metric_score) else r.dense_score,
             r.human_score)
        for r in table.itertuples()
    ]  # fmt: skip
    if achievable is not None and len(achievable):
        ach = achievable[~achievable["structure"].map(is_nm).astype(bool)].copy()
        ach["config"] = (
            "achievable (" + ach["method"] + " " + ach["structure"] + ", " + ach["regime"] + ")"
        )
        ach["cell"] = [_interval(r) for r in ach.itertuples()]
        wide = ach.pivot_table(
            index=POINT, columns="config", values="cell", aggfunc="first"
        ).reset_index()
        wide.columns.name = None
        table = table.merge(wide, on=POINT, how="left")
    return table


def _fmt(value) -> str:
    if isinstance(value, float | np.floating):
        return MISSING if math.isnan(value) else f"{value:.4g}"
    if value is None or value is pd.NA or value is pd.NaT:
        return MISSING
    return str(value)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (no extra dependency)."""
    if df.empty:
        return "_(none)_\n"

    def cell(v) -> str:
        # Escape what Markdown would interpret: pipes end cells, "<" starts raw HTML.
        text = _fmt(v).replace("|", "\\|").replace("\n", " ")
        return text.replace("&", "&amp;").replace("<", "&lt;")

    lines = ["| " + " | ".join(map(cell, df.columns)) + " |"]
    lines.append("|" + "---|" * len(df.columns))
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _is_number(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


LONG_TOKEN = 24  # characters: a token this long may break anywhere (a path, an error message)


def _td(value) -> str:
    text = _fmt(value)
    if _is_number(value):
        return f'<td class="num">{html.escape(text)}</td>'  # a number stays whole
    if any(len(token) > LONG_TOKEN for token in text.split()):
        return f'<td class="long">{html.escape(text)}</td>'
    return f"<td>{html.escape(text)}</td>"


def to_html(df: pd.DataFrame) -> str:
    """An escaped HTML table that can wrap to the page: numbers get class "num" (kept whole),
    cells with a token over ``LONG_TOKEN`` characters class "long" (broken anywhere), and a
    header may break after an underscore (``auc_high``)."""
    if df.empty:
        return "<p><em>(none)</em></p>"
    head = "".join(f"<th>{html.escape(str(c)).replace('_', '_<wbr>')}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(_td(v) for v in row) + "</tr>" for row in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
