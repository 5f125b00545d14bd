"""The report in a real browser: headless Chromium lays report.html out at a 1280 px wide viewport;
the page must not scroll sideways, every table must fit or wrap (none cut off behind a scroll
bar), and every image must load.

Chromium runs with ``--dump-dom`` on a copy of the report with a small probe script appended (the
report itself has no script): after the load event it writes the page's scroll width and each
image's natural width and each table's overflow into a ``<pre id="probe">``. Without a chromium binary the test skips, except
under CI (the ``CI`` environment variable set), where it fails: ``make test`` installs chromium
where it can (Makefile, target ``browser``)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from junkdna.analysis.report import build_report
from junkdna.analysis.synthetic import synthetic_results
from junkdna.transfer.lmc import LMCResult

VIEWPORT = 1280
PROBE = """<script>
window.addEventListener("load", () => {
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    bodyScrollWidth: document.body.scrollWidth,
    images: Array.from(document.images, (img) => img.naturalWidth),
    tables: Array.from(document.querySelectorAll("table"), (t) => {
      let h = t.closest(".scroll") || t;
      while (h && !/^H[1-6]$/.test(h.tagName)) h = h.previousElementSibling;
      const box = t.closest(".scroll") || t.parentElement;
      return {heading: h ? h.textContent : "", overflow: box.scrollWidth - box.clientWidth,
              right: t.getBoundingClientRect().right};
    }),
  });
  document.body.appendChild(probe);
});
</script>"""
LONG = "a_very_long_unbroken_token_" * 8  # no space or hyphen to wrap at
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("CI is set but no chromium binary is on PATH (make browser installs it)")
    pytest.skip("no chromium or chromium-browser binary on PATH: the browser check needs one")


def _study() -> pd.DataFrame:
    """Two settings: data adequacy (one task, two levels: a paired two-level test over seeds)
    under three regimes and two methods (six achievable columns in Table 1) with a lone 2:4
    point, and a human-model gap over four tasks (a rank
    test); one failed run with an unbreakable error message."""
    levels = {
        ("sentiment", "1.0"): lambda s: 1.0 if s < 0.6 else 0.9,
        ("sentiment", "0.1"): lambda s: 1.0 if s < 0.3 else 0.75,
    }
    common = {"difficulty": "data_adequacy", "seeds": (1, 2, 3), "noise": 0.002}
    regimes = ("sparse", "frozen", "sparse-to-dense")
    adequacy = synthetic_results(levels, sparsities=[0.2, 0.5, 0.7], regimes=regimes, **common)
    nm = synthetic_results(levels, sparsities=[0.5], structure="2:4", **common)
    tasks = {
        (t, "none"): (lambda s, k=k: 1 - k * s)
        for k, t in enumerate(["boolq", "rte", "wsc", "copa"])
    }
    gap = synthetic_results(
        tasks,
        difficulty="human_model_gap",
        difficulty_value={key: float(i) for i, key in enumerate(tasks)},
        seeds=(1, 2),
    )
    wanda = synthetic_results(levels, sparsities=[0.2, 0.5, 0.7], regimes=regimes,
                              method="wanda", **common)  # fmt: skip
    df = pd.concat([adequacy, wanda[wanda["sparsity"] > 0], nm[nm["sparsity"] > 0], gap],
                   ignore_index=True)  # fmt: skip
    df["model"] = MODEL  # a hub id is long: the tables must still fit
    failed = df.index[(df["sparsity"] == 0.7) & (df["seed"] == 3)][0]
    df.loc[failed, ["status", "score", "error"]] = ["failed", np.nan, "Error: " + LONG]
    return df


def _layout(page, tmp_path) -> dict:
    probed = tmp_path / "probed.html"
    probed.write_text(
        page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8"
    )
    cmd = [
        _chromium(), "--headless=new", "--disable-gpu", "--no-sandbox",
        f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={VIEWPORT},900",
        "--hide-scrollbars", "--virtual-time-budget=5000", "--dump-dom", probed.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert match, f"no probe in chromium's DOM (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1)))


def test_report_fits_a_1280px_viewport_and_every_image_loads(tmp_path):
    _chromium()  # skip (or fail under CI) before building anything
    al = np.linspace(0, 1, 5)
    lmc = {"sentiment-0.5": LMCResult(list(al), list(al * (1 - al)), list(1 - al / 10), 0.25)}
    lmc_tests = pd.DataFrame(
        {"comparison": ["barrier, harder - easier"], "estimate": [0.1], "ci_low": [-0.1],
         "ci_high": [0.3], "unit": ["seed"], "n_units": [3], "p_value": [0.5],
         "verdict": ["Exploratory: no difference in barrier."]}
    )  # fmt: skip
    provenance = {"study file": "/" + LONG + "/study.toml", "versions": {"torch": "2.x"}}
    paths = build_report(
        _study(), tmp_path / "report", provenance, "Report " + LONG,
        lmc=lmc, lmc_tests=lmc_tests, n_boot=200, n_perm=199,
    )  # fmt: skip
    pngs = sorted((tmp_path / "report" / "figures").glob("*.png"))
    assert {p.name.split("-")[0] for p in pngs} == {"normalized", "nm", "regimes", "raw", "lmc"}

    probe = _layout(paths["html"], tmp_path)

    assert probe["clientWidth"] == VIEWPORT
    assert probe["scrollWidth"] <= VIEWPORT, f"the page scrolls sideways: {probe}"
    assert probe["bodyScrollWidth"] <= VIEWPORT, probe
    # Every table fits the page or wraps: no column hidden behind a scroll bar or past the edge.
    headings = [t["heading"] for t in probe["tables"]]
    for must in ("Primary tests", "Exploratory tests", "Difficulty table (Table 1)"):
        assert must in headings, headings
    assert any(h.startswith("Achievable sparsity") for h in headings), headings
    wide = [t for t in probe["tables"] if t["overflow"] > 0 or t["right"] > VIEWPORT]
    assert not wide, f"tables wider than the page: {wide}"
    assert len(probe["images"]) == len(pngs)  # every figure is on the page
    assert all(width > 0 for width in probe["images"]), f"an image did not load: {probe}"
