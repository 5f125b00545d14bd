"""The study database: corrupt and foreign files are clear errors; runs are claimed exclusively;
leases of dead processes are reclaimed; a finished run is recorded once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from junkdna.errors import JunkDNAError
from junkdna.study.store import Store


def _row(status="done", **kw):
    return {"status": status, "config": {"x": 1}, "meta": {}, "metrics": {"accuracy": 0.5}, **kw}


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "study.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JunkDNAError, match="corrupt or not a SQLite file"):
        Store(path)


def test_truncated_database_is_a_clear_error(tmp_path):
    path = tmp_path / "study.db"
    s = Store(path)
    for i in range(200):
        s.record(f"r{i}", _row(error="x" * 500))
    s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    data = path.read_bytes()
    path.write_bytes(data[:4096] + b"\xff" * 8192 + data[4096 + 8192 :])
    with pytest.raises(JunkDNAError, match="corrupt"):
        Store(path).rows()


def test_foreign_sqlite_file_is_a_clear_error(tmp_path):
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE customers (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(JunkDNAError, match="not a junkdna study database.*customers"):
        Store(path)


def test_cli_reports_a_corrupt_database_with_exit_code_2(tmp_path, capsys):
    import sys as _sys

    _sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from study_fixtures import write_study

    from junkdna.cli import main

    study = write_study(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "study.db").write_bytes(b"garbage" * 1000)
    assert main(["status", str(study)]) == 2
    assert "corrupt or not a SQLite file" in capsys.readouterr().err


def test_claims_are_exclusive_and_records_are_kept_once(tmp_path):
    a, b = Store(tmp_path / "s.db"), Store(tmp_path / "s.db")
    ids = [f"r{i}" for i in range(5)]
    got_a = a.claim(ids, 2)
    got_b = b.claim(ids, 10)
    assert got_a == ["r0", "r1"] and got_b == ["r2", "r3", "r4"]
    assert a.claim(ids, 10) == []  # everything is leased by a live process (this one)
    assert a.record("r0", _row())
    assert not b.record("r0", _row(metrics={"accuracy": 0.9}))  # done runs are never replaced
    rows = a.rows()
    assert [r["run_id"] for r in rows] == ["r0"] and rows[0]["metrics"] == {"accuracy": 0.5}
    assert a.statuses() == {"r0": "done", "r1": "running", "r2": "running", "r3": "running",
                            "r4": "running"}  # fmt: skip


def test_failed_runs_are_skipped_unless_retried_and_then_replaced(tmp_path):
    s = Store(tmp_path / "s.db")
    s.claim(["r0"], 1)
    s.record("r0", _row("failed", error="OSError: disk full"))
    assert s.claim(["r0"], 1) == []
    assert s.claim(["r0"], 1, retry_failed=True) == ["r0"]
    assert s.record("r0", _row())
    assert [(r["run_id"], r["status"]) for r in s.rows()] == [("r0", "done")]


def test_leases_of_dead_processes_are_reclaimed_live_ones_are_not(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    s = Store(tmp_path / "s.db")
    with s.db:
        s.db.execute("INSERT INTO leases VALUES ('r0', 'x', ?, ?, NULL, 0, 0)", (s.host, dead.pid))
        s.db.execute("INSERT INTO leases VALUES ('r1', 'y', ?, ?, NULL, 0, 0)", (s.host, s.pid))
    other = Store(tmp_path / "s.db")
    assert other.claim(["r0", "r1"], 5) == ["r0"]  # r1's holder (this process) is alive
    owners = dict(other.db.execute("SELECT run_id, owner FROM leases"))
    assert owners == {"r0": other.owner, "r1": "y"}


def test_schema_version_mismatch_is_a_clear_error(tmp_path):
    s = Store(tmp_path / "s.db")
    with s.db:
        s.db.execute("UPDATE schema SET version = 99")
    s.close()
    with pytest.raises(JunkDNAError, match="schema version 99"):
        Store(tmp_path / "s.db")
