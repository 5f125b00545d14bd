"""Figures, tables and the self-contained report."""

import html
import os
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from junkdna.analysis import plots
from junkdna.analysis.normalize import validate_results
from junkdna.analysis.pipeline import analyze
from junkdna.analysis.report import build_report
from junkdna.analysis.synthetic import synthetic_results
from junkdna.analysis.tables import difficulty_table, to_markdown
from junkdna.analysis.verdict_table import TEST_TABLE_COLUMNS, short_verdict, table_of_tests
from junkdna.transfer.lmc import LMCResult


class Refs(HTMLParser):
    """Collects every attribute that can load something, the tags that could, the headings, the
    figures (id, alt, caption) and the tables (rows of cell texts) with the h2 above them."""

    def __init__(self):
        super().__init__()
        self.refs, self.tags, self.imgs, self.ids = [], [], [], []
        self.headings, self.captions, self.tables = [], [], []
        self._text, self._in = None, None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name in {"src", "href", "srcset", "data", "poster", "action", "xlink:href"}:
                self.refs.append(value or "")
        if tag == "img":
            self.imgs.append(attrs.get("alt"))
        if tag == "figure":
            self.ids.append(attrs.get("id"))
        if tag == "table":
            self.tables.append((self.headings[-1][1] if self.headings else "", []))
        if tag == "tr":
            self.tables[-1][1].append([])
        if tag in {"h1", "h2", "h3", "td", "th", "figcaption"}:
            self._text, self._in = [], tag

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag != self._in:
            return
        text = "".join(self._text)
        if tag in {"td", "th"}:
            self.tables[-1][1][-1].append(text)
        elif tag == "figcaption":
            self.captions.append(text)
        else:
            self.headings.append((tag, text))
        self._text = self._in = None

    def table(self, heading: str) -> list[list[str]]:
        (rows,) = [rows for h, rows in self.tables if h == heading]
        return rows


def _parse(text: str) -> Refs:
    parser = Refs()
    parser.feed(text)
    return parser


def _png_width(path) -> int:
    return int.from_bytes(path.read_bytes()[16:20], "big")  # the IHDR chunk's width


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


LMC_TESTS = pd.DataFrame(
    {
        "comparison": ["barrier easier vs harder level"],
        "estimate": [0.12],
        "ci_low": [0.02],
        "ci_high": [0.22],
        "unit": ["seed"],
        "n_units": [3],
        "p_value": [0.25],
        "verdict": ["Exploratory: the harder level's barrier is higher."],
    }
)
SECTIONS = [
    "Primary tests", "Dense references", "Figures", "Exploratory tests",
    "Achievable sparsity (normalized >= 1 - 0.01; + = never dropped)",
    "Difficulty table (Table 1)", "Linear mode connectivity", "Provenance", "Run counts",
    "Failed runs", "Runs without a dense reference",
]  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    df = _study()
    al = np.linspace(0, 1, 5)
    lmc = {"easy-0.4": LMCResult(list(al), list(al * (1 - al)), list(1 - al / 10), 0.25)}
    prov = {"study": "studies/quickstart.toml", "versions": {"torch": "2.x"}, "commit": "abc123"}
    paths = build_report(
        df, out, prov, "Quickstart", lmc=lmc, lmc_tests=LMC_TESTS, n_boot=200, n_perm=199
    )
    return df, out, paths


def test_html_is_self_contained_and_holds_every_figure(report):
    _, out, paths = report
    text = paths["html"].read_text(encoding="utf-8")
    parser = _parse(text)
    assert parser.refs, "expected embedded images"
    assert all(ref.startswith(("data:image/png;base64,", "#")) for ref in parser.refs)
    assert not {"script", "link", "iframe", "object"} & set(parser.tags)
    assert "http://" not in text and "https://" not in text and "url(" not in text
    pngs = sorted(p.stem for p in (out / "figures").glob("*.png"))
    assert sorted(parser.ids) == pngs  # every figure, once
    assert len(parser.imgs) == len(pngs) and not set(parser.imgs) & set(pngs)  # alt in words
    kinds = {stem.split("-")[0] for stem in pngs}
    assert kinds == {"normalized", "regimes", "nm", "raw", "lmc"}
    assert all((out / "figures" / f"{s}.svg").read_text().lstrip().startswith("<") for s in pngs)
    assert not [p for p in out.rglob("*.tmp")]  # atomic writes leave no temp files
    umask = os.umask(0)
    os.umask(umask)
    assert paths["html"].stat().st_mode & 0o777 == 0o666 & ~umask  # not atomic_path's 0600


