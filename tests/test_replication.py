"""The replication table (analysis.replication): its verdict rules against hand-worked cases, its
rows on simulated studies of known answer (replicated, not replicated, cannot answer) through
the real analysis, Holm across the claims, what it writes, and the shipped study file's claims
declared and powered before any data."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from junkdna.analysis.pipeline import analyze
from junkdna.analysis.primary import holm
from junkdna.analysis.replication import (
    COLUMNS,
    claim_figure,
    claim_table,
    judge,
    summary_line,
    write_replication,
)
from junkdna.analysis.synthetic import synthetic_items, synthetic_results
from junkdna.errors import JunkDNAError
from junkdna.study.config import Claim

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "studies" / "replication.toml"
LEVELS = ("100 examples", "524 examples")
HARDER = {("sst2", "100 examples"): 1.0, ("sst2", "524 examples"): 0.0}


@pytest.mark.parametrize(
    ("estimate", "lo", "hi", "p", "verdict", "words"),
    [
        (0.15, 0.08, 0.22, 0.001, "replicated", "Holm-adjusted p = 0.001"),
        (0.12, 0.04, 0.20, 0.04, "replicated", "< 0.05"),
        # significant, the paper's way, but wholly under delta: smaller than the paper's effect
        (0.03, 0.01, 0.05, 0.001, "not replicated", "smaller than the paper's"),
        (-0.10, -0.15, -0.05, 0.001, "not replicated", "the other way"),
        # not significant, and the interval rules out delta
        (0.02, -0.03, 0.07, 0.4, "not replicated", "excludes the paper's effect"),
        # the interval holds 0 and delta: no answer
        (0.06, -0.02, 0.14, 0.15, "cannot answer", "holds both 0 and delta"),
        # significant before Holm is not enough: the adjusted p decides
        (0.2, 0.01, 0.39, 0.06, "cannot answer", "holds both"),
        (0.3, math.nan, math.nan, 0.5, "cannot answer", "no interval"),
        (math.nan, math.nan, math.nan, math.nan, "cannot answer", "no test"),
    ],
)
def test_verdict_rules(estimate, lo, hi, p, verdict, words):
    got, why = judge(estimate, lo, hi, p, delta=0.1)
    assert got == verdict
    assert words in why


def _claim(id, test, **kw):
    base = {"claim": f"claim {id}", "where": "Section 0", "experiments": ["e"], "n": 12,
            "delta": 0.10}  # fmt: skip
    if test == "none":
        base = {"claim": f"claim {id}", "where": "Section 0", "why": "not offline"}
    return Claim(id=id, test=test, **(base | kw))


def _fine_tuned(hard_loss: float, *, seeds: int, noise: float, frozen_loss=None, rng_seed=0):
    """A Setting 1 study (seed unit): the easier level keeps 1 - 0.1 s, the harder 1 - hard_loss
    s at sparsity 0.4, per-run noise ``noise``; regimes sparse, frozen and sparse-to-dense."""
    curves = {("sst2", "100 examples"): lambda s: 1 - hard_loss * s,
              ("sst2", "524 examples"): lambda s: 1 - 0.1 * s}  # fmt: skip
    df = synthetic_results(curves, sparsities=(0.4,), seeds=list(range(seeds)),
                           regimes=("sparse", "sparse-to-dense"), difficulty="data_adequacy",
                           difficulty_value=HARDER, noise=noise, rng_seed=rng_seed)  # fmt: skip
    if frozen_loss is not None:  # Dense with Freezing keeps 1 - frozen_loss * s at both levels
        frozen = df[df["regime"] == "sparse"].copy()
        frozen["regime"] = "frozen"
        frozen["run_id"] = frozen["run_id"] + "f"
        dense = df[df["regime"] == "dense"].set_index(["level", "seed"])["score"]
        base = dense.loc[list(zip(frozen["level"], frozen["seed"], strict=True))].to_numpy()
        jitter = 1 + noise * np.random.default_rng(rng_seed + 7).standard_normal(len(frozen))
        frozen["score"] = base * (1 - frozen_loss * frozen["sparsity"]) * jitter
        df = pd.concat([df, frozen], ignore_index=True)
    df["experiment"] = "e"
    return df


SETTING1 = {"difficulty": "data_adequacy", "regime": "sparse"}


def _table(df, claims, items=None, lmc=None):
    a = analyze(df, primary=[{"difficulty": df["difficulty"].iloc[0], "regime": "sparse"}]
                if "sparse" in set(df["regime"]) else (), items=items, n_boot=1000)  # fmt: skip
    return claim_table(claims, a.results, a, lmc), a


def test_known_answers_on_simulated_fine_tuned_studies():
    claims = [_claim("s1", "difficulty", select=SETTING1, figure="Figure 1")]
    # The harder level loses 0.5 x 0.4 = 0.20 vs 0.04: a gap of 0.16 > delta, 12 seeds.
    t, _ = _table(_fine_tuned(0.5, seeds=12, noise=0.02), claims)
    row = t.iloc[0]
    assert list(t.columns) == COLUMNS
    assert row["verdict"] == "replicated"
    assert row["unit"] == "seed" and row["n"] == 12
    assert row["ci_low"] < 0.16 < row["ci_high"] and row["ci_low"] > 0.1 - 0.05
    # No difference between the levels, tight seeds: the interval rules delta out.
    t, _ = _table(_fine_tuned(0.1, seeds=12, noise=0.01), claims)
    assert t.iloc[0]["verdict"] == "not replicated"
    assert t.iloc[0]["ci_high"] < 0.1
    # The paper's effect, but 3 noisy seeds (the sign-flip's floor is 0.25): no answer, and the
    # number of seeds that would find delta.
    t, _ = _table(_fine_tuned(0.5, seeds=3, noise=0.15, rng_seed=3), claims)
    row = t.iloc[0]
    assert row["verdict"] == "cannot answer"
    assert row["units_needed"] > 3 and f"about {int(row['units_needed'])} seeds" in row["why"]


def test_known_answers_on_a_simulated_evaluation_only_study():
    # Items as the unit (Setting 3's design): closed book keeps 0.6 of its score, open book 0.95.
    df, items = synthetic_items({"open-book": lambda s: 0.95, "closed-book": lambda s: 0.6},
                                dense_accuracy={"open-book": 0.8, "closed-book": 0.5},
                                n_items=400, rng_seed=1)  # fmt: skip
    df["experiment"] = "e"
    claim = _claim("s3", "difficulty", select={"difficulty": "external_information"}, n=400)
    t, a = _table(df, [claim], items=items)
    row = t.iloc[0]
    assert row["verdict"] == "replicated" and row["unit"] == "item" and row["n"] == 400
    assert "open-book (easier) minus closed-book (harder)" in row["test"]
    assert claim_figure(claim, a)[:8] == b"\x89PNG\r\n\x1a\n"


def test_regimes_and_holm_across_claims():
    df = _fine_tuned(0.5, seeds=12, noise=0.02, frozen_loss=0.05)
    claims = [
        _claim("s1", "difficulty", select=SETTING1),
        _claim("frozen", "regimes",
               select={"comparison": "frozen - sparse-to-dense", "level": "100 examples"}),
        _claim("dense", "regimes",
               select={"comparison": "dense - sparse-to-dense", "level": "100 examples"}),
        _claim("s4", "none"),
    ]  # fmt: skip
    t, a = _table(df, claims)
    by = t.set_index("id")
    # frozen keeps 0.98, sparse-to-dense (the sparse curve here) 0.80: +0.18
    assert by.loc["frozen", "verdict"] == "replicated"
    assert by.loc["frozen", "estimate"] == pytest.approx(0.18, abs=0.03)
    # dense - sparse-to-dense = 1 - 0.80
    assert by.loc["dense", "estimate"] == pytest.approx(0.20, abs=0.03)
    # Holm over the three claims with a test; the untested one has none and cannot answer.
    tested = t[t["id"] != "s4"]
    assert np.allclose(tested["p_holm"], holm(tested["p_value"].tolist()))
    assert math.isnan(by.loc["s4", "p_holm"])
    assert by.loc["s4", "verdict"] == "cannot answer" and by.loc["s4", "why"] == "not offline"
    assert summary_line(t) == (
        "replication: 4 claims: 3 replicated, 0 not replicated, 1 cannot answer"
    )


def test_loss_barrier_claim_pairs_levels_across_experiments():
    df = _fine_tuned(0.5, seeds=10, noise=0.02)
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(10):
        for level, barrier in (("100 examples", 0.40), ("524 examples", 0.05)):
            rows.append({"pair": f"{level}-{seed}", "experiment": f"x-{level}", "level": level,
                         "regime": "sparse", "seed": seed,
                         "barrier": barrier + 0.03 * rng.standard_normal()})  # fmt: skip
    records = pd.DataFrame(rows)
    claim = _claim("lmc", "lmc", select={"regime": "sparse"}, n=10)
    t, _ = _table(df, [claim], lmc=records)
    row = t.iloc[0]
    assert row["verdict"] == "replicated" and row["n"] == 10
    assert row["estimate"] == pytest.approx(0.35, abs=0.03)
    assert "100 examples (harder) minus 524 examples (easier)" in row["test"]
    # Without barriers the claim cannot answer and says what to run.
    t, _ = _table(df, [claim], lmc=None)
    assert t.iloc[0]["verdict"] == "cannot answer" and "junkdna lmc" in t.iloc[0]["why"]


def test_write_replication_md_html_json(tmp_path):
    df = _fine_tuned(0.5, seeds=12, noise=0.02)
    claims = [_claim("s1", "difficulty", select=SETTING1, figure="Figure 1"), _claim("s4", "none")]
    t, a = _table(df, claims)
    pngs = {"s1": claim_figure(claims[0], a)}
    paths = write_replication(t, pngs, tmp_path, "junkdna replication: sim", {"study": "sim"})
    md = paths["markdown"].read_text()
    assert md.count("\n| **") == 2 and "replication-figures/s1.png" in md
    assert (tmp_path / "replication-figures" / "s1.png").read_bytes() == pngs["s1"]
    page = paths["html"].read_text()
    assert page.count("<tr class=") == 2 and "class='replicated'" in page
    assert "data:image/png;base64," in page
    doc = json.loads(paths["json"].read_text())
    assert doc["summary"] == summary_line(t)
    assert [c["id"] for c in doc["claims"]] == ["s1", "s4"]
    assert set(doc["claims"][0]) == set(COLUMNS)
    assert doc["claims"][1]["p_value"] is None  # NaN is null, not "NaN"


def test_claims_are_validated_with_one_line_errors(tmp_path):
    from junkdna.study import parse_study

    data = tomllib.loads(STUDY.read_text())
    bad = dict(data, claim=[dict(data["claim"][0], experiments=["nope"])])
    with pytest.raises(JunkDNAError, match="no experiment 'nope'"):
        parse_study(bad, tmp_path / "s.toml")
    bad = dict(data, claim=[{"id": "x", "claim": "c", "where": "w", "test": "none"}])
    with pytest.raises(JunkDNAError, match="says why"):
        parse_study(bad, tmp_path / "s.toml")
    bad = dict(data, claim=[dict(data["claim"][0], test="vibes")])
    with pytest.raises(JunkDNAError, match="not one of difficulty, regimes, lmc, none"):
        parse_study(bad, tmp_path / "s.toml")


def test_the_shipped_replication_is_declared_and_powered():
    """Every claim of the issue has a row; each tested claim's declared n is what its design
    gives, and its declared power at delta (from its pilot's spread) is >= 0.8 at Holm's first
    step."""
    from junkdna.study import load_study, plan_study

    study = load_study(STUDY)
    claims = {c.id: c for c in study.spec.claim}
    assert list(claims) == ["setting1", "setting2", "setting3", "setting4", "section5-frozen",
                            "section5-irreversible", "lmc"]  # fmt: skip
    plan = plan_study(study)
    assert len(plan.runs) == 110
    assert len(study.spec.study.seeds) == claims["setting1"].n == claims["lmc"].n == 12
    languages = next(e for e in study.spec.experiment if e.name == "languages")
    assert len(languages.difficulty[0].params()["items"]) == claims["setting2"].n
    # Setting 3's pool: squad_val_mc's training and test questions (357 + 266).
    assert claims["setting3"].n == 623
    assert claims["setting4"].test == "none" and "Spearman" in claims["setting4"].why
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "replication_power.py")],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "alpha / m = 0.0083" in out
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in claims and parts[5] != "n/a":
            assert float(parts[5]) >= 0.8, line
