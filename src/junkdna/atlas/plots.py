"""The atlas's figures (``analysis.plots``'s conventions: Agg canvas, {stem: Plot}):

* ``junk_heatmaps``: per task, a layer x module-type map of ``enrichment`` (share of the task's
  important weights among the smallest magnitudes over the share expected if importance ignored
  magnitude; 1 = independent, one colour scale for every panel, centred on 1);
* ``overlap_heatmap``: tasks x (tasks + magnitude) Jaccard overlaps of the important sets;
* ``signal_plot``: each task's primary signal against its difficulty and, when a sweep is
  given, against its achievable sparsity.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm

from junkdna.analysis.plots import Plot, figure_grid
from junkdna.atlas.tables import Atlas
from junkdna.models import TYPE_ORDER

CMAP = "RdBu_r"


def _types(cells: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(cells["module_type"]))
    known = [t for t in TYPE_ORDER if t in present]
    return known + [t for t in present if t not in known]


def _room_below(fig, inches: float) -> None:
    """Room under the panels for rotated tick labels."""
    fig.subplots_adjust(bottom=inches / fig.get_figheight())


def junk_heatmaps(atlas: Atlas) -> dict[str, Plot]:
    cells = atlas.summaries["by_cell"]
    types, layers = _types(cells), sorted(cells["layer"].unique())
    labels = atlas.labels
    vals = cells["enrichment"].to_numpy(float)
    spread = float(np.nanmax(np.abs(vals - 1))) if np.isfinite(vals).any() else 1.0
    spread = max(spread, 1e-3)
    norm = TwoSlopeNorm(vcenter=1.0, vmin=1 - spread, vmax=1 + spread)
    title = (
        f"{atlas.counts.model}: where each task's important weights sit among the "
        f"{atlas.counts.sparsity:.0%} smallest magnitudes ({atlas.counts.method})"
    )
    fig, axes = figure_grid(len(labels), title, sharey=True, panel=(0.5 * len(types) + 1.6, 4.0))
    image = None
    for ax, task in zip(axes, labels, strict=True):
        grid = (
            cells[cells["task"] == task]
            .pivot(index="layer", columns="module_type", values="enrichment")
            .reindex(index=layers, columns=types)
        )
        ax.set_facecolor("lightgrey")  # a cell without weights of that type
        image = ax.imshow(grid.to_numpy(float), cmap=CMAP, norm=norm, aspect="auto")
        ax.set_title(task, fontsize=9)
        ax.set_xticks(range(len(types)), [t.replace("_", " ") for t in types], rotation=60,
                      fontsize=7)  # fmt: skip
        ax.set_yticks(range(len(layers)), [str(x) for x in layers], fontsize=7)
        ax.set_ylabel("layer")
    _room_below(fig, 0.9)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label="enrichment (1 = independent of |W|)")
    caption = (
        "Per task, layer (rows, input side at the top) by module type: the share of the task's "
        "important weights that are among the globally smallest magnitudes, divided by the share "
        "of that cell that is small (red: the task needs more small weights there than chance; "
        "blue: fewer; white: magnitude says nothing about the task's importance)."
    )
    return {"atlas_enrichment": Plot(fig, caption, "atlas: junk that matters by layer and type")}


def overlap_heatmap(atlas: Atlas) -> dict[str, Plot]:
    m = atlas.jaccard_matrix()
    fig, (ax,) = figure_grid(1, "Overlap of the tasks' important weights (Jaccard)",
                         panel=(0.7 * m.shape[1] + 2.5, 0.6 * m.shape[0] + 2.6))  # fmt: skip
    image = ax.imshow(m.to_numpy(float), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(m.shape[1]), list(m.columns), rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(m.shape[0]), list(m.index), fontsize=7)
    for (i, j), v in np.ndenumerate(m.to_numpy(float)):
        if math.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if v < 0.6 else "black")  # fmt: skip
    _room_below(fig, 1.1)
    fig.colorbar(image, ax=ax, shrink=0.8)
    caption = (
        "Jaccard overlap |A ∩ B| / |A ∪ B| of the tasks' important-weight sets (each the "
        f"{1 - atlas.counts.sparsity:.0%} its criterion keeps), and of each with the weights "
        "magnitude pruning keeps (last column). Two random sets of this size overlap by "
        f"{(1 - atlas.counts.sparsity) / (1 + atlas.counts.sparsity):.2f}."
    )
    return {"atlas_overlap": Plot(fig, caption, "atlas: overlap between tasks")}


def signal_plot(frame: pd.DataFrame, signal: str, targets: list[str]) -> dict[str, Plot]:
    """``frame``: one row per task with ``signal`` and each of ``targets`` (e.g. difficulty,
    achievable)."""
    targets = [t for t in targets if t in frame.columns and frame[t].notna().any()]
    if not targets or frame.empty:
        return {}
    fig, axes = figure_grid(len(targets), f"Atlas signal {signal.replace('_', ' ')} per task",
                        sharey=False)  # fmt: skip
    for ax, target in zip(axes, targets, strict=True):
        ax.scatter(frame[signal], frame[target], s=18)
        for _, r in frame.iterrows():
            ax.annotate(str(r["task"]), (r[signal], r[target]), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")  # fmt: skip
        ax.set_xlabel(signal.replace("_", " "))
        ax.set_ylabel(target.replace("_", " "))
        ax.grid(alpha=0.3)
    caption = (
        f"One point per task: its {signal.replace('_', ' ')} (horizontal) against "
        + " and ".join(t.replace("_", " ") for t in targets)
        + " (vertical)."
    )
    return {f"atlas_{signal}": Plot(fig, caption, f"atlas signal {signal}")}


def atlas_figures(atlas: Atlas, frame: pd.DataFrame | None = None,
                  signal: str = "share_in_junk") -> dict[str, Plot]:  # fmt: skip
    out = junk_heatmaps(atlas) | overlap_heatmap(atlas)
    if frame is not None:
        out |= signal_plot(frame, signal, ["difficulty", "achievable"])
    return out
