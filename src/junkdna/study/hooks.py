"""Test hooks at the points where a crash matters (no effect unless the variables are set).

* ``JUNKDNA_TEST_LOG=FILE``: append ``POINT RUN_ID PID`` at every checkpoint (counts executions).
* ``JUNKDNA_TEST_PAUSE=POINT:K`` (with ``JUNKDNA_TEST_PAUSE_FILE=FILE``): the K-th time this
  process reaches POINT, write FILE ("PID RUN_ID") and sleep, so that a test can SIGKILL it
  exactly there. Only one process ever pauses (the first to claim ``FILE.claimed``): a retried
  run, in a fresh worker, goes on.
* ``JUNKDNA_TEST_FAIL=POINT:RUN_ID:HOW[,...]``: every time RUN_ID (``*``: any run) reaches
  POINT, fail it deterministically: ``raise`` a RuntimeError (its message names the run), ``env``
  raise an OSError "no space left on device" (a failure of the environment), or ``exit`` the
  process at once (as a segfault or an out-of-memory kill would).

Points: ``run`` (a run has started its work), ``commit`` (a result row is written but its
transaction is not committed yet).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

_seen: Counter = Counter()
# Variables a worker on another process or node needs for the hooks to reach it.
VARIABLES = (
    "JUNKDNA_TEST_LOG",
    "JUNKDNA_TEST_PAUSE",
    "JUNKDNA_TEST_PAUSE_FILE",
    "JUNKDNA_TEST_FAIL",
)


def checkpoint(point: str, run_id: str) -> None:
    log = os.environ.get("JUNKDNA_TEST_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{point} {run_id} {os.getpid()}\n")
    for spec in filter(None, os.environ.get("JUNKDNA_TEST_FAIL", "").split(",")):
        where, failing, how = (spec.split(":") + ["raise"])[:3]
        if where == point and failing in (run_id, "*"):
            if how == "exit":
                os._exit(70)
            if how == "env":
                import errno

                raise OSError(errno.ENOSPC, f"No space left on device (injected, run {run_id})")
            raise RuntimeError(f"test failure injected at {point} of run {run_id}")
    pause = os.environ.get("JUNKDNA_TEST_PAUSE")
    if not pause:
        return
    where, _, k = pause.partition(":")
    if where != point:
        return
    _seen[point] += 1
    if _seen[point] == int(k or 1):
        marker = os.environ.get("JUNKDNA_TEST_PAUSE_FILE")
        if marker:
            try:  # one process pauses, ever: the first to claim the marker
                os.close(os.open(marker + ".claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return  # another process paused already: go on
            tmp = Path(f"{marker}.{os.getpid()}.tmp")
            tmp.write_text(f"{os.getpid()} {run_id}")
            tmp.replace(marker)  # whole, or not there
        time.sleep(3600)
