"""The study commands end to end on the tiny study: plan, run (a pool of 2 workers), status,
export (CSV and Parquet) and report (path and verdict)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from study_fixtures import write_study  # noqa: E402

from junkdna.cli import main  # noqa: E402


def test_plan_run_status_export_report(tmp_path, capsys):
    study = str(write_study(tmp_path, sparsities=(0.3, 0.5)))
    assert main(["plan", study]) == 0
    out = capsys.readouterr().out
    assert "3 runs" in out and "masks: 2 computed once for 2 masked runs" in out
    assert "estimated cost: unknown" in out

    assert main(["run", study, "--workers", "2", "--quiet"]) == 0
    assert "3 run(s) done now, 0 failed" in capsys.readouterr().out
    assert main(["run", study, "--quiet"]) == 0  # nothing left: a no-op
    assert "0 run(s) done now, 0 failed, 3 finished before" in capsys.readouterr().out

    assert main(["status", study]) == 0
    assert "done 3, running 0, failed 0, pending 0" in capsys.readouterr().out
    assert main(["plan", study]) == 0
    assert "0.00 h of single-worker time for 0 runs not done" in capsys.readouterr().out

    assert main(["export", study, "--csv"]) == 0
    csv = pd.read_csv(tmp_path / "out" / "results.csv")
    assert main(["export", study, "--parquet", str(tmp_path / "r.parquet")]) == 0
    parquet = pd.read_parquet(tmp_path / "r.parquet")
    assert len(csv) == len(parquet) == 3
    assert sorted(csv["sparsity"]) == [0.0, 0.3, 0.5]
    assert list(csv["run_id"]) == list(parquet["run_id"])

    assert "3 run(s) ->" in capsys.readouterr().out
    # Each run's items, one row per run and item; their mean is the run's accuracy.
    assert main(["export", study, "--csv", str(tmp_path / "r.csv"), "--items"]) == 0
    assert "3 run(s), " in capsys.readouterr().out
    items = pd.read_csv(tmp_path / "out" / "items.csv", dtype={"key": str})
    assert list(items.columns) == ["run_id", "item", "key", "metric", "outcome"]
    means = items.groupby("run_id")["outcome"].mean()
    scores = csv.set_index("run_id")["score"]
    assert set(means.index) == set(scores.index)
    assert all(abs(means[r] - scores[r]) < 1e-6 for r in scores.index)
    assert main(["report", study]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    html = Path(lines[0].removeprefix("report: "))
    assert html.is_file() and html.name == "report.html"
    verdict = (html.parent / "verdict.txt").read_text().strip()
    assert lines[1] == verdict.splitlines()[0] and verdict


def test_unknown_executor_is_a_clear_error(tmp_path, capsys):
    study = str(write_study(tmp_path))
    assert main(["run", study, "--executor", "slurm"]) == 2
    assert "unknown executor 'slurm'" in capsys.readouterr().err