def test_sections_come_in_order_and_the_markdown_mirrors_them(report):
    _, _, paths = report
    parser = _parse(paths["html"].read_text(encoding="utf-8"))
    html_h2 = [text for tag, text in parser.headings if tag == "h2"]
    assert html_h2 == SECTIONS  # primary tests first, figures after the references
    md = paths["markdown"].read_text(encoding="utf-8").splitlines()
    assert md[0] == "# Quickstart"
    assert [line[3:] for line in md if line.startswith("## ")] == SECTIONS
    md_h3 = [line[4:] for line in md if line.startswith("### ")]
    assert md_h3 == [text for tag, text in parser.headings if tag == "h3"]
    assert "studies/quickstart.toml" in "\n".join(md)
    assert paths["tables/achievable.csv"].exists()


def test_primary_table_in_words_and_verdict_txt_is_the_headline(report):
    df, _, paths = report
    a = analyze(df, n_boot=200, n_perm=199)
    assert paths["verdict"].read_text() == a.verdict() + "\n"  # unchanged: the headline
    rows = _parse(paths["html"].read_text(encoding="utf-8")).table("Primary tests")
    assert rows[0] == list(TEST_TABLE_COLUMNS)
    primary = a.tests[a.tests["primary"]]
    assert len(rows) == 1 + len(primary) == 2  # one setting, one primary test
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert cells["setting"] == "data adequacy"  # in words, not the key
    # The table shows the finding; the full sentence follows the table.
    assert cells["verdict"] == short_verdict(primary["verdict"].iloc[0])
    assert cells["verdict"].startswith("Not testable")
    html_text = paths["html"].read_text(encoding="utf-8")
    full = html.escape(primary["verdict"].iloc[0], quote=False)
    assert html_text.index("The primary verdicts in full") < html_text.index(full)
    # the 2:4 test is untestable (every achievable sparsity ties at 0): NaN shows as a dash
    assert cells["comparison"] == "difficulty vs achievable sparsity, 4 curves"
    assert cells["p"] == cells["effect [95% CI]"] == "\u2014"
    assert cells["n"] == "4 curves"


def test_no_cell_says_nan(report):
    _, _, paths = report
    parser = _parse(paths["html"].read_text(encoding="utf-8"))
    cells = [c.strip() for _, rows in parser.tables for row in rows for c in row]
    assert cells and not {"nan", "NaN", "None", "<NA>", ""} & set(cells)
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "| nan |" not in md.lower() and "|  |" not in md
    explore = parser.table("Exploratory tests")
    assert explore[0] == list(TEST_TABLE_COLUMNS)
    assert all(row[-1].startswith("Exploratory") for row in explore[1:])
    assert all(row[6] != "\u2014" and row[7] == "\u2014" for row in explore[1:])  # p, no adj.


def test_captions_are_words_and_panels_are_tasks(report):
    df, out, paths = report
    parser = _parse(paths["html"].read_text(encoding="utf-8"))
    stems = [p.stem for p in (out / "figures").glob("*.png")]
    assert len(parser.captions) == len(stems)
    for caption in parser.captions:
        assert not any(stem in caption for stem in stems), caption
        assert "|" not in caption and "data_adequacy" not in caption, caption
        assert caption.startswith(("Normalized score", "Raw score", "Linear mode")), caption
    normalized = [c for c in parser.captions if c.startswith("Normalized score (score /")]
    assert normalized and all("One panel per task" in c for c in normalized)
    assert all("dotted: 1 - epsilon = 0.99" in c for c in normalized)
    a = analyze(df, n_boot=200, n_perm=199)
    for plot in plots.normalized_figures(a.summary).values():
        assert [ax.get_title() for ax in plot.figure.axes] == ["easy", "hard"]
        legend = [t.get_text() for t in plot.figure.axes[0].get_legend().get_texts()]
        assert legend == ["level 0.1", "level 1.0"]  # without an order, no easier/harder
    # with the levels' difficulty measures (full / kept rows): easier first, and said so
    order = {("tiny", "data_adequacy", t, lv): 1 / float(lv) for t in ("easy", "hard")
             for lv in ("1.0", "0.1")}  # fmt: skip
    plot = next(iter(plots.normalized_figures(a.summary, order=order).values()))
    legend = [t.get_text() for t in plot.figure.axes[1].get_legend().get_texts()]
    assert legend == ["level 1.0 (easier)", "level 0.1 (harder)"]
    one = a.summary[a.summary["level"] == "0.1"]  # one level a panel: the title gives its measure
    plot = next(iter(plots.normalized_figures(one, order=order).values()))
    assert [ax.get_title() for ax in plot.figure.axes] == [
        "easy (difficulty 10)",
        "hard (difficulty 10)",
    ]


