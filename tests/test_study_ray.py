"""The Ray executor against a real local Ray cluster: every run is a Ray task, only the driver
writes the database, and the results equal the local executor's."""

from __future__ import annotations

import os
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


def test_a_killed_ray_worker_is_retried_and_a_crashing_run_is_recorded_failed(
    tmp_path, monkeypatch
):
    """On a real local Ray cluster: SIGKILL the worker that holds a run (Ray retries it in a new
    worker; it is recorded once); a run whose worker dies every time is recorded as failed after
    the bounded retries; a run that raises is recorded as failed with its error at once; the
    study goes on and every run is recorded exactly once."""
    import signal
    import threading
    import time
    from collections import Counter

    from junkdna.study.executors import RAY_MAX_RETRIES

    study = write_study(tmp_path, sparsities=(0.3, 0.5, 0.7))
    plan = plan_study(load_study(study))
    ids = [r.run_id for r in plan.runs]
    assert len(ids) == 4
    crash, raises = ids[2], ids[3]
    log, marker = tmp_path / "log", tmp_path / "paused"
    monkeypatch.setenv("JUNKDNA_TEST_LOG", str(log))
    monkeypatch.setenv("JUNKDNA_TEST_PAUSE", "run:1")
    monkeypatch.setenv("JUNKDNA_TEST_PAUSE_FILE", str(marker))
    monkeypatch.setenv("JUNKDNA_TEST_FAIL", f"run:{crash}:exit,run:{raises}:raise")

    killed: dict[str, str] = {}

    def kill_the_paused_worker():
        deadline = time.time() + 120
        while not marker.exists() and time.time() < deadline:
            time.sleep(0.05)
        if marker.exists():
            pid, run_id = marker.read_text().split()
            killed.update(pid=pid, run_id=run_id)
            os.kill(int(pid), signal.SIGKILL)

    killer = threading.Thread(target=kill_the_paused_worker, daemon=True)
    killer.start()
    t0 = time.time()
    try:
        rep = run_study(plan, executor="ray", workers=2, progress=False)
    finally:
        ray.shutdown()
    killer.join(5)
    assert killed and int(killed["pid"]) != os.getpid(), "no worker was killed"
    victim = killed["run_id"]
    assert victim in ids[:2]
    assert (rep.done, rep.failed) == (2, 2), rep.errors
    rows = {r["run_id"]: r for r in open_store(plan.study).rows()}
    assert sorted(rows) == sorted(ids)
    assert rows[victim]["status"] == "done" and rows[victim]["pid"] != int(killed["pid"])
    assert rows[crash]["status"] == "failed"
    assert f"died on each of {RAY_MAX_RETRIES + 1} tries" in rows[crash]["error"]
    assert "WorkerCrashedError" in rows[crash]["error"]
    assert rows[raises]["status"] == "failed"
    assert "RuntimeError: test failure injected" in rows[raises]["error"]
    lines = [line.split() for line in log.read_text().splitlines()]
    runs = Counter(run_id for point, run_id, _ in lines if point == "run")
    commits = Counter(run_id for point, run_id, _ in lines if point == "commit")
    assert runs[victim] == 2  # killed once, run again
    assert runs[crash] == RAY_MAX_RETRIES + 1  # bounded: the first try and the retries
    assert runs[raises] == 1  # a run's own error is deterministic: not retried
    assert commits == Counter(ids)  # every run recorded exactly once
    assert time.time() - t0 < 90
