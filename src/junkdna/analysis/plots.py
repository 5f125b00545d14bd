"""The paper's figure kinds, built on ``matplotlib.figure.Figure`` with an explicit Agg canvas: no
pyplot, no global backend switch (a user's notebook backend is left alone), no display needed.
Every builder returns {stem: Plot} (the figure and a caption in words); ``save_figure`` writes
PNG and SVG atomically.

Inputs are the tables of ``normalize.summarize`` (mean/ci_low/ci_high per curve point). One
figure per model, difficulty setting and pruning configuration, one panel per task, one curve per
level (``order`` ranks the levels by their difficulty measure, so that the easier level comes
first and the legend says which is which).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from junkdna.analysis.words import (
    is_nm,
    method_words,
    nm_keep,
    pruning_words,
    regime_words,
    setting_words,
)
from junkdna.paths import atomic_path

PANEL = (4.0, 3.2)  # inches per subplot
SMALL_PANEL = (2.4, 3.2)  # a panel that holds one point
MAX_COLUMNS = 3  # panels per row: a 1200 px page shows 3 at full size
BAND = "shaded: 95% t-interval over seeds (none with one seed)"
STYLES = ("-", "--", ":", "-.")

# An order of levels: {(model, difficulty, task, level): difficulty measure}, larger = harder.
Order = Mapping[tuple, float]


class Plot(NamedTuple):
    figure: Figure
    caption: str  # one or two sentences in words: what is drawn, what the marks mean
    title: str = ""  # a short name (the image's alt text)


def slug(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", "_".join(map(str, parts))).strip("-").lower()


def _grid(n: int) -> tuple[int, int]:
    """(rows, columns) for ``n`` panels: at most ``MAX_COLUMNS`` a row, rows filled evenly."""
    rows = math.ceil(max(n, 1) / MAX_COLUMNS)
    return rows, math.ceil(max(n, 1) / rows)


def _figure(
    n_panels: int, title: str, sharey: bool = True, panel: tuple[float, float] = PANEL
) -> tuple[Figure, list]:
    """A grid of ``n_panels`` (at most ``MAX_COLUMNS`` a row) under a wrapped title."""
    # Fixed margins instead of a layout engine: constrained layout doubles the drawing time.
    rows, cols = _grid(n_panels)
    width = panel[0] * cols
    # Wrap the title to the figure's width (about 12 characters per inch at 10 pt).
    lines = textwrap.wrap(title, width=max(20, int(width * 12))) or [""]
    top = 0.35 + 0.18 * len(lines)
    height = panel[1] * rows + top
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(rows, cols, squeeze=False, sharey=sharey).flat)
    for ax in axes[n_panels:]:
        fig.delaxes(ax)
    fig.subplots_adjust(
        left=0.75 / width,
        right=1 - 0.15 / width,
        bottom=0.5 / height,
        top=1 - top / height,
        wspace=0.3,
        hspace=0.45,
    )
    fig.suptitle("\n".join(lines), fontsize=10)
    return fig, axes[:n_panels]


def figure_grid(
    n_panels: int, title: str, sharey: bool = True, panel: tuple[float, float] = PANEL
) -> tuple[Figure, list]:
    """A grid of ``n_panels`` under a wrapped title (the report's figure layout)."""
    return _figure(n_panels, title, sharey, panel)


def _curve(ax, pts: pd.DataFrame, label: str, origin: float | None, **style) -> None:
    """Mean line with a CI band; ``origin`` prepends the sparsity-0 point (1.0 when normalized)."""
    pts = pts.sort_values("sparsity")
    x, y = pts["sparsity"].to_numpy(), pts["mean"].to_numpy()
    lo, hi = pts["ci_low"].to_numpy(), pts["ci_high"].to_numpy()
    if origin is not None and (len(x) == 0 or x[0] > 0):
        x, y, lo, hi = np.r_[0.0, x], np.r_[origin, y], np.r_[origin, lo], np.r_[origin, hi]
    (line,) = ax.plot(x, y, marker="o", ms=3, lw=1.2, label=label, **style)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)


