"""The atlas (``junkdna.atlas``): counts against an independent oracle on a tiny model, every
ratio by hand, the rank test's calibration and interval coverage on simulated data of known
answer, the leave-one-task-out prediction on exact cases, the study and report wiring, the CLI's
bad inputs, and one run on the shipped MiniLM."""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from study_fixtures import make_task_file, make_tiny_bert  # noqa: E402

from junkdna.atlas import Atlas, AtlasTask, compute_atlas  # noqa: E402
from junkdna.atlas.compute import AtlasCounts  # noqa: E402
from junkdna.atlas.stats import MIN_CI_TASKS, predict_loto, rank_test, rho_interval  # noqa: E402
from junkdna.cli import main  # noqa: E402

# ----------------------------------------------------------------------------- tiny model


def _topic_file(path: Path, n: int = 40) -> Path:
    """A second task on the same words: label 1 iff the text mentions music or a story."""
    rng = random.Random(1)
    words = ["movie", "plot", "actor", "scene", "music", "story", "ending", "film"]
    rows = []
    for _ in range(n):
        w = rng.sample(words, 3)
        rows.append({"text": " ".join(w), "label": int(bool({"music", "story"} & set(w)))})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from junkdna.tasks.local import load_local_task

    root = tmp_path_factory.mktemp("atlas")
    model = make_tiny_bert(root / "tiny-bert")
    files = {"sentiment": make_task_file(root / "sentiment.jsonl"),
             "topic": _topic_file(root / "topic.jsonl")}  # fmt: skip

    def loader(path):
        return lambda: load_local_task(path, seed=0)

    tasks = [AtlasTask(name, loader(p), d) for (name, p), d in zip(files.items(), (1.0, 2.0),
                                                                   strict=True)]  # fmt: skip
    counts = compute_atlas(str(model), tasks, 0.5, method="fisher", nsamples=24, batch_size=4)
    return {"root": root, "model": model, "tasks": tasks, "counts": counts}


def _oracle(model_dir: Path, task, sparsity: float):
    """Independent counts: full stable sorts of the concatenated magnitudes and scores (ties
    in layer order, then row-major, as the selection promises)."""
    from junkdna.models import prunable_weights
    from junkdna.pruning.importance import task_importance
    from junkdna.study.run import load_model_for

    model, tok = load_model_for(str(model_dir), task, 0)
    prunables = prunable_weights(model)
    params = dict(model.named_parameters())
    names = list(prunables)
    mags = [prunables[n].matrix(params[n].detach()).abs().reshape(-1) for n in names]
    with task_importance(model, tok, task, "fisher", nsamples=24, seed=0, batch_size=4,
                         prunables=prunables) as store:  # fmt: skip
        scores = [store.load(n).reshape(-1).double() for n in names]

    def removed(parts):
        flat = torch.cat([p.float() for p in parts])
        k = math.floor(sparsity * flat.numel() + 0.5)
        gone = torch.zeros(flat.numel(), dtype=torch.bool)
        gone[torch.sort(flat, stable=True).indices[:k]] = True
        return list(gone.split([p.numel() for p in parts]))

    junk = removed(mags)
    kept = [~g for g in removed(scores)]
    return names, junk, kept, scores


def test_counts_match_an_independent_oracle(tiny):
    counts = tiny["counts"]
    cells = pd.DataFrame(counts.cells)
    both = {}
    kept_by_task = {}
    for spec in tiny["tasks"]:
        task = spec.load()
        names, junk, kept, scores = _oracle(tiny["model"], task, 0.5)
        kept_by_task[spec.label] = kept
        mine = cells[cells["task"] == spec.label].set_index("weight")
        for name, j, k, s in zip(names, junk, kept, scores, strict=True):
            canon = name.removeprefix("bert.")
            row = mine.loc[canon]
            assert row["n"] == j.numel() and row["junk"] == int(j.sum())
            assert row["kept"] == int(k.sum()) and row["kept_junk"] == int((k & j).sum())
            assert row["mass"] == pytest.approx(float(s.sum()), rel=1e-6)
            assert row["mass_junk"] == pytest.approx(float(s[j].sum()), rel=1e-6, abs=1e-30)
    a, b = kept_by_task["sentiment"], kept_by_task["topic"]
    for name, ka, kb in zip(names, a, b, strict=True):
        both[name.removeprefix("bert.")] = int((ka & kb).sum())
    pairs = pd.DataFrame(counts.pairs).set_index("weight")["both"].to_dict()
    assert pairs == both
    # Exactly half of all prunable weights are junk, and each task keeps exactly half.
    atlas = Atlas(counts)
    o = atlas.summaries["overall"].set_index("task")
    n = int(o["n"].iloc[0])
    assert (o["junk"] == math.floor(0.5 * n + 0.5)).all()
    assert (o["kept"] == n - math.floor(0.5 * n + 0.5)).all()
    # Layers and module types cover the two BERT blocks and the six projection kinds.
    assert set(cells["layer"]) == {0, 1}
    assert set(cells["module_type"]) == {"attn_q", "attn_k", "attn_v", "attn_o", "mlp_up",
                                         "mlp_down"}  # fmt: skip


