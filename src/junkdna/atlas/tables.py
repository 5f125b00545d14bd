"""The atlas's figures, all ratios of the sums ``compute`` records per weight (so they aggregate
exactly over layers and module types):

* ``share_in_junk`` (the issue's "junk that matters"): of the task's important weights, the share
  that lies among the globally smallest-magnitude weights, |K ∩ J| / |K|;
* ``expected``: the share of the cell that is junk, |J| / n: what ``share_in_junk`` would be if
  the task's importance ignored magnitude (so ``enrichment`` = share / expected, 1 = independent);
* ``importance_in_junk``: the share of the task's importance mass that sits on junk weights;
* ``jaccard_magnitude``: overlap of K with the magnitude mask M (the complement of J);
* ``jaccard`` (pairs): overlap of two tasks' important sets, |K_a ∩ K_b| / |K_a ∪ K_b|.

Groupings: ``overall`` (per task), ``by_layer``, ``by_type`` (module type), ``by_cell`` (both).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from junkdna.atlas.compute import AtlasCounts

GROUPINGS = {
    "overall": [],
    "by_layer": ["layer"],
    "by_type": ["module_type"],
    "by_cell": ["layer", "module_type"],
}
SUMS = ["n", "junk", "kept", "kept_junk", "mass", "mass_junk"]


def _ratio(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def summarize(cells: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per task (and ``keys``): the sums and every ratio of the module docstring."""
    g = cells.groupby(["task", *keys], sort=False)[SUMS].sum().reset_index()
    g["share_in_junk"] = _ratio(g["kept_junk"], g["kept"])
    g["expected"] = _ratio(g["junk"], g["n"])
    g["enrichment"] = _ratio(g["share_in_junk"], g["expected"])
    g["importance_in_junk"] = _ratio(g["mass_junk"], g["mass"])
    kept_mag = g["kept"] - g["kept_junk"]  # |K ∩ M|
    g["jaccard_magnitude"] = _ratio(kept_mag, g["kept"] + (g["n"] - g["junk"]) - kept_mag)
    return g


def pair_summary(cells: pd.DataFrame, pairs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Jaccard of every pair of tasks' important sets, per ``keys``."""
    if pairs.empty:
        return pd.DataFrame(columns=["task_a", "task_b", *keys, "both", "jaccard"])
    layout = cells.drop_duplicates("weight").set_index("weight")
    p = pairs.join(layout[keys], on="weight") if keys else pairs.copy()
    both = p.groupby(["task_a", "task_b", *keys], sort=False)["both"].sum().reset_index()
    kept = cells.groupby(["task", *keys], sort=False)["kept"].sum().reset_index()
    for side in ("a", "b"):
        renamed = kept.rename(columns={"task": f"task_{side}", "kept": f"kept_{side}"})
        both = both.merge(renamed, on=[f"task_{side}", *keys], how="left")
    both["jaccard"] = _ratio(both["both"], both["kept_a"] + both["kept_b"] - both["both"])
    return both


class Atlas:
    """An atlas: the counts, their summaries, and the tests and predictions made from them."""

    def __init__(self, counts: AtlasCounts):
        self.counts = counts
        self.cells = pd.DataFrame(counts.cells)
        self.pair_cells = pd.DataFrame(counts.pairs, columns=["task_a", "task_b", "weight", "both"])
        self.tasks = pd.DataFrame(counts.tasks)
        self.summaries = {k: summarize(self.cells, keys) for k, keys in GROUPINGS.items()}
        self.pairs = {
            k: pair_summary(self.cells, self.pair_cells, keys) for k, keys in GROUPINGS.items()
        }

    @property
    def labels(self) -> list[str]:
        return list(self.tasks["task"])

    def overall(self) -> pd.DataFrame:
        """One row per task: the overall figures and its given difficulty."""
        o = self.summaries["overall"]
        return o.merge(self.tasks[["task", "difficulty"]], on="task", how="left")

    def jaccard_matrix(self) -> pd.DataFrame:
        """Tasks x (tasks + "magnitude"): overall Jaccard overlaps (1 on the diagonal)."""
        labels = self.labels
        m = pd.DataFrame(np.eye(len(labels)), index=labels, columns=labels)
        for _, r in self.pairs["overall"].iterrows():
            m.loc[r["task_a"], r["task_b"]] = m.loc[r["task_b"], r["task_a"]] = r["jaccard"]
        m["magnitude"] = (
            self.summaries["overall"].set_index("task").loc[labels, "jaccard_magnitude"]
        )
        return m

    def to_json(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        def records(df: pd.DataFrame) -> list[dict]:
            return json.loads(df.to_json(orient="records"))

        c = self.counts
        out: dict[str, Any] = {
            "model": c.model,
            "method": c.method,
            "sparsity": c.sparsity,
            "definitions": {
                "junk": "the sparsity share of prunable weights with the globally smallest |W|",
                "important": "the 1 - sparsity share a task's criterion keeps (global scope)",
                "share_in_junk": "|important ∩ junk| / |important|",
                "expected": "|junk| / n (share_in_junk if importance ignored magnitude)",
                "enrichment": "share_in_junk / expected",
                "importance_in_junk": "sum of the task's scores over junk / sum over all",
                "jaccard_magnitude": "|important ∩ kept by magnitude| / |union|",
                "jaccard": "|important_a ∩ important_b| / |union|",
            },
            "tasks": records(self.tasks),
            **{k: records(v) for k, v in self.summaries.items()},
            "pairs": {k: records(v) for k, v in self.pairs.items()},
        }
        return out | (extra or {})

    def save(self, folder: Path) -> dict[str, Path]:
        """``cells.csv`` (the per-weight sums: everything else derives from them), ``pairs.csv``,
        and one CSV per summary. The caller stages the folder (nothing half-written)."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"cells": folder / "cells.csv", "pairs": folder / "pairs.csv"}
        self.cells.to_csv(paths["cells"], index=False)
        self.pair_cells.to_csv(paths["pairs"], index=False)
        for k, df in self.summaries.items():
            paths[k] = folder / f"{k}.csv"
            df.to_csv(paths[k], index=False)
        paths["tasks"] = folder / "tasks.json"
        paths["tasks"].write_text(json.dumps(self.counts.tasks, indent=2, default=str))
        meta = {k: v for k, v in asdict(self.counts).items() if k not in ("cells", "pairs")}
        (folder / "atlas_meta.json").write_text(json.dumps(meta, indent=2, default=str))
        return paths

    @classmethod
    def load(cls, folder: Path) -> Atlas:
        meta = json.loads((folder / "atlas_meta.json").read_text())
        cells = pd.read_csv(folder / "cells.csv").to_dict("records")
        pairs = pd.read_csv(folder / "pairs.csv").to_dict("records")
        counts = AtlasCounts(meta["model"], meta["method"], meta["sparsity"], cells, pairs,
                             meta["tasks"])  # fmt: skip
        return cls(counts)
