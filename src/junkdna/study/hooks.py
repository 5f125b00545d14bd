"""Test hooks at the points where a crash matters (no effect unless the variables are set).

* ``JUNKDNA_TEST_LOG=FILE``: append ``POINT RUN_ID PID`` at every checkpoint (counts executions).
* ``JUNKDNA_TEST_PAUSE=POINT:K`` (with ``JUNKDNA_TEST_PAUSE_FILE=FILE``): the K-th time this
  process reaches POINT, write FILE and sleep, so that a test can SIGKILL it exactly there.

Points: ``run`` (a run has started its work), ``commit`` (a result row is written but its
transaction is not committed yet).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

_seen: Counter = Counter()


def checkpoint(point: str, run_id: str) -> None:
    log = os.environ.get("JUNKDNA_TEST_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{point} {run_id} {os.getpid()}\n")
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
            Path(marker).write_text(f"{os.getpid()} {run_id}")
        time.sleep(3600)
