"""The study report: one self-contained HTML file (figures embedded as base64 PNG, inline CSS, no
script and no external reference of any kind) and a Markdown report in the same order.

    build_report(results, out_dir, provenance, title) -> {name: path}

writes under ``out_dir``: report.html, report.md, verdict.txt (``Analysis.verdict``),
figures/<stem>.png|svg and tables/<name>.csv. Every file is written atomically.

Top to bottom: the runs scoring below their baseline (only if any), the primary tests (one row
per setting), the dense references, the figures (one per model, setting and pruning
configuration, one panel per task, each with a caption in words), the exploratory tests, then
achievable sparsity, Table 1, linear mode connectivity, provenance, run counts, failed runs and
the runs without a reference. Nothing is wider than the page: every table wraps to it (long
tokens break, headers after an underscore, numbers stay whole), checked in a browser by
tests/test_report_browser.py.

This module assembles (analysis -> sections of blocks -> files); the blocks and their HTML and
Markdown rendering are ``analysis.report_blocks``, every test as a row in words is
``analysis.verdict_table``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from junkdna.analysis import plots
from junkdna.analysis.pipeline import Analysis, analyze
from junkdna.analysis.plots import Plot
from junkdna.analysis.report_blocks import (
    Block,
    Heading,
    Image,
    Table,
    Text,
    html_page,
    make_readable,
    markdown_page,
    write_csvs,
    write_text,
)
from junkdna.analysis.tables import (
    POINT,
    below_counts,
    difficulty_table,
    flagged,
    interval_text,
)
from junkdna.analysis.verdict_table import DASH, table_of_tests
from junkdna.analysis.words import pruning_words, regime_words, setting_words
from junkdna.paths import atomic_write_text

if TYPE_CHECKING:  # lmc imports torch; the report does not need it
    from junkdna.transfer.lmc import LMCResult

ACHIEVABLE_VIEW = ["model", "task", "setting", "level", "pruning", "regime",
                   "achievable sparsity [95% CI]", "normalized AUC [95% CI]", "seeds",
                   "sparsities"]  # fmt: skip
MAX_WIDE_CONFIGS = 6  # Table 1 shows at most this many achievable columns side by side
DIFFICULTY_COLS = {
    "difficulty": "setting", "dense_score": "dense score", "dense_seeds": "seeds",
    "human_score": "human score", "human_metric_score": "dense score on the human score's metric",
    "normalized_gap_pct": "normalized gap (%)",
}  # fmt: skip
FAILED_COLS = ["run_id", "model", "task", "difficulty", "level", "method", "structure",
               "sparsity", "regime", "seed", "error"]  # fmt: skip
REFERENCE_COLS = {
    "model": "model", "task": "task", "difficulty": "setting", "level": "level",
    "metric": "metric", "dense_score": "dense score", "dense_seeds": "seeds",
    "baseline": "baseline", "human_score": "human score",
    "human_metric_score": "dense score on the human score's metric",
    "difficulty_value": "difficulty value (given)",
}  # fmt: skip
PRIMARY_NOTE = (
    "One primary test per difficulty setting, chosen before the data (declared in the study "
    "file, or else the test covering the most curves) and decided on its Holm-adjusted p across "
    "the {m} primary test(s). Effect, one sign everywhere (this table, the verdicts, the JSON): "
    "for a two-level test the mean difference easier minus harder (positive: the harder level "
    "keeps less, as the hypothesis predicts) with its 95% interval; for a rank test Spearman's "
    "rho between the difficulty measure and achievable sparsity (negative as predicted). "
    "Smallest reachable p: the smallest Holm-adjusted p the test could get at its design's "
    "smallest p, the other primaries' p as observed (between that smallest p and {m} times it); "
    "at or above 0.05 the test cannot answer. {dash}: not defined (an interval is left out when "
    "every unit gave the same value). Statistics: docs/statistics.md."
)
EXPLORATORY_NOTE = (
    "Exploratory: every other test (other pruning configurations, the area under the curve, the "
    "transfer regimes of the paper's section 5). Not adjusted for multiplicity and not part of "
    "the verdict; columns as in the primary tests."
)


def _cols(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df[[c for c in cols if c in df.columns]]


# ---------------------------------------------------------------- test tables


def _split(tests: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(primary rows, the others) of ``Analysis.tests``."""
    if tests.empty or "primary" not in tests:
        return tests.iloc[:0], tests
    primary = tests["primary"].astype(bool)
    return tests[primary].sort_values("difficulty", kind="stable"), tests[~primary]


def _without_empty(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in df.columns if (df[c] != DASH).any()]] if len(df) else df


# ---------------------------------------------------------------- sections


