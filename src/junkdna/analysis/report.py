"""The study report: one self-contained HTML file (figures embedded as base64 PNG, inline CSS, no
external reference of any kind) and a Markdown summary, both led by the verdict.

    build_report(results, out_dir, provenance, title) -> {name: path}

writes under ``out_dir``: report.html, report.md, verdict.txt, figures/<stem>.png|svg and
tables/<name>.csv. Every file is written atomically.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from junkdna.analysis import plots
from junkdna.analysis.pipeline import Analysis, analyze
from junkdna.analysis.tables import difficulty_table, to_html, to_markdown
from junkdna.paths import atomic_path, atomic_write_text

if TYPE_CHECKING:  # lmc imports torch; the report does not need it
    from junkdna.transfer.lmc import LMCResult

CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
.verdict{font-size:1.15em;background:#f3f6fa;border-left:4px solid #3a6ea5;padding:.8em 1em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}
th{background:#f0f0f0} figure{margin:1em 0} img{max-width:100%}
figcaption{font-size:.85em;color:#555}
"""
ACHIEVABLE_COLS = [
    "model", "task", "difficulty", "level", "method", "structure", "regime",
    "achievable", "achievable_low", "achievable_high", "never_drops",
    "auc", "auc_low", "auc_high", "n_seeds", "sparsities",
]  # fmt: skip
TEST_COLS = [
    "model", "difficulty", "method", "structure", "regime", "target",
    "n", "rho", "mean_diff", "ci_low", "ci_high", "unit", "n_units", "p_value", "min_p",
    "units_needed", "primary", "p_adjusted", "test", "measure", "min_seeds",
]  # fmt: skip
FAILED_COLS = ["run_id", "model", "task", "difficulty", "level", "method", "structure",
               "sparsity", "regime", "seed", "error"]  # fmt: skip


def _cols(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df[[c for c in cols if c in df.columns]]


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


def _figures(a: Analysis, lmc: Mapping[str, LMCResult] | None) -> dict:
    figs = plots.all_figures(
        plots.normalized_figures(a.summary, a.epsilon),
        plots.regime_figures(a.summary),
        plots.nm_figures(a.summary),
        plots.raw_figures(a.score_summary, a.references),
    )
    for name, res in (lmc or {}).items():
        figs[plots.slug("lmc", name)] = plots.lmc_figure(res.to_frame(), res.barrier, name)
    return figs


def _sections(
    a: Analysis, provenance: Mapping, lmc, human_scores
) -> list[tuple[str, pd.DataFrame]]:
    tables = [
        ("Difficulty table (Table 1)", difficulty_table(a.results, a.achievable, human_scores)),
        (
            f"Achievable sparsity (normalized >= 1 - {a.epsilon:g}; + = never dropped)",
            _cols(a.achievable, ACHIEVABLE_COLS),
        ),
        ("Hypothesis tests", _cols(pd.concat([a.tests, a.auc_tests]), TEST_COLS)),
    ]
    if lmc:
        barriers = pd.DataFrame(
            [(k, r.barrier) for k, r in lmc.items()], columns=["pair", "barrier"]
        )
        tables.append(("Linear mode connectivity: loss barriers", barriers))
    tables += [
        ("Provenance", _provenance_table(provenance)),
        ("Run counts", run_counts(a)),
        ("Failed runs", _cols(a.failed, FAILED_COLS)),
        ("Runs without a dense reference", _cols(a.unmatched, [*FAILED_COLS[:-1], "reason"])),
    ]
    return tables


def _html(title, verdicts, figures: dict[str, bytes], tables) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="verdict">{esc(verdicts[0])}</p>',
    ]
    if len(verdicts) > 1:
        parts.append("<h2>All tests</h2><ul>")
        parts += [f"<li>{esc(v)}</li>" for v in verdicts]
        parts.append("</ul>")
    parts.append("<h2>Figures</h2>")
    for stem, png in figures.items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure id="{esc(stem)}"><img alt="{esc(stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(stem)}</figcaption></figure>"
        )
    for heading, df in tables:
        parts.append(f"<h2>{esc(heading)}</h2>{to_html(df)}")
    parts.append("</body></html>")
    return "\n".join(parts)


