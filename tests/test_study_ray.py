"""The Ray executor against a real local Ray cluster: every run is a Ray task, only the driver
writes the database, and the results equal the local executor's."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from study_fixtures import write_study  # noqa: E402

ray = pytest.importorskip("ray")

from junkdna.study import load_study, plan_study  # noqa: E402
from junkdna.study.driver import open_store, run_study  # noqa: E402


def test_ray_executor_matches_the_local_executor(tmp_path):
    local_dir, ray_dir = tmp_path / "local", tmp_path / "ray"
    local_dir.mkdir()
    study = write_study(local_dir, sparsities=(0.5,), extra="save_weights = true")
    shutil.copytree(local_dir, ray_dir)  # same study, its own output folder and database
    local = plan_study(load_study(study))
    remote = plan_study(load_study(ray_dir / "study.toml"))
    assert [r.run_id for r in local.runs] == [r.run_id for r in remote.runs]

    assert run_study(local, progress=False).done == 2
    try:
        rep = run_study(remote, executor="ray", workers=2, progress=False)
    finally:
        ray.shutdown()
    assert rep.done == 2, rep.errors
    a = {r["run_id"]: r for r in open_store(local.study).rows()}
    b = {r["run_id"]: r for r in open_store(remote.study).rows()}
    assert a.keys() == b.keys()
    for run_id in a:
        assert a[run_id]["metrics"] == b[run_id]["metrics"]
        inv_a, inv_b = (dict(x[run_id]["invariants"]) for x in (a, b))
        assert inv_a.pop("task_info")["source"].endswith("local/toy.jsonl")
        assert inv_b.pop("task_info")["source"].endswith("ray/toy.jsonl")
        assert inv_a == inv_b
        # The fine-tuned weights are bit-identical: the same computation, not just the same score.
        weights = [d / "out" / "runs" / run_id / "model.safetensors" for d in (local_dir, ray_dir)]
        assert weights[0].read_bytes() == weights[1].read_bytes()
    # Runs executed in Ray worker processes, not in the driver (this process).
    import os

    assert all(r["pid"] != os.getpid() for r in b.values())
    assert all(r["pid"] == os.getpid() for r in a.values())
