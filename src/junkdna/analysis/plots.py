"""The paper's figure kinds, built on ``matplotlib.figure.Figure`` with an explicit Agg canvas: no
pyplot, no global backend switch (a user's notebook backend is left alone), no display needed.
Every builder returns {stem: Figure}; ``save_figure`` writes PNG and SVG atomically.

Inputs are the tables of ``normalize.summarize`` (mean/ci_low/ci_high per curve point).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from junkdna.paths import atomic_path

NM = re.compile(r"^(\d+):(\d+)$")
PANEL = (4.0, 3.2)  # inches per subplot


def slug(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", "_".join(map(str, parts))).strip("-").lower()


def is_nm(structure: str) -> bool:
    return bool(NM.match(str(structure)))


def _figure(n_panels: int, title: str, sharey: bool = True) -> tuple[Figure, list]:
    # Fixed margins instead of a layout engine: constrained layout doubles the drawing time.
    width, height = PANEL[0] * n_panels, PANEL[1] + 0.5
    # Wrap the title to the figure's width (about 12 characters per inch at 10 pt).
    lines = textwrap.wrap(title, width=max(20, int(width * 12))) or [""]
    height += 0.18 * (len(lines) - 1)
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, n_panels, squeeze=False, sharey=sharey)[0]
    fig.subplots_adjust(
        left=0.75 / width,
        right=1 - 0.15 / width,
        bottom=0.15 * PANEL[1] / height,
        top=1 - (0.35 + 0.18 * len(lines)) / height,
        wspace=0.25,
    )
    fig.suptitle("\n".join(lines), fontsize=10)
    return fig, list(axes)


def _curve(ax, pts: pd.DataFrame, label: str, origin: float | None) -> None:
    """Mean line with a CI band; ``origin`` prepends the sparsity-0 point (1.0 when normalized)."""
    pts = pts.sort_values("sparsity")
    x, y = pts["sparsity"].to_numpy(), pts["mean"].to_numpy()
    lo, hi = pts["ci_low"].to_numpy(), pts["ci_high"].to_numpy()
    if origin is not None and (len(x) == 0 or x[0] > 0):
        x, y, lo, hi = np.r_[0.0, x], np.r_[origin, y], np.r_[origin, lo], np.r_[origin, hi]
    (line,) = ax.plot(x, y, marker="o", ms=3, lw=1.2, label=label)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)


def _style(ax, title: str, ylabel: str, xlabel: str = "sparsity") -> None:
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def _unstructured(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[~summary["structure"].map(is_nm).astype(bool)]


def normalized_figures(summary: pd.DataFrame, epsilon: float = 0.01) -> dict[str, Figure]:
    """Figures 1-4: normalized performance vs sparsity, one panel per task, one curve (with its
    CI band) per difficulty level; the dotted line is the 1 - epsilon threshold."""
    figs = {}
    keys = ["model", "difficulty", "method", "structure", "scope", "regime"]
    for key, grp in _unstructured(summary).groupby(keys, sort=True):
        tasks = sorted(grp["task"].unique())
        fig, axes = _figure(len(tasks), " | ".join(map(str, key)))
        for ax, task in zip(axes, tasks, strict=True):
            for level, pts in grp[grp["task"] == task].groupby("level", sort=True):
                _curve(ax, pts, f"{key[1]}={level}", origin=1.0)
            ax.axhline(1 - epsilon, color="grey", ls=":", lw=1)
            _style(ax, task, "normalized performance")
        figs[slug("normalized", *key)] = fig
    return figs


def regime_figures(summary: pd.DataFrame) -> dict[str, Figure]:
    """Figures 5-6: the transfer regimes side by side (one panel each), one curve per task/level.
    Only drawn where a configuration was run under more than one regime."""
    figs = {}
    keys = ["model", "difficulty", "method", "structure", "scope"]
    for key, grp in _unstructured(summary).groupby(keys, sort=True):
        regimes = sorted(grp["regime"].unique())
        if len(regimes) < 2:
            continue
        fig, axes = _figure(len(regimes), " | ".join(map(str, key)))
        for ax, regime in zip(axes, regimes, strict=True):
            sub = grp[grp["regime"] == regime]
            for (task, level), pts in sub.groupby(["task", "level"], sort=True):
                _curve(ax, pts, f"{task} ({level})", origin=1.0)
            _style(ax, f"{regime} transfer", "normalized performance")
        figs[slug("regimes", *key)] = fig
    return figs


def nm_figures(summary: pd.DataFrame) -> dict[str, Figure]:
    """N:M panels: N:M pattern on the x axis (ordered by sparsity), one line per task/level with
    CI error bars."""
    nm = summary[summary["structure"].map(is_nm).astype(bool)]
    figs = {}
    for key, grp in nm.groupby(["model", "difficulty", "method", "regime"], sort=True):
        order = sorted(grp["structure"].unique(), key=lambda s: (1 - _nm_keep(s), s))
        pos = {s: i for i, s in enumerate(order)}
        fig, (ax,) = _figure(1, " | ".join(map(str, key)))
        for (task, level), pts in grp.groupby(["task", "level"], sort=True):
            pts = pts.sort_values("structure", key=lambda c: c.map(pos))
            x = pts["structure"].map(pos).to_numpy()
            y = pts["mean"].to_numpy()
            err = np.vstack([y - pts["ci_low"].to_numpy(), pts["ci_high"].to_numpy() - y])
            ax.errorbar(x, y, yerr=err, marker="o", ms=3, capsize=3, label=f"{task} ({level})")
        ax.set_xticks(range(len(order)), order)
        _style(ax, "N:M sparsity", "normalized performance", xlabel="N:M (keep N of every M)")
        figs[slug("nm", *key)] = fig
    return figs


def _nm_keep(structure: str) -> float:
    n, m = map(int, NM.match(structure).groups())
    return n / m


def raw_figures(score_summary: pd.DataFrame, references: pd.DataFrame) -> dict[str, Figure]:
    """Raw-metric curves: mean score vs sparsity per task and level, with the dense reference
    score (solid horizontal) and the chance/majority baseline (dashed) of each level.

    ``references``: one row per (model, task, difficulty, level) with dense_score and baseline."""
    figs = {}
    keys = ["model", "difficulty", "method", "structure", "scope", "regime"]
    for key, grp in _unstructured(score_summary).groupby(keys, sort=True):
        tasks = sorted(grp["task"].unique())
        fig, axes = _figure(len(tasks), " | ".join(map(str, key)))
        for ax, task in zip(axes, tasks, strict=True):
            own = references[(references["model"] == key[0]) & (references["task"] == task)]
            metric = ", ".join(sorted(own["metric"].unique()))
            for level, pts in grp[grp["task"] == task].groupby("level", sort=True):
                ref = references[
                    (references["model"] == key[0])
                    & (references["difficulty"] == key[1])
                    & (references["task"] == task)
                    & (references["level"] == level)
                ]
                dense = float(ref["dense_score"].iloc[0]) if len(ref) else None
                _curve(ax, pts, f"{key[1]}={level}", origin=dense)
                color = ax.get_lines()[-1].get_color()
                if dense is not None:
                    ax.axhline(dense, color=color, lw=0.8, alpha=0.7)
                if len(ref) and np.isfinite(ref["baseline"].iloc[0]):
                    ax.axhline(float(ref["baseline"].iloc[0]), color=color, ls="--", lw=0.8)
            _style(ax, f"{task} (solid: dense, dashed: baseline)", metric or "score")
        figs[slug("raw", *key)] = fig
    return figs


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


def save_figure(fig: Figure, out_dir: str | Path, stem: str) -> dict[str, Path]:
    """Write ``stem``.png and ``stem``.svg under ``out_dir`` (each atomically)."""
    paths = {}
    for fmt in ("png", "svg"):
        final = Path(out_dir) / f"{stem}.{fmt}"
        with atomic_path(final) as tmp:
            fig.savefig(tmp, format=fmt)
        paths[fmt] = final
    return paths


def all_figures(*builders: Iterable[dict[str, Figure]]) -> dict[str, Figure]:
    out: dict[str, Figure] = {}
    for figs in builders:
        out |= figs
    return out