def test_tasks_differ_and_the_atlas_round_trips(tiny, tmp_path):
    atlas = Atlas(tiny["counts"])
    j = atlas.jaccard_matrix()
    assert j.loc["sentiment", "sentiment"] == 1.0
    assert 0 < j.loc["sentiment", "topic"] < 1  # two tasks, two different important sets
    atlas.save(tmp_path / "a")
    again = Atlas.load(tmp_path / "a")
    pd.testing.assert_frame_equal(again.summaries["by_cell"], atlas.summaries["by_cell"],
                                  check_dtype=False)  # fmt: skip
    pd.testing.assert_frame_equal(again.jaccard_matrix(), j)


# ----------------------------------------------------------------------------- ratios by hand


def _hand_counts() -> AtlasCounts:
    """Two weights in two layers, two tasks; every figure below is computed by hand."""
    layout = [
        {"weight": "l0.q", "layer": 0, "block": "l.0", "module_type": "attn_q", "n": 100,
         "junk": 50},
        {"weight": "l1.up", "layer": 1, "block": "l.1", "module_type": "mlp_up", "n": 300,
         "junk": 150},
    ]  # fmt: skip
    got = {  # task -> per weight (kept, kept_junk, mass, mass_junk)
        "easy": [(40, 10, 8.0, 2.0), (160, 40, 12.0, 3.0)],
        "hard": [(60, 40, 10.0, 5.0), (140, 100, 10.0, 6.0)],
    }
    cells = []
    for task, vals in got.items():
        for lay, (k, kj, m, mj) in zip(layout, vals, strict=True):
            cells.append({"task": task, **lay, "kept": k, "kept_junk": kj, "mass": m,
                          "mass_junk": mj})  # fmt: skip
    pairs = [{"task_a": "easy", "task_b": "hard", "weight": "l0.q", "both": 20},
             {"task_a": "easy", "task_b": "hard", "weight": "l1.up", "both": 70}]  # fmt: skip
    tasks = [{"task": "easy", "name": "easy", "difficulty": 1.0},
             {"task": "hard", "name": "hard", "difficulty": 2.0}]  # fmt: skip
    return AtlasCounts("m", "fisher", 0.5, cells, pairs, tasks)


def test_every_ratio_by_hand():
    atlas = Atlas(_hand_counts())
    o = atlas.summaries["overall"].set_index("task")
    assert o.loc["easy", "share_in_junk"] == pytest.approx(50 / 200)
    assert o.loc["hard", "share_in_junk"] == pytest.approx(140 / 200)
    assert o.loc["easy", "expected"] == pytest.approx(0.5)
    assert o.loc["hard", "enrichment"] == pytest.approx(0.7 / 0.5)
    assert o.loc["easy", "importance_in_junk"] == pytest.approx(5 / 20)
    # |K ∩ M| = 200 - 50 = 150; |M| = 200; union = 200 + 200 - 150 = 250.
    assert o.loc["easy", "jaccard_magnitude"] == pytest.approx(150 / 250)
    cell = atlas.summaries["by_cell"].set_index(["task", "layer"])
    assert cell.loc[("hard", 0), "share_in_junk"] == pytest.approx(40 / 60)
    assert atlas.summaries["by_type"].set_index(["task", "module_type"]).loc[
        ("easy", "mlp_up"), "importance_in_junk"] == pytest.approx(3 / 12)  # fmt: skip
    p = atlas.pairs["overall"].iloc[0]
    assert p["jaccard"] == pytest.approx(90 / (200 + 200 - 90))
    by_layer = atlas.pairs["by_layer"].set_index("layer")
    assert by_layer.loc[0, "jaccard"] == pytest.approx(20 / (40 + 60 - 20))
    assert atlas.jaccard_matrix().loc["hard", "magnitude"] == pytest.approx(60 / (200 + 200 - 60))


