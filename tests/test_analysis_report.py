"""Figures, tables and the self-contained report."""

import os
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from junkdna.analysis import plots
from junkdna.analysis.normalize import validate_results
from junkdna.analysis.report import build_report
from junkdna.analysis.synthetic import synthetic_results
from junkdna.analysis.tables import difficulty_table, to_markdown
from junkdna.transfer.lmc import LMCResult


class Refs(HTMLParser):
    """Collects every attribute that can load something, and the tags that could."""

    def __init__(self):
        super().__init__()
        self.refs, self.tags, self.imgs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in {"src", "href", "srcset", "data", "poster", "action", "xlink:href"}:
                self.refs.append(value or "")
            if tag == "img" and name == "alt":
                self.imgs.append(value)


def _study() -> pd.DataFrame:
    """Two tasks x two levels, two regimes, one N:M structure, two seeds, and two failures."""
    curves = {
        ("easy", "1.0"): lambda s: 1.0 if s < 0.45 else 0.9,
        ("easy", "0.1"): lambda s: 1.0 if s < 0.35 else 0.85,
        ("hard", "1.0"): lambda s: 1.0 if s < 0.25 else 0.8,
        ("hard", "0.1"): lambda s: 1.0 if s < 0.15 else 0.7,
    }
    common = {"difficulty": "data_adequacy", "seeds": (41, 42), "noise": 0.001}
    df = synthetic_results(curves, sparsities=[0.2, 0.4], regimes=("sparse", "frozen"), **common)
    nm = synthetic_results(curves, sparsities=[0.5], structure="2:4", **common)
    df = pd.concat([df, nm[nm["sparsity"] > 0]], ignore_index=True)
    df["human_score"] = 0.9
    failed = df.index[(df["task"] == "hard") & (df["sparsity"] == 0.4) & (df["seed"] == 41)][0]
    df.loc[failed, ["status", "score", "error"]] = ["failed", np.nan, "CUDA out of memory <oom>"]
    dense = df.index[(df["task"] == "easy") & (df["regime"] == "dense") & (df["seed"] == 42)][0]
    df.loc[dense, ["status", "score", "error"]] = ["failed", np.nan, "RuntimeError: nan loss"]
    return df


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    df = _study()
    al = np.linspace(0, 1, 5)
    lmc = {"easy-0.4": LMCResult(list(al), list(al * (1 - al)), list(1 - al / 10), 0.25)}
    prov = {"study": "studies/quickstart.toml", "versions": {"torch": "2.x"}, "commit": "abc123"}
    paths = build_report(df, out, prov, "Quickstart", lmc=lmc, n_boot=200, n_perm=199)
    return df, out, paths


def test_html_is_self_contained_and_holds_every_figure(report):
    _, out, paths = report
    text = paths["html"].read_text()
    parser = Refs()
    parser.feed(text)
    assert parser.refs, "expected embedded images"
    assert all(ref.startswith(("data:image/png;base64,", "#")) for ref in parser.refs)
    assert not {"script", "link", "iframe", "object"} & set(parser.tags)
    assert "http://" not in text and "https://" not in text and "url(" not in text
    pngs = sorted(p.stem for p in (out / "figures").glob("*.png"))
    assert sorted(parser.imgs) == pngs  # every figure, once
    kinds = {stem.split("-")[0] for stem in pngs}
    assert kinds == {"normalized", "regimes", "nm", "raw", "lmc"}
    assert all((out / "figures" / f"{s}.svg").read_text().lstrip().startswith("<") for s in pngs)
    assert not [p for p in out.rglob("*.tmp")]  # atomic writes leave no temp files
    umask = os.umask(0)
    os.umask(umask)
    assert paths["html"].stat().st_mode & 0o777 == 0o666 & ~umask  # not atomic_path's 0600


def test_failed_runs_and_unmatched_runs_are_listed(report):
    df, _, paths = report
    html, md = paths["html"].read_text(), paths["markdown"].read_text()
    for run_id in df.loc[df["status"] == "failed", "run_id"]:
        assert run_id in html and run_id in md
    assert "CUDA out of memory &lt;oom&gt;" in html  # escaped, not markup
    assert "RuntimeError: nan loss" in md
    # the easy/1.0 seed-42 runs lost their dense reference and are listed with the reason
    assert "no dense reference" in md
    counts = md.split("## Run counts")[1]
    assert "| total | 48 |" in counts  # 4 curves x 2 seeds x 6 runs and "| failed | 2 |" in counts