def test_the_lone_2_4_point_is_a_point_not_a_line(report):
    df, out, _ = report
    a = analyze(df, n_boot=200, n_perm=199)
    (plot,) = plots.nm_figures(a.summary).values()
    for ax in plot.figure.axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["2:4"]
        assert "N kept of every 4" in ax.get_xlabel()
        lines = [ln for ln in ax.get_lines() if ln.get_linestyle() not in ("None", "none", "")]
        assert all(len(ln.get_xdata()) <= 1 for ln in lines if ln.get_marker() == "o")
        assert ax.containers, "expected error bars"
        data = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
        assert data and all(ln.get_linestyle() == "None" for ln in data)
    # a small figure: narrower per panel than a curve figure
    (nm,) = (out / "figures").glob("nm-*.png")
    normal = next((out / "figures").glob("normalized-*.png"))
    assert _png_width(nm) < 0.7 * _png_width(normal)


def test_lmc_tests_are_a_table_in_the_lmc_section(report):
    _, _, paths = report
    rows = _parse(paths["html"].read_text(encoding="utf-8")).table("Linear mode connectivity tests")
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert cells["comparison"] == "barrier easier vs harder level"
    assert cells["effect [95% CI]"] == "+0.120 [+0.020, +0.220]"
    assert cells["n"] == "3 seeds" and cells["p"] == "0.25"
    assert "setting" not in cells  # no such column in these tests: left out, not a dash
    assert pd.read_csv(paths["tables/lmc_tests.csv"])["estimate"].tolist() == [0.12]
    md = paths["markdown"].read_text(encoding="utf-8")
    assert md.index("### Linear mode connectivity tests") > md.index("## Linear mode")


def test_failed_runs_and_unmatched_runs_are_listed(report):
    df, _, paths = report
    html = paths["html"].read_text(encoding="utf-8")
    md = paths["markdown"].read_text(encoding="utf-8")
    for run_id in df.loc[df["status"] == "failed", "run_id"]:
        assert run_id in html and run_id in md
    assert "CUDA out of memory &lt;oom&gt;" in html  # escaped, not markup
    assert "RuntimeError: nan loss" in md
    # the easy/1.0 seed-42 runs lost their dense reference and are listed with the reason
    assert "no dense reference" in md
    counts = md.split("## Run counts")[1]
    assert "| total | 48 |" in counts  # 4 curves x 2 seeds x 6 runs
    assert "| failed | 2 |" in counts


def test_report_survives_a_study_where_everything_failed(tmp_path):
    df = _study().assign(status="failed", score=np.nan, error="boom")
    paths = build_report(df, tmp_path, {"study": "x"}, n_boot=50)
    assert paths["verdict"].read_text().startswith("Not testable")
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "boom" in md and "Not testable" in md.split("## Dense references")[0]
    assert "tables/lmc_tests.csv" not in paths and "Linear mode" not in md


def test_two_level_and_item_rows_in_words(tmp_path):
    """A two-level setting with 6 seeds (known answer, as in the JSON test below) and an
    item-level row of another setting, with columns missing, render the same way."""
    df = synthetic_results(
        {("t", "1.0"): lambda s: 1 - s / 2, ("t", "0.1"): lambda s: 1 - s},
        difficulty="data_adequacy",
        seeds=(1, 2, 3, 4, 5, 6),
    )
    paths = build_report(df, tmp_path, {"study": "x"}, n_boot=200, n_perm=199)
    rows = _parse(paths["html"].read_text(encoding="utf-8")).table("Primary tests")
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert cells["comparison"] == "easier level 1.0 minus harder level 0.1 (normalized score)"
    # 1 - 0.3 / 2 - (1 - 0.3), the same on every seed: no spread, so no interval to show
    assert cells["effect [95% CI]"] == "+0.150"
    assert (cells["n"], cells["p"], cells["adjusted p"]) == ("6 seeds", "0.0312", "0.0312")
    assert cells["smallest reachable p"] == "0.0312"  # 2 / 2^6, one primary
    assert cells["verdict"].startswith("Supported: the harder level keeps less")
    items = pd.DataFrame(
        [{"difficulty": "external_information", "easier": "open", "harder": "closed",
          "mean_diff": 0.05, "ci_low": 0.01, "ci_high": 0.09, "unit": "item", "n_units": 200,
          "p_value": 0.004, "test": "two-level, bootstrap over items", "primary": True,
          "verdict": "Primary test. Supported."}]
    )  # fmt: skip
    (row,) = table_of_tests(items).to_dict("records")
    assert row["setting"] == "open vs closed book"
    assert row["comparison"] == "easier level open minus harder level closed"
    assert (row["effect [95% CI]"], row["n"]) == ("+0.050 [+0.010, +0.090]", "200 items")
    assert row["p"] == "0.004" and row["adjusted p"] == row["model"] == "\u2014"


