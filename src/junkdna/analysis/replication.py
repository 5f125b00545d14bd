"""The replication table: one row per claim of the paper (a study's ``[[claim]]`` tables), each
with the paper's sentence, our design, the effect on the paper's measure with its interval, p,
Holm's adjustment across the claims, a verdict and a small figure drawn the way the paper draws
that figure.

A claim is answered by one test the study file names before any data (``select``):

* ``difficulty``: the two-level test of a difficulty setting (``analysis.hypothesis``): easier
  minus harder normalized score, the unit the setting's design has (seed or item);
* ``regimes``: a section-5 comparison over seeds, ``frozen - sparse-to-dense`` from
  ``analysis.regimes``, or ``dense - sparse-to-dense`` (how far Sparse-to-Dense stays below Dense
  Transfer, 1 minus its normalized score per seed: ``units.paired_units``);
* ``lmc``: the loss barrier, harder minus easier, over seeds (``analysis.lmc_tests``);
* ``none``: a claim the study cannot test; the row gives the reason the file declares.

Verdicts (``judge``), with the claim's declared effect ``delta`` (> 0, the paper's direction) and
the Holm-adjusted p across the claims that carry a test:

* **replicated**: adjusted p < alpha, the estimate points the paper's way and the interval does
  not lie wholly below delta;
* **not replicated**: the interval lies wholly below delta (the effect, if any, is smaller than
  the paper's; this includes a significant effect the other way);
* **cannot answer**: everything else (the interval holds both 0 and delta, or there is no test),
  with the units a design would need to find delta with power 0.8 at Holm's first step
  (``power.units_needed``, at the spread this study measured).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import t as student

from junkdna.analysis.power import units_needed
from junkdna.analysis.primary import holm
from junkdna.analysis.units import paired_units
from junkdna.paths import atomic_path, atomic_write_text

VERDICTS = ("replicated", "not replicated", "cannot answer")
COLUMNS = ["id", "claim", "where", "design", "test", "unit", "n", "n_declared", "estimate",
           "ci_low", "ci_high", "delta", "p_value", "p_holm", "verdict", "why", "units_needed",
           "figure"]  # fmt: skip


def judge(estimate: float, ci_low: float, ci_high: float, p_holm: float, delta: float,
          alpha: float = 0.05) -> tuple[str, str]:  # fmt: skip
    """(verdict, reason) by the module's rules; the estimate is signed so that the paper's
    prediction is positive."""
    if not (math.isfinite(estimate) and math.isfinite(p_holm)):
        return "cannot answer", "no test: the study has no estimate for this claim"
    interval = f"[{ci_low:+.3f}, {ci_high:+.3f}]" if math.isfinite(ci_high) else "none"
    if math.isfinite(ci_high) and ci_high < delta:
        if p_holm < alpha and estimate < 0:
            return "not replicated", f"significant the other way (interval {interval})"
        if p_holm < alpha:
            return "not replicated", (
                f"the effect is real but smaller than the paper's: interval {interval} lies below "
                f"delta = {delta:g}"
            )
        return (
            "not replicated",
            f"interval {interval} excludes the paper's effect delta = {delta:g}",
        )
    if p_holm < alpha and estimate > 0:
        return "replicated", f"Holm-adjusted p = {p_holm:.2g} < {alpha:g}, interval {interval}"
    if not math.isfinite(ci_high):
        return "cannot answer", (
            f"no interval (too few units, or every unit gave the same difference); Holm-adjusted "
            f"p = {p_holm:.2g}"
        )
    return "cannot answer", (
        f"interval {interval} holds both 0 and delta = {delta:g} (Holm-adjusted p = {p_holm:.2g})"
    )


@dataclass
class Found:
    """What a claim's test gave: the signed estimate, interval, p, units and their spread."""

    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_value: float = math.nan
    unit: str = ""
    n: int = 0
    sd: float = math.nan
    design: str = "sign-flip"
    note: str = ""


def _matches(frame: pd.DataFrame, select: Mapping[str, Any], skip=()) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for key, value in select.items():
        if key in skip or key not in frame.columns:
            continue
        mask &= (frame[key].astype(str) == str(value)).to_numpy()
    return frame[mask]