def test_markdown_leads_with_the_verdict(report):
    _, _, paths = report
    md = paths["markdown"].read_text().splitlines()
    verdict = paths["verdict"].read_text().strip()
    assert md[0] == "# Quickstart"
    assert md[2] == f"**Verdict:** {verdict}"
    assert verdict.startswith("Primary test")  # the headline is the primary tests, not a pick
    body = verdict.split(" across settings). ", 1)[-1].removeprefix("Primary test. ")
    heads = ("Supported", "Contradicted", "Not significant", "Not testable", "Cannot answer")
    assert body.startswith(heads), body
    assert (
        md.index("## Figures")
        < md.index("## Difficulty table (Table 1)")
        < md.index("## Provenance")
    )
    assert "studies/quickstart.toml" in "\n".join(md)
    assert paths["tables/achievable.csv"].exists()


def test_report_survives_a_study_where_everything_failed(tmp_path):
    df = _study().assign(status="failed", score=np.nan, error="boom")
    paths = build_report(df, tmp_path, {"study": "x"}, n_boot=50)
    assert paths["verdict"].read_text().startswith("Not testable")
    assert "boom" in paths["markdown"].read_text()


def test_difficulty_table_hand_values():
    df = _study()
    table = difficulty_table(validate_results(df), human_scores={"hard": 1.0})
    easy = table[(table["task"] == "easy") & (table["level"] == "0.1")].iloc[0]
    # synthetic dense score 0.8 (x tiny noise), human 0.9 from the column
    assert easy["normalized_gap_pct"] == pytest.approx((0.9 - 0.8) / 0.9 * 100, rel=0.01)
    hard = table[table["task"] == "hard"].iloc[0]
    assert hard["human_score"] == 1.0  # the mapping wins over the column
    md = to_markdown(pd.DataFrame({"a": ["x|y", "<b>"], "b": [0.123456, np.nan]}))
    assert md.splitlines() == ["| a | b |", "|---|---|", "| x\\|y | 0.1235 |", "| &lt;b> |  |"]


def test_nm_panel_orders_patterns_by_sparsity():
    summary = pd.DataFrame(
        {
            "model": "m",
            "task": "t",
            "difficulty": "d",
            "level": "x",
            "method": "wanda",
            "structure": ["4:8", "1:4", "2:4"],
            "scope": "none",
            "regime": "none",
            "sparsity": [0.5, 0.75, 0.5],
            "mean": [0.9, 0.6, 0.8],
            "ci_low": [0.9, 0.6, 0.8],
            "ci_high": [0.9, 0.6, 0.8],
        }
    )
    (fig,) = plots.nm_figures(summary).values()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2:4", "4:8", "1:4"]
    assert ax.lines[0].get_ydata().tolist() == [0.8, 0.9, 0.6]


def test_report_reads_a_results_table_and_writes_every_test_and_curve_as_json(tmp_path, capsys):
    import json

    from junkdna.analysis.synthetic import synthetic_results
    from junkdna.cli import main

    df = synthetic_results(
        {("t", "1.0"): lambda s: 1 - s / 2, ("t", "0.1"): lambda s: 1 - s},
        difficulty="data_adequacy",
        seeds=(1, 2, 3, 4, 5, 6),
    )
    table = tmp_path / "runs.csv"
    df.to_csv(table, index=False)
    out = tmp_path / "summary.json"
    assert main(["report", str(table), "--json", str(out)]) == 0
    assert (tmp_path / "runs-report" / "report.html").is_file()
    body = json.loads(out.read_text())
    (test,) = body["tests"]
    keys = {"setting", "primary", "unit", "n_units", "method", "estimate", "ci", "p",
            "p_adjusted", "min_p", "verdict"}  # fmt: skip
    assert keys <= set(test) and test["setting"] == "data_adequacy" and test["primary"]
    # 6 seeds, each the mean of 5 sparsities: easy 1 - 0.3 / 2, hard 1 - 0.3 -> d = 0.15
    assert (test["unit"], test["n_units"]) == ("seed", 6)
    assert test["estimate"] == pytest.approx(0.15) and test["p"] == pytest.approx(2 / 64)
    assert test["p_adjusted"] == pytest.approx(2 / 64)  # one setting: Holm changes nothing
    assert len(body["curves"]) == 2 * 5
    curve = body["curves"][0]
    assert set(curve) == {"model", "task", "difficulty", "level", "method", "structure", "scope",
                          "regime", "sparsity", "mean", "ci", "n_units"}  # fmt: skip
    assert curve["n_units"] == 6 and curve["ci"][0] <= curve["mean"] <= curve["ci"][1]

    bad = tmp_path / "bad.csv"
    bad.write_text("run_id,score\n1,0.5\n")
    assert main(["report", str(bad)]) == 2
    assert "lacks column(s)" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.parquet")]) == 2
    assert "does not exist" in capsys.readouterr().err
