"""file_lock: parallel workers on a cold cache take turns (real processes)."""

from __future__ import annotations

import subprocess
import sys
import time

WORKER = """
import sys, time
from pathlib import Path
from junkdna.paths import file_lock
lock, log = Path(sys.argv[1]), Path(sys.argv[2])
with file_lock(lock):
    with open(log, "a") as f:
        f.write("in\\n")
        f.flush()
        time.sleep(0.5)
        f.write("out\\n")
"""


def test_file_lock_serializes_processes(tmp_path):
    log = tmp_path / "log.txt"
    cmd = [sys.executable, "-c", WORKER, str(tmp_path / "cache" / "x.lock"), str(log)]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd) for _ in range(3)]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    # Never two inside at once: the log alternates in/out, and the turns add up.
    assert log.read_text().split() == ["in", "out"] * 3
    assert time.perf_counter() - t0 >= 1.5