def _style(ax, title: str, ylabel: str, xlabel: str = "sparsity") -> None:
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def _unstructured(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[~summary["structure"].map(is_nm).astype(bool)]


def _keys(frame: pd.DataFrame, keys: Iterable[str]) -> list[str]:
    return [k for k in keys if k in frame.columns]


def _levels(grp: pd.DataFrame, model, setting, task, order: Order | None) -> list:
    """[(level, points, tag)] of one panel, easier first; tag "easier"/"harder" with two
    levels of different measure, else ""."""
    levels = list(grp.loc[grp["task"] == task, "level"].unique())
    measure = {lv: (order or {}).get((model, setting, task, lv), math.nan) for lv in levels}
    known = all(np.isfinite(v) for v in measure.values())
    if known:
        levels.sort(key=lambda lv: (measure[lv], str(lv)))
    else:
        levels.sort(key=str)
    two = known and len(levels) == 2 and measure[levels[0]] != measure[levels[1]]
    tags = ("easier", "harder") if two else ("",) * len(levels)
    pts = grp[grp["task"] == task]
    return [(lv, pts[pts["level"] == lv], tag) for lv, tag in zip(levels, tags, strict=True)]


def _panel(grp: pd.DataFrame, model, setting, task, order: Order | None) -> str:
    """A panel's title: the task, with its difficulty measure where the panel holds one level
    (settings across tasks: the tasks' order is the point)."""
    levels = grp.loc[grp["task"] == task, "level"].unique()
    value = (order or {}).get((model, setting, task, levels[0]), math.nan) if len(levels) else None
    return f"{task} (difficulty {value:.3g})" if len(levels) == 1 and np.isfinite(value) else task


def _label(level, tag: str) -> str:
    return f"level {level} ({tag})" if tag else f"level {level}"


def _title(model, setting, what: str) -> str:
    return f"{model}, {setting_words(setting)}: {what}"


def normalized_figures(
    summary: pd.DataFrame, epsilon: float = 0.01, order: Order | None = None
) -> dict[str, Plot]:
    """Figures 1-4: normalized performance vs sparsity, one panel per task, one curve (with its
    CI band) per difficulty level; the dotted line is the 1 - epsilon threshold."""
    plots = {}
    keys = _keys(summary, ["model", "difficulty", "method", "structure", "scope", "regime"])
    for key, grp in _unstructured(summary).groupby(keys, sort=True, dropna=False):
        k = dict(zip(keys, key, strict=True))
        what = f"{pruning_words(k['method'], k['structure'], k.get('scope'))}, " + regime_words(
            k.get("regime")
        )
        tasks = sorted(grp["task"].unique())
        title = _title(k["model"], k["difficulty"], what)
        fig, axes = _figure(len(tasks), title)
        for ax, task in zip(axes, tasks, strict=True):
            for level, pts, tag in _levels(grp, k["model"], k["difficulty"], task, order):
                _curve(ax, pts, _label(level, tag), origin=1.0)
            ax.axhline(1 - epsilon, color="grey", ls=":", lw=1)
            _style(ax, _panel(grp, k["model"], k["difficulty"], task, order), "normalized score")
        caption = (
            f"Normalized score (score / dense score of the same seed) vs sparsity, {what}; "
            f"{k['model']}, {setting_words(k['difficulty'])}. One panel per task, one curve per "
            f"level; {BAND}; dotted: 1 - epsilon = {1 - epsilon:g}."
        )
        plots[slug("normalized", *key)] = Plot(fig, caption, title)
    return plots


def regime_figures(summary: pd.DataFrame, order: Order | None = None) -> dict[str, Plot]:
    """Figures 5-6: the transfer regimes in one panel per task (colour: regime, line style:
    level). Only drawn where a configuration was run under more than one regime."""
    plots = {}
    keys = _keys(summary, ["model", "difficulty", "method", "structure", "scope"])
    for key, grp in _unstructured(summary).groupby(keys, sort=True, dropna=False):
        regimes = sorted(grp["regime"].unique())
        if len(regimes) < 2:
            continue
        k = dict(zip(keys, key, strict=True))
        what = pruning_words(k["method"], k["structure"], k.get("scope"))
        tasks = sorted(grp["task"].unique())
        title = _title(k["model"], k["difficulty"], f"{what}, transfer regimes")
        fig, axes = _figure(len(tasks), title)
        for ax, task in zip(axes, tasks, strict=True):
            for i, regime in enumerate(regimes):
                sub = grp[grp["regime"] == regime]
                for j, (level, pts, tag) in enumerate(
                    _levels(sub, k["model"], k["difficulty"], task, order)
                ):
                    style = {"color": f"C{i}", "ls": STYLES[j % len(STYLES)]}
                    label = f"{regime}, {_label(level, tag)}"
                    _curve(ax, pts, label, origin=1.0, **style)
            _style(ax, _panel(grp, k["model"], k["difficulty"], task, order), "normalized score")
        caption = (
            f"Normalized score vs sparsity under each transfer regime, {what}; {k['model']}, "
            f"{setting_words(k['difficulty'])}. One panel per task; colour: regime (legend: its "
            f"name); line style: level (solid: the easier or first level); {BAND}."
        )
        plots[slug("regimes", *key)] = Plot(fig, caption, title)
    return plots


def _nm_points(ax, pts: pd.DataFrame, label: str) -> None:
    """Points at x = N with CI error bars; joined by a line only where there are two or more."""
    pts = pts.assign(n=[nm_keep(s)[0] for s in pts["structure"]]).sort_values("n")
    x, y = pts["n"].to_numpy(), pts["mean"].to_numpy()
    lo, hi = pts["ci_low"].to_numpy(), pts["ci_high"].to_numpy()
    err = np.nan_to_num(np.vstack([y - lo, hi - y]))
    ax.errorbar(x, y, yerr=err, marker="o", ms=4, capsize=3, label=label,
                ls="-" if len(x) > 1 else "none")  # fmt: skip


def nm_figures(
    summary: pd.DataFrame, epsilon: float = 0.01, order: Order | None = None
) -> dict[str, Plot]:
    """N:M structures on their own axis: x = N weights kept of every M (one figure per M), one
    panel per task, one series per level with CI error bars. A lone N:M pattern is a point with
    its error bar in a small panel, never a line."""
    nm = summary[summary["structure"].map(is_nm).astype(bool)]
    if nm.empty:
        return {}
    nm = nm.assign(m=[nm_keep(s)[1] for s in nm["structure"]])
    plots = {}
    keys = _keys(nm, ["model", "difficulty", "method", "scope", "regime", "m"])
    for key, grp in nm.groupby(keys, sort=True, dropna=False):
        k = dict(zip(keys, key, strict=True))
        patterns = sorted(set(grp["structure"]), key=nm_keep)
        lone = len(patterns) == 1
        method = method_words(k["method"])
        what = f"{method}, N:M with M = {k['m']}, {regime_words(k.get('regime'))}"
        tasks = sorted(grp["task"].unique())
        title = _title(k["model"], k["difficulty"], what)
        fig, axes = _figure(len(tasks), title, panel=SMALL_PANEL if lone else PANEL)
        for ax, task in zip(axes, tasks, strict=True):
            for level, pts, tag in _levels(grp, k["model"], k["difficulty"], task, order):
                _nm_points(ax, pts, _label(level, tag))
            ax.axhline(1 - epsilon, color="grey", ls=":", lw=1)
            ns = [nm_keep(p)[0] for p in patterns]
            ax.set_xticks(ns, patterns)
            ax.set_xlim(min(ns) - 0.6, max(ns) + 0.6)
            title = _panel(grp, k["model"], k["difficulty"], task, order)
            _style(ax, title, "normalized score", xlabel=f"N kept of every {k['m']}")
        shape = "one pattern: a point per level" if lone else "patterns ordered by N"
        caption = (
            f"Normalized score of N:M semi-structured pruning with M = {k['m']} ({shape}), {method}, "
            f"{regime_words(k.get('regime'))}; {k['model']}, "
            f"{setting_words(k['difficulty'])}. x: N weights kept of every {k['m']}; one panel "
            f"per task, one series per level; bars: 95% t-interval over seeds; dotted: "
            f"1 - epsilon = {1 - epsilon:g}."
        )
        plots[slug("nm", *key)] = Plot(fig, caption, title)
    return plots


def _reference(references: pd.DataFrame, model, setting, task, level) -> pd.DataFrame:
    return references[
        (references["model"] == model)
        & (references["difficulty"] == setting)
        & (references["task"] == task)
        & (references["level"] == level)
    ]


def raw_figures(
    score_summary: pd.DataFrame, references: pd.DataFrame, order: Order | None = None
) -> dict[str, Plot]:
    """Raw-metric curves: mean score vs sparsity per task and level, with the dense reference
    score (solid horizontal) and the chance/majority baseline (dashed) of each level.

    ``references``: one row per (model, task, difficulty, level) with dense_score and baseline."""
    plots = {}
    keys = _keys(score_summary, ["model", "difficulty", "method", "structure", "scope", "regime"])
    for key, grp in _unstructured(score_summary).groupby(keys, sort=True, dropna=False):
        k = dict(zip(keys, key, strict=True))
        what = f"{pruning_words(k['method'], k['structure'], k.get('scope'))}, " + regime_words(
            k.get("regime")
        )
        tasks = sorted(grp["task"].unique())
        title = _title(k["model"], k["difficulty"], f"raw scores, {what}")
        fig, axes = _figure(len(tasks), title, sharey=False)
        for ax, task in zip(axes, tasks, strict=True):
            own = references[(references["model"] == k["model"]) & (references["task"] == task)]
            metric = ", ".join(sorted(own["metric"].unique()))
            for level, pts, tag in _levels(grp, k["model"], k["difficulty"], task, order):
                ref = _reference(references, k["model"], k["difficulty"], task, level)
                dense = float(ref["dense_score"].iloc[0]) if len(ref) else None
                _curve(ax, pts, _label(level, tag), origin=dense)
                color = ax.get_lines()[-1].get_color()
                if dense is not None:
                    ax.axhline(dense, color=color, lw=0.8, alpha=0.7)
                if len(ref) and np.isfinite(ref["baseline"].iloc[0]):
                    ax.axhline(float(ref["baseline"].iloc[0]), color=color, ls="--", lw=0.8)
            _style(ax, _panel(grp, k["model"], k["difficulty"], task, order), metric or "score")
        caption = (
            f"Raw score (the task's metric) vs sparsity, {what}; {k['model']}, "
            f"{setting_words(k['difficulty'])}. One panel per task, one curve per level; solid "
            f"horizontal: the level's dense score; dashed: its chance or majority baseline; {BAND}."
        )
        plots[slug("raw", *key)] = Plot(fig, caption, title)
    return plots


def lmc_figure(frame: pd.DataFrame, barrier: float, title: str = "") -> Figure:
    """Figure 10: loss and metric along theta(alpha), alpha 0 = dense, 1 = sparse."""
    fig, (ax_loss, ax_metric) = _figure(
        2, title or "linear interpolation dense -> sparse", sharey=False
    )
    a = frame["alpha"].to_numpy()
    loss = frame["loss"].to_numpy()
    ax_loss.plot(a, loss, marker="o", ms=3, label="loss")
    chord = (1 - a) * loss[np.argmin(np.abs(a))] + a * loss[np.argmin(np.abs(a - 1))]
    ax_loss.plot(a, chord, ls=":", color="grey", label="endpoint chord")
    _style(ax_loss, f"loss (barrier {barrier:.4g})", "held-out loss", xlabel="alpha")
    ax_metric.plot(a, frame["metric"].to_numpy(), marker="o", ms=3, color="C1", label="metric")
    _style(ax_metric, "metric", "held-out metric", xlabel="alpha")
    return fig


def lmc_plot(frame: pd.DataFrame, barrier: float, name: str) -> Plot:
    """``lmc_figure`` with its caption."""
    caption = (
        f"Linear mode connectivity of the pair {name}: held-out loss (left; dotted: the chord "
        f"between the endpoints; barrier {barrier:.4g}) and metric (right) along the straight "
        "line from the dense (alpha 0) to the sparse model (alpha 1)."
    )
    return Plot(lmc_figure(frame, barrier, name), caption, f"linear mode connectivity, {name}")


def save_figure(fig: Figure, out_dir: str | Path, stem: str) -> dict[str, Path]:
    """Write ``stem``.png and ``stem``.svg under ``out_dir`` (each atomically)."""
    paths = {}
    for fmt in ("png", "svg"):
        final = Path(out_dir) / f"{stem}.{fmt}"
        with atomic_path(final) as tmp:
            fig.savefig(tmp, format=fmt)
        paths[fmt] = final
    return paths


def all_figures(*builders: Mapping[str, Plot]) -> dict[str, Plot]:
    out: dict[str, Plot] = {}
    for plots in builders:
        out |= plots
    return out