def _primary_blocks(a: Analysis) -> list[Block]:
    primary, _ = _split(a.tests)
    blocks: list[Block] = [Heading("Primary tests")]
    if primary.empty:
        return [*blocks, Text(a.verdict())]
    note = PRIMARY_NOTE.format(m=len(primary), dash=DASH)
    full = [
        Text(f"{setting_words(r['difficulty'])}: {r['verdict']}")
        for r in primary.to_dict("records")
    ]
    return [*blocks, Table(table_of_tests(primary, short=True), "tests"), Text(note),
            Heading("The primary verdicts in full", 3), *full]  # fmt: skip


def _references(a: Analysis) -> pd.DataFrame:
    """The dense reference of every (model, task, setting, level), columns in words; columns
    without any value are left out. A reference with runs below their baseline is marked."""
    refs = below_counts(a.references, a.results)
    refs = refs.sort_values(["model", "difficulty", "task", "level"], kind="stable")
    refs = refs.assign(difficulty=refs["difficulty"].map(setting_words))
    if (refs["below_dense"] + refs["below_others"]).any():
        refs = refs.assign(below=[_below(r) for r in refs.to_dict("records")])
    cols = {**REFERENCE_COLS, "below": "below baseline (check first)"}
    refs = _cols(refs, list(cols)).rename(columns=cols)
    return refs.dropna(axis=1, how="all")


def _below(r: Mapping) -> str:
    parts = []
    if r["below_dense"]:
        parts.append(f"dense: {r['below_dense']} of {r['dense_seeds']} seed(s)")
    if r["below_others"]:
        parts.append(f"{r['below_others']} run(s) normalized by it")
    return "; ".join(parts)


BELOW_COLS = ["run_id", "model", "task", "level", "method", "sparsity", "regime", "seed",
              "metric", "score", "baseline", "warning"]  # fmt: skip


def _below_blocks(a: Analysis) -> list[Block]:
    """Runs whose score lies below their chance or majority baseline by more than 3 standard
    errors (``tasks.plausibility``): first in the report, since they usually mean a pipeline
    error that every figure below inherits."""
    done = a.results[a.results["status"] == "done"]
    below = done[flagged(done)]
    if below.empty:
        return []
    note = (
        f"{len(below)} done run(s) score below their chance or majority baseline by more than 3 "
        "binomial standard errors (and an exact binomial tail under 0.00135). A model that "
        "learned nothing scores at its baseline, not below it: this almost always means a "
        "pipeline error (labels read as the wrong thing, predictions compared with something "
        "they cannot equal). Their dense references are marked in the table of dense references."
    )
    return [Heading("Scores below their baseline"), Text(note), Table(_cols(below, BELOW_COLS))]


def _reference_blocks(a: Analysis) -> list[Block]:
    note = (
        "Dense score: mean over seeds of the unpruned model after the reference regime (what "
        "every normalized score divides by); baseline: chance or majority class."
    )
    return [Heading("Dense references"), Table(_references(a)), Text(note)]


FIGURE_KINDS = (
    ("normalized", "Normalized score vs sparsity"),
    ("nm", "N:M semi-structured pruning"),
    ("regimes", "Transfer regimes"),
    ("raw", "Raw scores"),
)


def _figure_blocks(figures: Mapping[str, Plot]) -> list[Block]:
    blocks: list[Block] = [Heading("Figures")]
    for kind, heading in FIGURE_KINDS:
        mine = [(s, p) for s, p in figures.items() if s.split("-", 1)[0] == kind]
        if mine:
            blocks += [Heading(heading, 3), *(Image(s, p) for s, p in mine)]
    if len(blocks) == 1:
        blocks.append(Text("No figures: no completed sparse run has a dense reference."))
    return blocks


def _exploratory_blocks(a: Analysis) -> list[Block]:
    _, others = _split(a.tests)
    frames = [f for f in (others, a.auc_tests, a.regime_tests) if not f.empty]
    df = table_of_tests(pd.concat(frames, ignore_index=True) if frames else a.auc_tests)
    return [Heading("Exploratory tests"), Text(EXPLORATORY_NOTE), Table(df, "tests")]


def run_counts(a: Analysis) -> pd.DataFrame:
    """Runs by status, plus the done runs that could not be normalized."""
    counts = a.results["status"].value_counts()
    rows = [("total", len(a.results))] + [(s, int(counts.get(s, 0))) for s in ("done", "failed")]
    rows.append(("done but without a dense reference", len(a.unmatched)))
    return pd.DataFrame(rows, columns=["runs", "count"])