def _sd_from_interval(lo: float, hi: float, n: int) -> float:
    """The unit sd a Student-t interval over n units implies."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or n < 2:
        return math.nan
    return (hi - lo) / (2 * student.ppf(0.975, n - 1)) * math.sqrt(n)


def _difficulty(tests: pd.DataFrame, select: Mapping[str, Any]) -> Found:
    if tests is None or tests.empty:
        return Found(note="no two-level test (no finished runs at both levels)")
    rows = _matches(tests, select)
    if "target" in rows:
        rows = rows[rows["target"].astype(str).str.startswith("paired")]
    if rows.empty:
        return Found(note=f"no test matches {dict(select)}")
    if "primary" in rows and rows["primary"].any():
        rows = rows[rows["primary"].astype(bool)]
    r = rows.iloc[0]
    n = int(r.get("n_units", 0) or 0)
    sd = float(r.get("sd_units", math.nan))
    if not math.isfinite(sd):
        sd = _sd_from_interval(float(r["ci_low"]), float(r["ci_high"]), n)
    unit = str(r.get("unit", ""))
    return Found(float(r["mean_diff"]), float(r["ci_low"]), float(r["ci_high"]),
                 float(r["p_value"]), unit, n, sd,
                 str(r.get("design") or ("sign-flip" if unit == "seed" else "normal")),
                 f"{r.get('easier')} (easier) minus {r.get('harder')} (harder)")  # fmt: skip


def _regimes(normalized: pd.DataFrame, regime_tests: pd.DataFrame,
             select: Mapping[str, Any]) -> Found:  # fmt: skip
    comparison = str(select.get("comparison", ""))
    where = {k: v for k, v in select.items() if k != "comparison"}
    at = f" at {', '.join(str(v) for v in where.values())}" if where else ""
    if comparison == "dense - sparse-to-dense":
        runs = _matches(normalized, where)
        runs = runs[runs["regime"].astype(str) == "sparse-to-dense"]
        if runs.empty:
            return Found(note="no finished sparse-to-dense runs")
        per_seed = runs.groupby("seed")["normalized"].mean()
        res = paired_units((1.0 - per_seed).to_numpy())
        return Found(res.estimate, res.ci_low, res.ci_high, res.p_value, "seed", res.n_units,
                     res.sd, "sign-flip", f"1 - normalized score of Sparse-to-Dense{at}, per seed")  # fmt: skip
    if regime_tests is None or regime_tests.empty:
        return Found(note="no regime comparison (no finished runs under both regimes)")
    rows = _matches(regime_tests, where)
    rows = rows[rows["comparison"].astype(str).str.startswith(comparison)]
    if rows.empty:
        return Found(note=f"no regime comparison matches {dict(select)}")
    r = rows.iloc[0]
    n = int(r["n_units"])
    return Found(float(r["estimate"]), float(r["ci_low"]), float(r["ci_high"]),
                 float(r["p_value"]), "seed", n,
                 _sd_from_interval(float(r["ci_low"]), float(r["ci_high"]), n), "sign-flip",
                 f"{comparison} (normalized score){at}, per seed")  # fmt: skip


def _lmc(records: pd.DataFrame | None, results: pd.DataFrame, select: Mapping[str, Any]) -> Found:
    """Barrier(harder level) - barrier(easier level) per seed, over the claim's pairs (one
    per seed and level; levels may come from different experiments, as levels with their own
    recipes do), the harder level being the one with the larger difficulty measure."""
    if records is None or records.empty:
        return Found(note="no loss barriers yet: run `junkdna lmc STUDY` after `junkdna run`")
    rows = _matches(records, select)
    rows = rows[np.isfinite(rows["barrier"].astype(float)) & rows["seed"].notna()]
    levels = list(dict.fromkeys(rows["level"]))
    if len(levels) != 2:
        return Found(note=f"the barrier test compares two levels; the pairs have {len(levels)}")
    measure = pd.to_numeric(results.get("difficulty_value"), errors="coerce")
    values = [measure[results["level"] == lv].mean() for lv in levels]
    if not all(np.isfinite(values)) or values[0] == values[1]:
        return Found(note="the two levels have no distinct difficulty measure")
    easy, hard = levels if values[0] < values[1] else levels[::-1]
    per = rows.groupby(["level", rows["seed"].astype(int)])["barrier"].mean()
    seeds = sorted(set(per[easy].index) & set(per[hard].index))
    if not seeds:
        return Found(note="no seed has a barrier at both levels")
    d = per[hard].loc[seeds].to_numpy() - per[easy].loc[seeds].to_numpy()
    res = paired_units(d)
    return Found(res.estimate, res.ci_low, res.ci_high, res.p_value, "seed", res.n_units,
                 res.sd, "sign-flip",
                 f"loss barrier: {hard} (harder) minus {easy} (easier), per seed")  # fmt: skip


def _design(claim, results: pd.DataFrame, found: Found) -> str:
    """Model, tasks, levels with their difficulty measure, pruning, regimes, unit and n."""
    if claim.test == "none":
        return "not run"
    runs = results[results["experiment"].isin(claim.experiments)] if "experiment" in results \
        else results  # fmt: skip
    if runs.empty:
        return "no finished runs yet"
    levels = []
    for level, grp in runs.groupby("level", sort=False):
        value = pd.to_numeric(grp.get("difficulty_value"), errors="coerce")
        value = value[np.isfinite(value)] if value is not None else []
        levels.append(f"{level} (measure {value.mean():.3g})" if len(value) else str(level))
    pruned = runs[runs["sparsity"].astype(float) > 0]
    pruning = sorted({f"{r.method} {r.scope or r.structure} {float(r.sparsity):.0%}"
                      for r in pruned.itertuples()})  # fmt: skip
    regimes = [str(r) for r in dict.fromkeys(runs["regime"])]
    parts = [", ".join(dict.fromkeys(map(str, runs["model"]))),
             ", ".join(dict.fromkeys(map(str, runs["task"]))),
             f"levels: {' vs '.join(levels)}", f"pruning: {', '.join(pruning) or 'none'}",
             f"regimes: {', '.join(regimes)}"]  # fmt: skip
    if found.n:
        parts.append(f"unit: {found.unit}, n = {found.n}")
    if found.note:
        parts.append(f"compared: {found.note}")
    return "; ".join(parts)


def claim_table(claims: Sequence, results: pd.DataFrame, analysis, lmc_records=None,
                alpha: float = 0.05) -> pd.DataFrame:  # fmt: skip
    """One row per claim (``COLUMNS``); ``analysis``: ``pipeline.analyze`` of ``results``;
    ``lmc_records``: one row per interpolated pair (``study.lmc.load_study_lmc_records``)."""
    found = []
    for c in claims:
        if c.test == "difficulty":
            f = _difficulty(analysis.tests, c.select)
        elif c.test == "regimes":
            f = _regimes(analysis.normalized, analysis.regime_tests, c.select)
        elif c.test == "lmc":
            f = _lmc(lmc_records, results, c.select)
        else:
            f = Found(note=c.why)
        found.append(f)
    p = [f.p_value if c.test != "none" else math.nan for c, f in zip(claims, found, strict=True)]
    tested = sum(c.test != "none" for c in claims)
    adjusted = holm(p) if p else []
    first_step = alpha / max(tested, 1)
    rows = []
    for c, f, p_holm in zip(claims, found, adjusted, strict=True):
        if c.test == "none":
            verdict, why = "cannot answer", c.why
        else:
            verdict, why = judge(f.estimate, f.ci_low, f.ci_high, p_holm, c.delta, alpha)
            if f.note and not math.isfinite(f.estimate):
                why = f.note
        needed = math.nan
        if verdict == "cannot answer" and c.test != "none" and math.isfinite(f.sd):
            n = units_needed(c.delta, f.sd, first_step, 0.8,
                             f.design if f.design in ("sign-flip", "permutation") else "normal")  # fmt: skip
            needed = float(n) if n is not None else math.nan
            if math.isfinite(needed):
                why += f"; about {int(needed)} {f.unit}s would find delta with power 0.8"
        rows.append({
            "id": c.id, "claim": c.claim, "where": c.where, "design": _design(c, results, f),
            "test": f.note if c.test != "none" else "none", "unit": f.unit or c.unit,
            "n": f.n, "n_declared": c.n, "estimate": f.estimate, "ci_low": f.ci_low,
            "ci_high": f.ci_high, "delta": c.delta, "p_value": f.p_value, "p_holm": p_holm,
            "verdict": verdict, "why": why, "units_needed": needed, "figure": c.figure,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def summary_line(table: pd.DataFrame) -> str:
    counts = {v: int((table["verdict"] == v).sum()) for v in VERDICTS}
    return (f"replication: {len(table)} claims: {counts['replicated']} replicated, "
            f"{counts['not replicated']} not replicated, {counts['cannot answer']} cannot answer")  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Figures: small, one per claim, drawn as the paper draws that figure.


def _new_figure(width: float = 3.4, height: float = 2.5):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _finish(fig, ax, title: str, xlabel: str, ylabel: str) -> bytes:
    ax.set_title(title, fontsize=8)
    ax.set_xlabel(xlabel, fontsize=7)
    ax.set_ylabel(ylabel, fontsize=7)
    ax.tick_params(labelsize=6)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _curves(ax, summary: pd.DataFrame, by: Sequence[str]) -> None:
    """Normalized score against sparsity, dense (1 at sparsity 0) first, with 95% intervals."""
    for key, grp in summary.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        grp = grp.sort_values("sparsity")
        x = [0.0, *grp["sparsity"].astype(float)]
        y = [1.0, *grp["mean"].astype(float)]
        lo = [0.0, *(grp["mean"] - grp["ci_low"]).fillna(0).clip(lower=0)]
        hi = [0.0, *(grp["ci_high"] - grp["mean"]).fillna(0).clip(lower=0)]
        ax.errorbar(x, y, yerr=[lo, hi], marker="o", ms=3, capsize=2, lw=1,
                    label=" / ".join(str(k) for k in key))  # fmt: skip


def claim_figure(claim, analysis, lmc_curves: pd.DataFrame | None = None) -> bytes | None:
    """PNG bytes of the claim's small figure, or None when there is nothing to draw."""
    summary = analysis.summary
    if claim.test == "difficulty" and not summary.empty:
        rows = _matches(summary, claim.select)
        if rows.empty:
            return None
        fig, ax = _new_figure()
        methods = rows["method"].nunique() > 1
        _curves(ax, rows, ["level", "method"] if methods else ["level"])
        return _finish(fig, ax, f"{claim.figure}: {claim.select.get('difficulty')}", "sparsity",
                       "normalized score")  # fmt: skip
    if claim.test == "regimes" and not summary.empty:
        rows = _matches(summary, {k: v for k, v in claim.select.items() if k != "comparison"})
        rows = rows[rows["regime"].astype(str) != "dense"]
        if rows.empty:
            return None
        fig, ax = _new_figure()
        ax.axhline(1.0, color="black", lw=0.8, ls="--", label="dense")
        _curves(ax, rows, ["regime"])
        return _finish(fig, ax, f"{claim.figure}: regimes, {claim.select.get('level', '')}",
                       "sparsity", "normalized score")  # fmt: skip
    if claim.test == "lmc" and lmc_curves is not None and not lmc_curves.empty:
        fig, ax = _new_figure()
        for level, grp in lmc_curves.groupby("level", sort=False):
            mean = grp.groupby("alpha")["loss"].mean()
            ax.plot(mean.index, mean.to_numpy(), marker="o", ms=3, lw=1, label=str(level))
        return _finish(fig, ax, f"{claim.figure}: dense (0) to sparse (1)", "alpha",
                       "validation loss (mean over seeds)")  # fmt: skip
    return None