def test_difficulty_table_hand_values():
    df = _study()
    table = difficulty_table(validate_results(df), human_scores={"hard": 1.0})
    easy = table[(table["task"] == "easy") & (table["level"] == "0.1")].iloc[0]
    # synthetic dense score 0.8 (x tiny noise), human 0.9 from the column
    assert easy["normalized_gap_pct"] == pytest.approx((0.9 - 0.8) / 0.9 * 100, rel=0.01)
    hard = table[table["task"] == "hard"].iloc[0]
    assert hard["human_score"] == 1.0  # the mapping wins over the column
    md = to_markdown(pd.DataFrame({"a": ["x|y", "<b>"], "b": [0.123456, np.nan]}))
    assert md.splitlines() == [
        "| a | b |",
        "|---|---|",
        "| x\\|y | 0.1235 |",
        "| &lt;b> | \u2014 |",
    ]


def test_nm_figures_put_n_on_the_x_axis_one_figure_per_m():
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
            "ci_low": [0.85, 0.6, 0.8],
            "ci_high": [0.95, 0.6, 0.8],
        }
    )
    figs = plots.nm_figures(summary)
    assert sorted(figs) == ["nm-m-d-wanda-none-none-4", "nm-m-d-wanda-none-none-8"]
    four = figs["nm-m-d-wanda-none-none-4"].figure.axes[0]
    assert [t.get_text() for t in four.get_xticklabels()] == ["1:4", "2:4"]
    assert four.lines[0].get_xdata().tolist() == [1, 2]  # x = N kept of every M
    assert four.lines[0].get_ydata().tolist() == [0.6, 0.8]
    assert four.lines[0].get_linestyle() == "-"  # two patterns: a line
    eight = figs["nm-m-d-wanda-none-none-8"]
    assert eight.figure.axes[0].lines[0].get_linestyle() == "None"  # one pattern: a point
    assert eight.figure.get_figwidth() < figs["nm-m-d-wanda-none-none-4"].figure.get_figwidth()
    assert "with M = 8" in eight.caption and "one pattern" in eight.caption


