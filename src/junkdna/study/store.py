"""The study database: SQLite (WAL), one row per finished run, leases for runs in progress.

Guarantees (tested with real processes and SIGKILL):

* a run is recorded only when complete, in one transaction (row written, lease dropped);
  a process killed at any moment leaves either the whole row or nothing;
* a run id is a primary key: no duplicate row, ever; a finished run is never overwritten (a
  failed one only by a retry);
* runs are claimed under ``BEGIN IMMEDIATE`` (one writer at a time), so two drivers on one study
  never claim the same run; a lease whose process is dead (same host: pid and its start time;
  other hosts: no heartbeat for ``LEASE_TIMEOUT_S``) is reclaimed;
* a corrupt file, a foreign SQLite file or a newer schema is a clear error, not a crash, and
  the file is never written; a full disk or a read-only folder is a clear error too;
* a study folder on a network file system (NFS, SMB, sshfs: SQLite's locking is not safe there)
  is refused, unless ``JUNKDNA_ALLOW_NETWORK_FS=1``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from junkdna.errors import JunkDNAError
from junkdna.study import hooks

SCHEMA_VERSION = 1
APPLICATION_ID = 0x4A4B444E  # "JKDN": marks the file as a junkdna study database
LEASE_TIMEOUT_S = 600.0  # a lease from another host without a heartbeat this long is stale
_JSON = ("config", "meta", "metrics", "invariants", "timings", "versions")

# Per-item outcomes of a finished run (``tasks.metrics.ItemOutcomes``): keys as little-endian
# uint64, outcomes as little-endian float32, ``n`` of each; written in the run's transaction.
_ITEMS = """CREATE TABLE IF NOT EXISTS items (
    run_id TEXT PRIMARY KEY, metric TEXT NOT NULL, n INTEGER NOT NULL,
    keys BLOB NOT NULL, outcomes BLOB NOT NULL
)"""
_SCHEMA = """
CREATE TABLE schema (version INTEGER NOT NULL, created REAL NOT NULL, junkdna TEXT);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    experiment TEXT, mask_key TEXT,
    config TEXT NOT NULL, meta TEXT NOT NULL,
    metrics TEXT, invariants TEXT, timings TEXT, versions TEXT,
    git_commit TEXT, host TEXT, pid INTEGER,
    error TEXT, traceback TEXT,
    started REAL, finished REAL,
    failure_kind TEXT
);
CREATE TABLE leases (
    run_id TEXT PRIMARY KEY, owner TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
    pid_start TEXT, claimed REAL NOT NULL, heartbeat REAL NOT NULL
);
"""


# File systems on which SQLite's locking (and so "a run is claimed once") cannot be trusted.
NETWORK_FS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "afs", "fuse.s3fs", "fuse.gcsfuse"}
)
ALLOW_NETWORK_FS = "JUNKDNA_ALLOW_NETWORK_FS"


def mount_of(path: str | Path, mounts: str) -> tuple[str, str] | None:
    """(mount point, file system type) of the mount holding ``path`` in a ``/proc/mounts``
    table (the longest mount point that contains it)."""
    path = Path(os.path.realpath(path))
    best: tuple[str, str] | None = None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])
        if path.is_relative_to(point) and (best is None or len(point) >= len(best[0])):
            best = (point, fields[2])
    return best


def check_local_filesystem(folder: str | Path, mounts: str | None = None) -> None:
    """Refuse a study folder on a network file system (``mounts``: a ``/proc/mounts`` table;
    default: this machine's, where there is one)."""
    if os.environ.get(ALLOW_NETWORK_FS) == "1":
        return
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text()
        except OSError:
            return  # not Linux: nothing to detect
    found = mount_of(folder, mounts)
    if found is not None and found[1] in NETWORK_FS:
        raise JunkDNAError(
            f"study folder {str(folder)!r} is on a network file system ({found[1]} at "
            f"{found[0]}), where SQLite's locking is not safe (a run could run twice, the "
            "database could break); give the study an output folder on a local disk ([study] "
            f"output), or set {ALLOW_NETWORK_FS}=1 if one driver alone will use it"
        )


def _write_failure(path: Path, e: sqlite3.Error) -> JunkDNAError | None:
    """A one-line error for a database that cannot be written (full disk, read-only folder)."""
    code = getattr(e, "sqlite_errorname", "") or ""
    text = str(e).lower()
    if code == "SQLITE_FULL" or "disk is full" in text:
        why, hint = "the disk is full", "free some space and run again (finished runs are kept)"
    elif code.startswith("SQLITE_READONLY") or "readonly" in text:
        why, hint = "it is read-only", "choose an output folder you may write to"
    elif code.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        why, hint = "it cannot be opened", "choose an output folder you may write to"
    elif code.startswith("SQLITE_IOERR") or "disk i/o error" in text:
        why, hint = "a disk I/O error", "check the disk, or choose another output folder"
    else:
        return None
    return JunkDNAError(f"study database {str(path)!r}: {why} ({e}); {hint}")


def _pid_start(pid: int) -> str | None:
    """The process start time (Linux), so that a recycled pid is not taken for the old one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22 of stat, after the command name


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return start is None or _pid_start(pid) in (None, start)


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.owner = f"{self.host}:{self.pid}:{time.time_ns()}"
        created, parent = [], self.path.parent
        while not parent.exists() and parent != parent.parent:
            created.append(parent)
            parent = parent.parent
        check_local_filesystem(self.path.parent)  # before anything is made there
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existed = self.path.exists()
        self.db = None
        try:
            self.db = sqlite3.connect(self.path, timeout=120, isolation_level=None)
            self._open()
        except (sqlite3.Error, JunkDNAError) as e:
            if self.db is not None:
                self.db.close()
            if not existed:  # a database this call began: nothing half-made stays behind
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                for folder in created:  # deepest first
                    try:
                        folder.rmdir()
                    except OSError:
                        break
            if isinstance(e, JunkDNAError):
                raise
            raise _write_failure(self.path, e) or JunkDNAError(
                f"study database {str(self.path)!r} is corrupt or not a SQLite file ({e}); "
                "it was left unchanged: move it away to start the study afresh (its finished runs "
                "are lost), or restore a backup"
            ) from None

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ opening
    def _open(self) -> None:
        self.db.execute("PRAGMA busy_timeout = 120000")
        tables = {
            r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        app = self.db.execute("PRAGMA application_id").fetchone()[0]
        if not tables and app == 0:
            self._create()
            return
        if app != APPLICATION_ID or not {"schema", "runs", "leases"} <= tables:
            raise JunkDNAError(
                f"{str(self.path)!r} is a SQLite database, but not a junkdna study database "
                f"(tables: {', '.join(sorted(tables)) or 'none'}); give the study its own output "
                "folder"
            )
        bad = self.db.execute("PRAGMA quick_check").fetchone()[0]
        if bad != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {bad}")
        row = self.db.execute("SELECT version, junkdna FROM schema").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            from junkdna.version import __version__

            version, by = (None, None) if row is None else row
            newer = isinstance(version, int) and version > SCHEMA_VERSION
            raise JunkDNAError(
                f"study database {str(self.path)!r} has schema version {version}"
                + (f", written by a newer junkdna ({by})" if newer else "")
                + f"; this junkdna ({__version__}) reads version {SCHEMA_VERSION}: "
                + ("upgrade junkdna to continue this study" if newer else "restore a backup")
                + "; the file was left unchanged"
            )
        self.db.execute("PRAGMA journal_mode = WAL")
        if "items" not in tables:  # a database from before per-item outcomes: add the table
            self.db.execute(_ITEMS)
        columns = {r[1] for r in self.db.execute("PRAGMA table_info(runs)")}
        if "failure_kind" not in columns:  # from before failure kinds: every failure is the run's
            try:
                self.db.execute("ALTER TABLE runs ADD COLUMN failure_kind TEXT")
            except sqlite3.OperationalError as e:  # another driver added it just now
                if "duplicate column" not in str(e):
                    raise

    def _create(self) -> None:
        from junkdna.version import __version__

        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have created it between our check and our lock.
            if not self.db.execute("SELECT 1 FROM sqlite_master WHERE name='schema'").fetchone():
                for stmt in filter(str.strip, _SCHEMA.split(";")):
                    self.db.execute(stmt)
                self.db.execute(_ITEMS)
                self.db.execute(
                    "INSERT INTO schema VALUES (?, ?, ?)",
                    (SCHEMA_VERSION, time.time(), __version__),
                )
                self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------ leases
    def _transaction(self):
        return _Immediate(self.db, self.path)

    def _reclaim_stale(self) -> int:
        now, stale = time.time(), []
        for run_id, host, pid, start, beat in self.db.execute(
            "SELECT run_id, host, pid, pid_start, heartbeat FROM leases"
        ):
            # Same host: ask the OS. Other hosts: trust the heartbeat (the driver beats every 30 s).
            same = host == self.host
            if (same and not _alive(pid, start)) or (not same and now - beat > LEASE_TIMEOUT_S):
                stale.append((run_id,))
        self.db.executemany("DELETE FROM leases WHERE run_id = ?", stale)
        return len(stale)

    def claim(self, candidates: Iterable[str], n: int, retry_failed: bool = False) -> list[str]:
        """Lease up to ``n`` of ``candidates`` (in order) that are neither finished nor leased.
        A run that failed for its environment (``failure_kind`` "environment": a missing source,
        the hub offline, a full disk) is not finished: it is claimed again, like a pending one."""
        with self._transaction():
            self._reclaim_stale()
            where = "status = 'done'" if retry_failed else _FINISHED
            busy = {r[0] for r in self.db.execute(f"SELECT run_id FROM runs WHERE {where}")}
            busy |= {r[0] for r in self.db.execute("SELECT run_id FROM leases")}
            chosen = [c for c in candidates if c not in busy][:n]
            now, start = time.time(), _pid_start(self.pid)
            self.db.executemany(
                "INSERT INTO leases VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(c, self.owner, self.host, self.pid, start, now, now) for c in chosen],
            )
        return chosen

    def release(self, run_ids: Iterable[str] | None = None) -> None:
        """Drop our leases (all of them by default): the runs become pending again."""
        with self._transaction():
            if run_ids is None:
                self.db.execute("DELETE FROM leases WHERE owner = ?", (self.owner,))
            else:
                self.db.executemany(
                    "DELETE FROM leases WHERE run_id = ? AND owner = ?",
                    [(r, self.owner) for r in run_ids],
                )

    # ------------------------------------------------------------------ results
    def record(self, run_id: str, row: dict[str, Any]) -> bool:
        """Write one finished run (status done or failed) and drop its lease, atomically.

        Returns False (and writes nothing) if the run is already done: a finished run is kept
        once. A failed row is replaced only by a new outcome of the same run (a retry)."""
        values = {
            k: json.dumps(row.get(k), default=str) if k in _JSON else row.get(k) for k in _COLUMNS
        }
        values["run_id"] = run_id
        with self._transaction():
            old = self.db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            written = old is None or old[0] == "failed"
            if written:
                cols = ", ".join(_COLUMNS)
                marks = ", ".join("?" for _ in _COLUMNS)
                self.db.execute(
                    f"INSERT OR REPLACE INTO runs ({cols}) VALUES ({marks})",
                    [values[c] for c in _COLUMNS],
                )
                self.db.execute("DELETE FROM items WHERE run_id = ?", (run_id,))
                items = row.get("items") if row.get("status") == "done" else None
                if items is not None:
                    keys, outcomes = items.to_bytes()
                    self.db.execute(
                        "INSERT INTO items VALUES (?, ?, ?, ?, ?)",
                        (run_id, items.metric, len(items), keys, outcomes),
                    )
            self.db.execute(
                "DELETE FROM leases WHERE run_id = ? AND owner = ?", (run_id, self.owner)
            )
            hooks.checkpoint("commit", run_id)  # tests: SIGKILL here must leave nothing behind
        return written

    def rows(self) -> list[dict[str, Any]]:
        cur = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM runs ORDER BY finished")
        out = []
        for values in cur:
            row = dict(zip(_COLUMNS, values, strict=True))
            for k in _JSON:
                row[k] = json.loads(row[k]) if row[k] is not None else None
            out.append(row)
        return out

    def items(self, run_ids: Iterable[str] | None = None) -> dict[str, Any]:
        """{run id: ItemOutcomes} of the finished runs that recorded them (all, or ``run_ids``)."""
        from junkdna.tasks.metrics import ItemOutcomes

        wanted = None if run_ids is None else set(run_ids)
        out = {}
        for run_id, metric, n, keys, outcomes in self.db.execute(
            "SELECT run_id, metric, n, keys, outcomes FROM items"
        ):
            if wanted is not None and run_id not in wanted:
                continue
            res = ItemOutcomes.from_bytes(metric, keys, outcomes)
            if len(res) != n:
                raise JunkDNAError(
                    f"study database {str(self.path)!r}: the items of run {run_id} are damaged "
                    f"({len(res)} outcomes stored, {n} expected)"
                )
            out[run_id] = res
        return out

    def environment_failures(self) -> set[str]:
        """Ids of the runs whose last try failed for their environment (retried by a plain
        ``junkdna run``)."""
        q = "SELECT run_id FROM runs WHERE status = 'failed' AND failure_kind = 'environment'"
        return {r[0] for r in self.db.execute(q)}

    def statuses(self) -> dict[str, str]:
        """run id -> done / failed / running (a live lease)."""
        out = {r: s for r, s in self.db.execute("SELECT run_id, status FROM runs")}
        with self._transaction():
            self._reclaim_stale()
        for (run_id,) in self.db.execute("SELECT run_id FROM leases"):
            out.setdefault(run_id, "running")
        return out


_COLUMNS = (
    "run_id", "status", "experiment", "mask_key", "config", "meta", "metrics", "invariants",
    "timings", "versions", "git_commit", "host", "pid", "error", "traceback", "started", "finished",
    "failure_kind",
)  # fmt: skip
# Runs a plain `junkdna run` does not run again: done, or failed for a reason of the run itself.
_FINISHED = "status = 'done' OR (status = 'failed' AND failure_kind IS NOT 'environment')"


class _Immediate:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock up front (no upgrade deadlocks)."""

    def __init__(self, db: sqlite3.Connection, path: Path):
        self.db, self.path = db, path

    def __enter__(self):
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            err = _write_failure(self.path, e)
            if err is None:
                raise
            raise err from None
        return self.db

    def __exit__(self, exc_type, exc, tb):
        try:
            self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        except sqlite3.Error as e:
            if exc_type is None:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise _write_failure(self.path, e) or e from None
            # ROLLBACK failed after an error: SQLite rolled back itself; report the first error
        if isinstance(exc, sqlite3.Error):
            err = _write_failure(self.path, exc)
            if err is not None:
                raise err from None
        return False
