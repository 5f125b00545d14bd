"""Running studies for real (tiny BERT, toy JSONL task): SIGKILL during a run and during the
database commit, two drivers at once, artifact write failures, the exported table, mask reuse."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from study_fixtures import make_tiny_bert, write_study  # noqa: E402

from junkdna.study import load_study, plan_study  # noqa: E402
from junkdna.study.driver import open_store, run_study  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("model") / "tiny-bert")


def _folder(tmp_path: Path, tiny_model: Path) -> Path:
    (tmp_path / "tiny-bert").symlink_to(tiny_model)
    return tmp_path


def _cli(study: Path, env: dict, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "junkdna.cli", "run", str(study), "--quiet", *extra]
    return subprocess.Popen(
        cmd, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _kill_at(study: Path, tmp: Path, pause: str, log: Path) -> None:
    """Start `junkdna run`, wait until it pauses at `pause`, SIGKILL it."""
    marker = tmp / f"paused-{pause.replace(':', '-')}"
    env = {"JUNKDNA_TEST_LOG": str(log), "JUNKDNA_TEST_PAUSE": pause,
           "JUNKDNA_TEST_PAUSE_FILE": str(marker)}  # fmt: skip
    proc = _cli(study, env)
    deadline = time.time() + 180
    while not marker.exists():
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.time() < deadline, "the run never reached the pause point"
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL


def _log(path: Path, point: str) -> Counter:
    lines = path.read_text().split() if path.exists() else []
    entries = [lines[i : i + 3] for i in range(0, len(lines), 3)]
    return Counter(run_id for p, run_id, _ in entries if p == point)


def test_sigkill_during_a_run_and_during_the_commit_then_resume(tmp_path, tiny_model, monkeypatch):
    study = write_study(_folder(tmp_path, tiny_model), sparsities=(0.3, 0.5))
    plan = plan_study(load_study(study))
    first, second, third = (r.run_id for r in plan.runs)
    log = tmp_path / "log"

    _kill_at(study, tmp_path, "run:2", log)  # killed while working on the 2nd run
    store = open_store(plan.study)
    assert [r["run_id"] for r in store.rows()] == [first]
    assert second not in store.statuses()  # pending again: its lease died with the process

    _kill_at(study, tmp_path, "commit:1", log)  # killed inside the transaction recording it
    assert [r["run_id"] for r in open_store(plan.study).rows()] == [first]

    monkeypatch.setenv("JUNKDNA_TEST_LOG", str(log))
    rep = run_study(plan, progress=False)  # the resume (in-process: same code, faster test)
    assert (rep.done, rep.skipped) == (2, 1)
    rows = open_store(plan.study).rows()
    assert sorted(r["run_id"] for r in rows) == sorted([first, second, third])
    assert all(r["status"] == "done" for r in rows)
    runs, commits = _log(log, "run"), _log(log, "commit")
    assert runs[first] == 1 and runs[third] == 1  # finished runs are never repeated
    assert runs[second] == 3 and commits[second] == 2  # killed twice, redone, recorded once
    assert (plan.study.output / "runs" / second / "result.json").is_file()
    assert not list((plan.study.output / "runs").glob(".*"))  # no staging folder left over


def test_two_drivers_at_once_never_run_a_run_twice(tmp_path, tiny_model, monkeypatch):
    study = write_study(_folder(tmp_path, tiny_model), sparsities=(0.2, 0.4, 0.6))
    plan = plan_study(load_study(study))
    log = tmp_path / "log"
    monkeypatch.setenv("JUNKDNA_TEST_LOG", str(log))
    proc = _cli(study, {})
    deadline = time.time() + 180
    while not _log(log, "run"):  # the other driver holds a lease: now compete with it
        assert proc.poll() is None and time.time() < deadline, proc.stdout.read().decode()
        time.sleep(0.05)
    mine = run_study(plan, progress=False)
    out = proc.communicate(timeout=300)[0].decode()
    assert proc.returncode == 0, out
    rows = open_store(plan.study).rows()
    assert sorted(r["run_id"] for r in rows) == sorted(r.run_id for r in plan.runs)
    assert set(_log(log, "run").values()) == {1}  # each of the 4 runs executed exactly once
    assert len(_log(log, "run")) == 4
    assert mine.done + mine.skipped < 4  # the subprocess did some of the work


def test_artifact_write_failure_fails_the_run_cleanly_and_a_full_disk_is_retried(
    tmp_path, tiny_model, monkeypatch
):
    """A full disk is the machine's failure (failure_kind "environment"): once space is freed, a
    plain `junkdna run` runs those runs again; --retry-failed is for failures of the runs."""
    from junkdna.study import runner

    study = write_study(_folder(tmp_path, tiny_model), sparsities=(0.5,))
    plan = plan_study(load_study(study))
    real_replace = os.replace

    def disk_full(src, dst):
        if "runs" in str(dst):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(runner.os, "replace", disk_full)
    rep = run_study(plan, progress=False)
    assert (rep.done, rep.failed) == (0, 2)
    rows = open_store(plan.study).rows()
    assert {r["status"] for r in rows} == {"failed"}
    assert all("No space left on device" in r["error"] for r in rows)
    assert all("OSError" in r["traceback"] for r in rows)
    assert {r["failure_kind"] for r in rows} == {"environment"}
    assert not list((plan.study.output / "runs").iterdir())  # staging cleaned up
    monkeypatch.setattr(runner.os, "replace", real_replace)

    rep = run_study(plan, progress=False)  # environment failures: retried without a flag
    assert (rep.done, rep.failed, rep.skipped) == (2, 0, 0)
    rows = open_store(plan.study).rows()
    assert len(rows) == 2 and {r["status"] for r in rows} == {"done"}


def test_exported_table_meets_the_analysis_contract_and_masks_are_reused(tmp_path, tiny_model):
    from junkdna.analysis.normalize import match_references, validate_results
    from junkdna.study.export import results_table

    extra = 'difficulty = [{ setting = "data_adequacy", fraction = 0.5, label = "half" }]'
    folder = _folder(tmp_path, tiny_model)
    study = write_study(folder, sparsities=(0.5,), extra=extra)
    study.write_text(study.read_text().replace("seeds = [1]", "seeds = [1, 2]"))
    plan = plan_study(load_study(study))
    assert plan.summary()["masks"] == 1 and len(plan.runs) == 4
    rep = run_study(plan, progress=False)
    assert rep.done == 4, rep.errors
    store = open_store(plan.study)
    df = results_table(plan, store)
    table = validate_results(df)
    assert len(table) == 4 and set(table["status"]) == {"done"}
    dense = table[table["regime"] == "dense"]
    assert set(dense["method"]) == {"none"} and set(dense["sparsity"]) == {0.0}
    assert set(table["difficulty"]) == {"data_adequacy"} and set(table["level"]) == {"half"}
    # 32 toy training rows, half kept: full / kept = 2
    assert table["difficulty_value"].tolist() == [2.0] * 4
    normalized, unmatched = match_references(table)
    assert len(normalized) == 2 and unmatched.empty
    sparse = [r for r in store.rows() if r["config"]["regime"] == "sparse"]
    assert sorted(r["invariants"]["mask"]["cached"] for r in sparse) == [False, True]
    assert all(r["invariants"]["mask"]["sparsity"] == 0.5 for r in sparse)
    assert all(r["versions"]["torch"] and r["host"] for r in store.rows())


def test_sparsegpt_masks_and_weights_come_back_identical_from_the_cache(tmp_path, tiny_model):
    """A cached SparseGPT result reproduces the freshly pruned model exactly, across heads."""
    import torch

    from junkdna.models import load_model, load_tokenizer
    from junkdna.study import maskcache
    from junkdna.study.spec import PruningPoint

    calib = tmp_path / "calib.txt"
    calib.write_text(" ".join(["the movie was good and the plot was bad"] * 40))
    pruning = PruningPoint("sparsegpt", "unstructured", "layer", 0.5,
                           {"source": str(calib), "nsamples": 4, "seqlen": 16, "seed": 0})  # fmt: skip
    tok = load_tokenizer(str(tiny_model))
    fresh = load_model(str(tiny_model), head="classification", num_labels=2)
    folder = tmp_path / "masks" / "k"
    masks, weights, info = maskcache.get_masks(fresh, tok, pruning, folder, Path, False)
    assert not info["cached"] and weights is not None
    assert (folder / "weights.safetensors").is_file()
    again = load_model(str(tiny_model), head="base")  # another head: names without "bert."
    masks2, weights2, info2 = maskcache.get_masks(again, tok, pruning, folder, Path, False)
    assert info2["cached"]
    maskcache.apply_weights(again, weights2)
    masks2.apply(again)
    p_fresh = dict(fresh.named_parameters())
    for name, p in again.named_parameters():
        if name in masks2:
            assert torch.equal(p, p_fresh["bert." + name]), name
            assert torch.equal(masks2[name], masks["bert." + name])