def test_report_reads_a_results_table_and_writes_every_test_and_curve_as_json(tmp_path, capsys):
    import json

    from junkdna.analysis.synthetic import synthetic_results
    from junkdna.cli import main

    df = synthetic_results(
        {("t", "1.0"): lambda s: 1 - s / 2, ("t", "0.1"): lambda s: 1 - s},
        difficulty="data_adequacy",
        seeds=(1, 2, 3, 4, 5, 6),
        noise=0.002,
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
    assert test["estimate"] == pytest.approx(0.15, abs=0.01) and test["p"] == pytest.approx(2 / 64)
    assert test["ci"][0] < test["estimate"] < test["ci"][1]
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


def test_the_primary_table_shows_the_finding_and_the_full_sentences_follow():

    long = (
        "Primary test (Holm-adjusted p = 1 across settings). Cannot answer with this design (too "
        "few units for any p below alpha) (m, data_adequacy; a vs b: normalized score +0.020); "
        "caveats: 2 seed(s) cannot reach p < 0.05; the observed effect would need about 285 "
        "seeds at alpha 0.05 before any adjustment."
    )
    assert short_verdict(long) == "Cannot answer with this design; about 285 seeds needed"
    supported = (
        "Primary test (Holm-adjusted p = 0.0015 across settings). Supported: the harder level "
        "keeps less of its dense score under the same sparsity (m, x; evidence p = 0.0005)."
    )
    assert short_verdict(supported) == (
        "Supported: the harder level keeps less of its dense score under the same sparsity"
    )
    untestable = (
        "Primary test. Not testable (m, x): the runs recorded no item outcomes; caveats: y."
    )
    assert short_verdict(untestable) == "Not testable: the runs recorded no item outcomes"


def test_an_unbalanced_study_keeps_its_seeds_and_the_json_names_what_was_left_out(tmp_path):
    """A null study of 8 seeds, then one sparsity more for seed 0 alone (it once cost 7 of the 8
    seeds, silently) and one failed run: the same 8 seeds, the same p, and the verdict and the
    JSON name the left-out configuration and the seed summarized over fewer runs."""
    import json

    from junkdna.analysis.synthetic import synthetic_results
    from junkdna.cli import main

    curves = {("t", "1.0"): lambda s: 1 - s / 2, ("t", "0.1"): lambda s: 1 - s / 2}
    common = {"difficulty": "data_adequacy", "noise": 0.02, "sparsities": (0.2, 0.4)}
    df = synthetic_results(curves, seeds=range(8), **common)
    extra = synthetic_results(curves, seeds=(0,), **{**common, "sparsities": (0.6,)})
    unbalanced = pd.concat([df, extra[extra["sparsity"] > 0]], ignore_index=True)
    fail = unbalanced.index[(unbalanced["seed"] == 3) & (unbalanced["level"] == "0.1")
                           & (unbalanced["sparsity"] == 0.4)]  # fmt: skip
    unbalanced.loc[fail, ["status", "score"]] = ["failed", np.nan]
    tests = []
    for name, table in (("balanced", df), ("unbalanced", unbalanced)):
        table.to_csv(tmp_path / f"{name}.csv", index=False)
        out = tmp_path / f"{name}.json"
        assert main(["report", str(tmp_path / f"{name}.csv"), "--json", str(out),
                     "--out", str(tmp_path / name)]) == 0  # fmt: skip
        (test,) = json.loads(out.read_text())["tests"]
        tests.append(test)
    balanced, test = tests
    assert balanced["n_units"] == test["n_units"] == 8 and balanced["left_out"] == []
    # seed 3's difference is now over 0.2 alone, so the estimate moves a little, but no seed goes
    assert test["estimate"] != balanced["estimate"] and test["p"] > 0.05
    assert test["left_out"] == [
        {"configuration": "magnitude unstructured global 0.6",
         "why": "run on both sides by 1 of 8 seeds"},
        {"seed": 3, "lacks": ["magnitude unstructured global 0.4"], "over": 1},
    ]  # fmt: skip
    assert (
        "left out magnitude unstructured global 0.6 (run on both sides by 1 of 8 seeds)"
        in (test["verdict"])
    )
    assert "seed 3 over 1 of 2 configurations" in test["verdict"]
    assert test["estimate_is"] == "1.0 (easier) minus 0.1 (harder), normalized score"


def test_the_report_shows_table1_wide_up_to_six_configurations_then_one_row_each():
    from junkdna.analysis.report import MAX_WIDE_CONFIGS, _difficulty_view

    def table1(k: int) -> pd.DataFrame:
        configs = {f"achievable (m{i} unstructured, sparse)": ["0.5", "0.3+"] for i in range(k)}
        return pd.DataFrame({"model": "m", "task": ["a", "b"], "difficulty": "data_adequacy",
                             "level": "none", "metric": "accuracy", "dense_score": [0.8, 0.7],
                             "dense_seeds": 2, "baseline": 0.5, "human_score": np.nan,
                             **configs})  # fmt: skip

    wide = _difficulty_view(table1(MAX_WIDE_CONFIGS))
    # the dense references show metric, seeds and baseline; an empty column is left out
    assert list(wide.columns[:5]) == ["model", "task", "setting", "level", "dense score"]
    assert len(wide) == 2 and len(wide.columns) == 5 + MAX_WIDE_CONFIGS
    long = _difficulty_view(table1(MAX_WIDE_CONFIGS + 1))
    assert list(long.columns) == ["model", "task", "setting", "level", "dense score", "pruning",
                                  "achievable"]  # fmt: skip
    assert len(long) == 2 * (MAX_WIDE_CONFIGS + 1)
    assert long.iloc[0][["task", "pruning", "achievable"]].tolist() == [
        "a",
        "m0 unstructured, sparse",
        "0.5",
    ]