# ------------------------------------------------------------------------------------------------
# Writing: replication.md, replication.html (figures inline), replication.json.


def _num(x: float, spec: str = "+.3f") -> str:
    return format(x, spec) if isinstance(x, (int, float)) and math.isfinite(x) else "—"


def _effect(r: Mapping) -> str:
    if not math.isfinite(r["estimate"]):
        return "—"
    ci = (f" [{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
          if math.isfinite(r["ci_low"]) else " (no interval)")  # fmt: skip
    return f"{_num(r['estimate'])}{ci}"


def _p(x: float) -> str:
    return format(x, ".2g") if math.isfinite(x) else "—"


def render_markdown(table: pd.DataFrame, title: str, figures: Mapping[str, str]) -> str:
    lines = [f"# {title}", "", summary_line(table).capitalize() + ".", "",
             "Effect: easier minus harder (or the paper's predicted direction), on the paper's "
             "measure; positive = as the paper says. p: two-sided, on the claim's unit; Holm: "
             "adjusted across the claims with a test.", "",
             "| claim | paper | our design | effect [95% CI] | delta | p | Holm p | verdict |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in table.to_dict("records"):
        delta = _num(r["delta"], ".2f") if r["delta"] is not None else "—"
        cells = [f"**{r['id']}**: {r['claim']}", r["where"], r["design"], _effect(r), delta,
                 _p(r["p_value"]), _p(r["p_holm"]), f"**{r['verdict']}**: {r['why']}"]  # fmt: skip
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    for r in table.to_dict("records"):
        if r["id"] in figures:
            lines += [f"![{r['id']}: {r['figure']}]({figures[r['id']]})", ""]
    return "\n".join(lines) + "\n"


CSS = """body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1400px}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:6px;vertical-align:top;
font-size:13px}th{background:#f3f3f3}.replicated{background:#e6f4e6}
.not-replicated{background:#fbe9e7}.cannot-answer{background:#f5f5f5}img{width:300px}"""


def render_html(table: pd.DataFrame, title: str, pngs: Mapping[str, bytes]) -> str:
    esc = html.escape
    head = ["claim", "paper", "our design", "effect [95% CI]", "delta", "p", "Holm p", "verdict",
            "figure"]  # fmt: skip
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
           f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>",
           f"<p id='summary'>{esc(summary_line(table).capitalize())}.</p>",
           "<table id='claims'><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]  # fmt: skip
    for r in table.to_dict("records"):
        png = pngs.get(r["id"])
        img = (f"<img alt='{esc(r['id'])}' src='data:image/png;base64,"
               f"{base64.b64encode(png).decode()}'>") if png else ""  # fmt: skip
        delta = _num(r["delta"], ".2f") if r["delta"] is not None else "—"
        cells = [f"<b>{esc(r['id'])}</b>: {esc(r['claim'])}", esc(r["where"]), esc(r["design"]),
                 esc(_effect(r)), delta, _p(r["p_value"]), _p(r["p_holm"]),
                 f"<b>{esc(r['verdict'])}</b>: {esc(r['why'])}", img]  # fmt: skip
        cls = r["verdict"].replace(" ", "-")
        out.append(f"<tr class='{cls}'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</table></body></html>")
    return "\n".join(out) + "\n"


def _jsonable(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, (np.floating, np.integer)):
        return _jsonable(x.item())
    return x


def write_replication(table: pd.DataFrame, pngs: Mapping[str, bytes], out_dir: str | Path,
                      title: str, provenance: Mapping | None = None) -> dict[str, Path]:  # fmt: skip
    """replication.md / .html / .json and replication-figures/<id>.png under ``out_dir``."""
    out_dir = Path(out_dir)
    figures = {}
    for cid, png in pngs.items():
        path = out_dir / "replication-figures" / f"{cid}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(png)
        figures[cid] = f"replication-figures/{cid}.png"
    paths = {"markdown": out_dir / "replication.md", "html": out_dir / "replication.html",
             "json": out_dir / "replication.json"}  # fmt: skip
    atomic_write_text(paths["markdown"], render_markdown(table, title, figures))
    atomic_write_text(paths["html"], render_html(table, title, pngs))
    doc = {"summary": summary_line(table), "verdicts": list(VERDICTS),
           "estimate_is": "the paper's predicted direction positive (easier minus harder)",
           "provenance": dict(provenance or {}),
           "claims": [{k: _jsonable(v) for k, v in r.items()} for r in table.to_dict("records")]}  # fmt: skip
    atomic_write_text(paths["json"], json.dumps(doc, indent=2, default=str) + "\n")
    return paths