def _provenance_table(provenance: Mapping) -> pd.DataFrame:
    def show(v) -> str:
        return json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict | list) else str(v)

    return pd.DataFrame(
        [(str(k), show(v)) for k, v in provenance.items()], columns=["key", "value"]
    )


def _lmc_blocks(lmc, lmc_tests: pd.DataFrame | None, figures: Mapping[str, Plot]) -> list[Block]:
    has_tests = lmc_tests is not None and not lmc_tests.empty
    if not (lmc or has_tests):
        return []
    blocks: list[Block] = [Heading("Linear mode connectivity")]
    blocks += [Image(s, p) for s, p in figures.items() if s.startswith("lmc-")]
    if lmc:
        barriers = pd.DataFrame(
            [(k, r.barrier) for k, r in lmc.items()], columns=["pair", "loss barrier"]
        )
        blocks.append(Table(barriers))
    if has_tests:
        blocks += [Heading("Linear mode connectivity tests", 3)]
        blocks.append(Table(_without_empty(table_of_tests(lmc_tests)), "tests"))
    return blocks


def _achievable_view(ach: pd.DataFrame) -> pd.DataFrame:
    """The achievable sparsity of every curve in words, each estimate with its interval in one
    cell, so that the table fits the page (tables/achievable.csv keeps every column)."""
    rows = [
        {
            "model": r["model"],
            "task": r["task"],
            "setting": setting_words(r["difficulty"]),
            "level": r["level"],
            "pruning": pruning_words(r["method"], r["structure"], r.get("scope")),
            "regime": regime_words(r["regime"]),
            "achievable sparsity [95% CI]": interval_text(
                r["achievable"],
                r["achievable_low"],
                r["achievable_high"],
                bool(r["never_drops"]),
                "g",
            ),
            "normalized AUC [95% CI]": interval_text(r["auc"], r["auc_low"], r["auc_high"]),
            "seeds": int(r["n_seeds"]),
            "sparsities": str(r["sparsities"]).replace(",", ", "),
        }  # fmt: skip
        for r in ach.to_dict("records")
    ]
    return pd.DataFrame(rows, columns=ACHIEVABLE_VIEW)


def _difficulty_view(table1: pd.DataFrame) -> pd.DataFrame:
    """Table 1 with its columns in words, without the columns the dense references already show
    (metric, seeds, baseline) and without columns that have no value."""
    view = table1.assign(difficulty=table1["difficulty"].map(setting_words))
    view = view.drop(columns=[c for c in ("metric", "dense_seeds", "baseline") if c in view])
    configs = [c for c in view.columns if str(c).startswith("achievable (")]
    if len(configs) > MAX_WIDE_CONFIGS:  # too many to fit side by side: one row per config
        view = view.melt(id_vars=[c for c in view.columns if c not in configs],
                         value_vars=configs, var_name="pruning", value_name="achievable")  # fmt: skip
        view["pruning"] = view["pruning"].str.removeprefix("achievable (").str.removesuffix(")")
        view = view[view["achievable"].notna()].sort_values(POINT, kind="stable")
    return view.rename(columns=DIFFICULTY_COLS).dropna(axis=1, how="all")


def _rest_blocks(a: Analysis, table1: pd.DataFrame) -> list[Block]:
    achievable = f"Achievable sparsity (normalized >= 1 - {a.epsilon:g}; + = never dropped)"
    note = (
        "The paper's Table 1: the human score, the dense score and the normalized gap (human - "
        "dense) / human in %, beside the achievable sparsity of each unstructured pruning "
        "configuration. Metric, seeds and baseline are in the dense references above; every "
        "column is in tables/difficulty.csv."
    )
    return [Heading(achievable), Table(_achievable_view(a.achievable)),
            Heading("Difficulty table (Table 1)"), Table(_difficulty_view(table1)), Text(note)]  # fmt: skip


def _tail_blocks(a: Analysis, provenance: Mapping) -> list[Block]:
    pairs = [
        ("Provenance", _provenance_table(provenance)),
        ("Run counts", run_counts(a)),
        ("Failed runs", _cols(a.failed, FAILED_COLS)),
        ("Runs without a dense reference", _cols(a.unmatched, [*FAILED_COLS[:-1], "reason"])),
    ]
    return [block for heading, df in pairs for block in (Heading(heading), Table(df))]


# ---------------------------------------------------------------- figures


def _order(a: Analysis) -> dict[tuple, float]:
    """{(model, setting, task, level): difficulty measure}: which level is the harder one."""
    keys = ["model", "difficulty", "task", "level", "difficulty_value"]
    if a.points.empty or not set(keys) <= set(a.points.columns):
        return {}
    points = a.points[keys].drop_duplicates(keys[:-1])
    return {tuple(r[:-1]): float(r[-1]) for r in points.itertuples(index=False, name=None)}


