"""The driver: claim pending runs, hand them to an executor, record each finished one.

Only the driver writes the database. Resuming is running the driver again: finished runs are
skipped, runs whose driver died are reclaimed (see ``Store.claim``), failed runs are skipped
unless ``retry_failed`` (runs that failed for their environment are not: they run again).

Failures are said once (``junkdna.study.failures``): the first run of each distinct error is
logged, the report counts runs per distinct error, the full text of each goes to the study's
``errors.log``. After ``max_same_failures`` runs in a row failed with the same error, the driver
claims no new run, records the runs still in flight, and stops (``RunReport.stopped``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from junkdna.errors import JunkDNAError
from junkdna.study.executors import make_executor
from junkdna.study.failures import DEFAULT_MAX_SAME_FAILURES, Distinct, Tally, write_log
from junkdna.study.plan import Plan
from junkdna.study.runner import job_for
from junkdna.study.store import Store

log = logging.getLogger(__name__)
HEARTBEAT_S = 30.0


def db_path(study) -> Path:
    return study.output / "study.db"


def open_store(study) -> Store:
    from junkdna.paths import check_writable_folder

    if not db_path(study).exists():  # a new study: its folder must be writable
        check_writable_folder(study.output, f"study {study.name!r} output folder")
    return Store(db_path(study))


@dataclass
class RunReport:
    done: int = 0
    failed: int = 0
    skipped: int = 0  # finished before this call
    elsewhere: int = 0  # leased by another live driver when this one ran out of work
    errors: list[str] = field(default_factory=list)  # "run_id: error", one per failed run
    distinct: list[str] = field(default_factory=list)  # one line per distinct error, with count
    stopped: Distinct | None = None  # the error that tripped the circuit breaker
    not_started: int = 0  # runs left pending when the breaker stopped the study
    log: Path | None = None  # the study's errors.log, when this call wrote to it


def run_study(
    plan: Plan,
    *,
    workers: int | None = None,
    executor: str = "local",
    address: str | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    max_same_failures: int = DEFAULT_MAX_SAME_FAILURES,
) -> RunReport:
    from tqdm import tqdm

    study = plan.study
    if max_same_failures < 0:
        raise JunkDNAError(f"--max-same-failures must be 0 (never stop) or more, got "
                           f"{max_same_failures}")  # fmt: skip
    ex = make_executor(executor, workers, address)  # bad flags fail before anything is written
    try:
        store = open_store(study)
    except BaseException:
        ex.shutdown()
        raise
    jobs = {r.run_id: job_for(r, study.output) for r in plan.runs}
    statuses = store.statuses()
    finished = {"done"} if retry_failed else {"done", "failed"}
    retried = store.environment_failures()  # failed for the machine: run again
    report = RunReport(skipped=sum(statuses.get(r) in finished and r not in retried for r in jobs))
    tally = Tally(max_same_failures)
    bar = tqdm(
        total=len(jobs), initial=report.skipped, desc=study.name, unit="run",
        disable=not progress, dynamic_ncols=True,
    )  # fmt: skip
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(store.path, store.owner, stop), daemon=True)
    beat.start()
    in_flight: dict[str, Any] = {}
    tried: set[str] = set()
    try:
        while True:
            free = ex.capacity - len(in_flight)
            if free > 0 and tally.tripped is None:
                # Each run once per call: one that failed for its environment stays claimable.
                todo = [r for r in jobs if r not in tried]
                for run_id in store.claim(todo, free, retry_failed):
                    tried.add(run_id)
                    in_flight[run_id] = ex.submit(jobs[run_id])
            if not in_flight:
                break
            for run_id, row in ex.wait(in_flight):
                del in_flight[run_id]
                if store.record(run_id, row):
                    _count(report, tally, run_id, row)
                bar.update(1)
                bar.set_postfix(done=report.done, failed=report.failed, refresh=False)
    finally:
        stop.set()
        ex.shutdown()
        bar.close()
        try:
            store.release()  # runs still in flight (Ctrl-C, error) become pending again
        except JunkDNAError as e:  # e.g. a full disk: our leases die with this process anyway
            log.debug("could not release the leases: %s", e)
    statuses = store.statuses()
    report.elsewhere = sum(statuses.get(r) == "running" for r in jobs)
    report.distinct = tally.lines()
    report.stopped = tally.tripped
    if tally.tripped is not None:
        report.not_started = sum(r not in statuses for r in jobs)
    store.close()
    report.log = write_log(study.output, tally, study.name)
    return report


def _count(report: RunReport, tally: Tally, run_id: str, row: dict[str, Any]) -> None:
    if row["status"] == "done":
        report.done += 1
    else:
        report.failed += 1
        report.errors.append(f"{run_id}: {row.get('error')}")
    first = tally.add(run_id, row)
    if first is not None:  # the first run of a distinct error: said once, counted after
        kind = " (environment)" if first.kind else ""
        log.warning(
            "run %s failed%s: %s (later runs failing the same way are counted, not shown)",
            run_id, kind, " ".join(str(row.get("error")).split())[:400],
        )  # fmt: skip


def _heartbeat(path: Path, owner: str, stop: threading.Event) -> None:
    """Keep our leases fresh for drivers on other hosts (own connection: sqlite3 connections are
    not shared across threads)."""
    import sqlite3
    import time

    while not stop.wait(HEARTBEAT_S):
        try:
            db = sqlite3.connect(path, timeout=60)
            with db:
                db.execute("UPDATE leases SET heartbeat = ? WHERE owner = ?", (time.time(), owner))
            db.close()
        except sqlite3.Error as e:  # a busy database must not kill the study
            log.debug("heartbeat failed: %s", e)