# ----------------------------------------------------------------------------- statistics


def test_rank_test_exact_on_a_perfect_order():
    frame = pd.DataFrame({"task": list("abcdef"), "difficulty": [1, 2, 3, 4, 5, 6],
                          "share_in_junk": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})  # fmt: skip
    t = rank_test(frame)
    assert t["rho"] == pytest.approx(1.0)
    assert t["p_value"] == pytest.approx(2 / 720)  # two of the 6! orderings are as extreme
    assert t["unit"] == "task" and t["n"] == 6
    assert math.isnan(t["ci_low"])  # under MIN_CI_TASKS tasks: no interval
    assert t["verdict"].startswith("Primary test. Supported")
    few = rank_test(frame.iloc[:4])
    assert "Cannot answer" in few["verdict"]  # 4 tasks cannot reach p < 0.05 (min 2/24)


def test_rank_test_false_positive_rate_under_the_null():
    rng = np.random.default_rng(3)
    hits, reps = 0, 400
    for _ in range(reps):
        frame = pd.DataFrame({"task": list("abcdef"), "difficulty": rng.normal(size=6),
                              "share_in_junk": rng.normal(size=6)})  # fmt: skip
        hits += rank_test(frame)["p_value"] < 0.05
    assert hits / reps <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)


@pytest.mark.parametrize("n", [MIN_CI_TASKS, 12])
@pytest.mark.parametrize("rho", [0.0, 0.5, 0.8])
def test_rho_interval_covers_from_min_tasks_on(n, rho):
    from scipy.stats import spearmanr

    rng = np.random.default_rng(int(10 * rho) + n)
    truth = 6 / math.pi * math.asin(rho / 2)  # Spearman's rho of a bivariate normal
    reps, cover = 1500, 0
    for _ in range(reps):
        x = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
        lo, hi = rho_interval(float(spearmanr(x[:, 0], x[:, 1]).statistic), n)
        cover += lo <= truth <= hi
    assert cover / reps >= 0.93


def test_loto_prediction_exact_cases():
    x = np.array([0.1, 0.3, 0.2, 0.5, 0.4])
    frame = pd.DataFrame({"task": list("abcde"), "share_in_junk": x, "achievable": 0.9 - x})
    p = predict_loto(frame, signals=["share_in_junk"]).iloc[0]
    assert p["mae"] == pytest.approx(0, abs=1e-12) and p["skill"] == pytest.approx(1)
    # The mean of the others, held out: |y_i - mean(rest)| = n/(n-1) |y_i - mean(y)|.
    y = frame["achievable"].to_numpy()
    assert p["mae_mean"] == pytest.approx(np.abs(y - y.mean()).mean() * 5 / 4)
    flat = frame.assign(share_in_junk=0.3)
    q = predict_loto(flat, signals=["share_in_junk"]).iloc[0]
    assert q["skill"] == pytest.approx(0)  # a constant signal predicts the mean


# ----------------------------------------------------------------------------- wiring


def test_report_section_and_json(tmp_path):
    from junkdna.analysis.report import build_report
    from junkdna.analysis.synthetic import synthetic_results

    curves = {("easy", "l"): lambda s: 1.0 if s <= 0.3 else 0.8,
              ("hard", "l"): lambda s: 1.0 if s <= 0.1 else 0.8}  # fmt: skip
    results = synthetic_results(curves, difficulty="dense_headroom",
                                difficulty_value={("easy", "l"): 10.0, ("hard", "l"): 50.0})  # fmt: skip
    from junkdna.atlas.report import study_section

    atlas = Atlas(_hand_counts())
    paths = build_report(results, tmp_path / "r", {}, json_path=tmp_path / "r.json",
                         sections=[study_section(atlas, {"model": "tiny"})])  # fmt: skip
    html = paths["html"].read_text()
    assert "Where the junk lives" in html and 'id="atlas_enrichment"' in html
    body = json.loads((tmp_path / "r.json").read_text())
    per_task = {r["task"]: r for r in body["atlas"]["per_task"]}
    assert per_task["easy"]["achievable"] == pytest.approx(0.3)
    assert per_task["hard"]["achievable"] == pytest.approx(0.1)
    assert per_task["hard"]["share_in_junk"] == pytest.approx(0.7)
    assert {c["layer"] for c in body["atlas"]["by_cell"]} == {0, 1}