def _markdown(title, verdicts, stems: list[str], tables) -> str:
    out = [f"# {title}", "", f"**Verdict:** {verdicts[0]}", ""]
    if len(verdicts) > 1:
        out += ["## All tests", "", *[f"- {v}" for v in verdicts], ""]
    out += ["## Figures", ""] + [f"![{s}](figures/{s}.png)" for s in stems] + [""]
    for heading, df in tables:
        out += [f"## {heading}", "", to_markdown(df)]
    return "\n".join(out)


def _readable(paths: Mapping[str, Path]) -> None:
    # atomic_path's temp files are private (0600); a report is meant to be shared and served.
    umask = os.umask(0)
    os.umask(umask)
    for path in paths.values():
        path.chmod(0o666 & ~umask)


def build_report(
    results: pd.DataFrame,
    out_dir: str | Path,
    provenance: Mapping,
    title: str = "junkdna report",
    *,
    epsilon: float = 0.01,
    lmc: Mapping[str, LMCResult] | None = None,
    human_scores: Mapping | None = None,
    n_boot: int = 2000,
    n_perm: int = 9999,
    seed: int = 0,
    quantity: str = "normalized",
    primary=(),
    json_path: str | Path | None = None,
) -> dict[str, Path]:
    """Analyze ``results`` (the tidy runs table) and write the report under ``out_dir``.

    ``provenance``: shown as given (study file, versions, commit, ...). ``lmc``: optional
    {pair name: LMCResult} for Figure 10. ``quantity``: what a two-level test compares,
    "normalized" (score / dense, the paper's) or "above-baseline". ``json_path``: also write
    every test and curve point there (``analysis.summary_json``). Returns {"html", "markdown", "verdict",
    "figures/<stem>.png" / ".svg", "tables/<name>.csv": path}."""
    out_dir = Path(out_dir)
    a = analyze(
        results,
        epsilon=epsilon,
        n_boot=n_boot,
        n_perm=n_perm,
        seed=seed,
        quantity=quantity,
        primary=primary,
    )
    tests = pd.concat([a.tests, a.auc_tests])
    verdicts = [a.verdict()] + [v for v in tests.get("verdict", []) if v != a.verdict()]
    verdicts += list(a.regime_tests.get("verdict", []))
    paths: dict[str, Path] = {}

    figures: dict[str, bytes] = {}
    for stem, fig in _figures(a, lmc).items():
        for fmt, path in plots.save_figure(fig, out_dir / "figures", stem).items():
            paths[f"figures/{stem}.{fmt}"] = path
        figures[stem] = (out_dir / "figures" / f"{stem}.png").read_bytes()

    tables = _sections(a, provenance, lmc, human_scores)
    csvs = {"normalized": a.normalized, "summary": a.summary, "achievable": a.achievable}
    csvs |= {"hypothesis": tests, "difficulty": tables[0][1], "regimes": a.regime_tests}
    for name, df in csvs.items():
        final = out_dir / "tables" / f"{name}.csv"
        with atomic_path(final) as tmp:
            df.to_csv(tmp, index=False)
        paths[f"tables/{name}.csv"] = final

    for key, name, text in (
        ("html", "report.html", _html(title, verdicts, figures, tables)),
        ("markdown", "report.md", _markdown(title, verdicts, list(figures), tables)),
        ("verdict", "verdict.txt", verdicts[0] + "\n"),
    ):
        atomic_write_text(out_dir / name, text)
        paths[key] = out_dir / name
    if json_path is not None:
        import json

        from junkdna.analysis.summary_json import analysis_json

        body = analysis_json(tests, a.summary, a.regime_tests)
        atomic_write_text(Path(json_path), json.dumps(body, indent=2, allow_nan=False))
        paths["json"] = Path(json_path)
    _readable(paths)
    return paths