def _figures(a: Analysis, lmc: Mapping[str, LMCResult] | None) -> dict[str, Plot]:
    order = _order(a)
    figs = plots.all_figures(
        plots.normalized_figures(a.summary, a.epsilon, order),
        plots.nm_figures(a.summary, a.epsilon, order),
        plots.regime_figures(a.summary, order),
        plots.raw_figures(a.score_summary, a.references, order),
    )
    for name, res in (lmc or {}).items():
        figs[plots.slug("lmc", name)] = plots.lmc_plot(res.to_frame(), res.barrier, name)
    return figs


def build_report(
    results: pd.DataFrame,
    out_dir: str | Path,
    provenance: Mapping,
    title: str = "junkdna report",
    *,
    epsilon: float = 0.01,
    lmc: Mapping[str, LMCResult] | None = None,
    lmc_tests: pd.DataFrame | None = None,
    human_scores: Mapping | None = None,
    n_boot: int = 2000,
    n_perm: int = 9999,
    seed: int = 0,
    quantity: str = "normalized",
    primary=(),
    json_path: str | Path | None = None,
    items: Mapping | None = None,
    sections=(),
) -> dict[str, Path]:
    """Analyze ``results`` (the tidy runs table) and write the report under ``out_dir``.

    ``provenance``: shown as given (study file, versions, commit, ...). ``lmc``: optional
    {pair name: LMCResult} for Figure 10; ``lmc_tests``: optional tests on them (columns
    comparison, estimate, ci_low, ci_high, unit, n_units, p_value, verdict, ...), shown in the LMC
    section and written to tables/lmc_tests.csv. ``quantity``: what a two-level test compares,
    "normalized" (score / dense, the paper's) or "above-baseline". ``json_path``: also write
    every test and curve point there (``analysis.summary_json``). ``items``: {run id:
    ItemOutcomes}, the unit of an evaluation-only setting's test (``analysis.items``).
    ``sections``: callables ``section(analysis) -> Section`` adding blocks after the exploratory
    tests (e.g. the atlas, ``junkdna.atlas.report.study_section``). Returns {"html", "markdown",
    "verdict", "figures/<stem>.png" / ".svg", "tables/<name>.csv": path}."""
    out_dir = Path(out_dir)
    a = analyze(results, epsilon=epsilon, n_boot=n_boot, n_perm=n_perm, seed=seed,
                quantity=quantity, primary=primary, items=items)  # fmt: skip
    paths: dict[str, Path] = {}
    figures = _figures(a, lmc)
    extra = [section(a) for section in sections]
    for part in extra:
        figures |= part.figures
    pngs: dict[str, bytes] = {}
    for stem, plot in figures.items():
        for fmt, path in plots.save_figure(plot.figure, out_dir / "figures", stem).items():
            paths[f"figures/{stem}.{fmt}"] = path
        pngs[stem] = (out_dir / "figures" / f"{stem}.png").read_bytes()

    table1 = difficulty_table(a.results, a.achievable, human_scores)
    tests = pd.concat([a.tests, a.auc_tests])
    csvs = {"normalized": a.normalized, "summary": a.summary, "achievable": a.achievable,
            "hypothesis": tests, "difficulty": table1, "regimes": a.regime_tests}  # fmt: skip
    if lmc_tests is not None and not lmc_tests.empty:
        csvs["lmc_tests"] = lmc_tests
    for part in extra:
        csvs |= part.csvs
    paths |= write_csvs(out_dir, csvs)

    blocks = [
        *_below_blocks(a),
        *_primary_blocks(a),
        *_reference_blocks(a),
        *_figure_blocks(figures),
        *_exploratory_blocks(a),
        *(block for part in extra for block in part.blocks),
        *_rest_blocks(a, table1),
        *_lmc_blocks(lmc, lmc_tests, figures),
        *_tail_blocks(a, provenance),
    ]
    for key, name, text in (
        ("html", "report.html", html_page(title, blocks, pngs)),
        ("markdown", "report.md", markdown_page(title, blocks)),
    ):
        write_text(out_dir / name, text)
        paths[key] = out_dir / name
    atomic_write_text(out_dir / "verdict.txt", a.verdict() + "\n")
    paths["verdict"] = out_dir / "verdict.txt"
    if json_path is not None:
        from junkdna.analysis.summary_json import analysis_json

        body = analysis_json(tests, a.summary, a.regime_tests, lmc_tests)
        for part in extra:
            body |= part.json
        atomic_write_text(Path(json_path), json.dumps(body, indent=2, allow_nan=False))
        paths["json"] = Path(json_path)
    make_readable(paths)
    return paths