def test_study_atlas_section_is_checked(tmp_path):
    from junkdna.errors import JunkDNAError
    from junkdna.study.load import parse_study

    base = {
        "study": {"name": "s"},
        "experiment": [{"name": "sweep", "models": ["minilm"], "tasks": ["sst2_val"],
                        "regimes": ["dense"]}],
    }  # fmt: skip
    parse_study({**base, "atlas": {"experiment": "sweep"}}, tmp_path / "s.toml")
    with pytest.raises(JunkDNAError, match="not an experiment of the study; valid: sweep"):
        parse_study({**base, "atlas": {"experiment": "swep"}}, tmp_path / "s.toml")
    with pytest.raises(JunkDNAError, match="not a task-aware criterion; valid: fisher, taylor"):
        parse_study({**base, "atlas": {"method": "magnitude"}}, tmp_path / "s.toml")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--tasks", "sst2_vall", "--sparsity", "0.5"], "Did you mean 'sst2_val'"),
        (["--tasks", "sst2_val", "--sparsity", "0"], "--sparsity must be in (0, 1)"),
        (["--tasks", "sst2_val", "--sparsity", "1.5"], "sparsity must be a number in [0, 1)"),
        (["--tasks", "sst2_val", "--sparsity", "0.5", "--method", "magnitude"],
         "not a task-aware criterion"),
        (["--tasks", "sst2_val", "--sparsity", "0.5", "--difficulty", "sst2=1"],
         "is not one of --tasks"),
        (["--tasks", "sst2_val,sst2_val", "--sparsity", "0.5"], "named twice"),
    ],
)  # fmt: skip
def test_cli_bad_input_is_one_line_exit_2(argv, words, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["atlas", "minilm", *argv, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and words in err, err
    assert not out.exists()


def test_cli_on_the_shipped_minilm(tmp_path, capsys):
    out = tmp_path / "atlas"
    code = main(["atlas", "minilm", "--tasks", "sst2_val,mrpc_val",
                 "--sparsity", "0.5", "--nsamples", "12", "--batch-size", "4",
                 "--out", str(out), "--json", str(tmp_path / "a.json")])  # fmt: skip
    assert code == 0
    body = json.loads((tmp_path / "a.json").read_text())
    assert body["method"] == "fisher" and body["sparsity"] == 0.5
    cells = pd.DataFrame(body["by_cell"])
    assert len(cells) == 2 * 6 * 6  # tasks x MiniLM's 6 layers x 6 module types
    assert cells["share_in_junk"].between(0, 1).all()
    assert (out / "report.html").is_file() and (out / "figures" / "atlas_overlap.png").is_file()
    assert "Not testable" in capsys.readouterr().out  # no difficulties given


def test_prediction_leaves_out_tasks_whose_dense_model_learned_nothing():
    from junkdna.atlas.report import analyze_atlas

    atlas = Atlas(_hand_counts())
    frame = pd.DataFrame({
        "task": list("abcd"), "difficulty": [1.0, 2.0, 3.0, 4.0],
        "share_in_junk": [0.1, 0.2, 0.3, 0.4], "importance_in_junk": [0.1, 0.2, 0.3, 0.4],
        "achievable": [0.6, 0.5, 0.4, 0.8], "dense_at_baseline": [False, False, False, True],
    })  # fmt: skip
    result = analyze_atlas(atlas, frame)
    assert result["excluded"] == ["d"]
    pred = result["prediction"].set_index("signal")
    assert pred.loc["share_in_junk", "n"] == 3
    assert pred.loc["share_in_junk", "mae"] == pytest.approx(0, abs=1e-12)  # exact line on a-c
    result = analyze_atlas(atlas, frame.assign(dense_at_baseline=[False, True, True, True]))
    assert result["prediction"] is None
