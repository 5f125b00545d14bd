"""Failed runs, said once: what kind of failure a run's error is, which failures are "the same",
the circuit breaker that stops a study whose runs keep failing the same way, and the study's
error log.

* ``failure_kind(e)``: ``"environment"`` for what the machine lacks or could not do (a data
  source missing or not fetchable, the hub offline or unreachable, a full disk, no memory, a
  worker process that died), else None (the run itself failed: a bad value, a non-finite loss,
  a violated invariant). A study retries environment failures on its next ``junkdna run``
  without ``--retry-failed``: fixing the machine is enough.
* ``error_key(text)``: the error with its run-specific parts (run ids, numbers, paths, hex)
  blanked, so that one cause met by many runs is one key.
* ``Tally``: the distinct errors of one ``junkdna run``, each with its count, first run, full
  text, and the length of the current streak of identical failures (the breaker's input).
* ``write_log``: the full text of each distinct error once, in ``<study output>/errors.log``.
"""

from __future__ import annotations

import errno
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENVIRONMENT = "environment"
LOG_NAME = "errors.log"
# Stop a study after this many runs in a row failed with the same error (0: never).
DEFAULT_MAX_SAME_FAILURES = 5

_ENV_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.ENOMEM, errno.EROFS}
_ENV_NAMES = {"OutOfMemoryError", "MemoryError", "ConnectionError", "TimeoutError",
              "OfflineModeIsEnabled", "LocalEntryNotFoundError"}  # fmt: skip


def failure_kind(e: BaseException) -> str | None:
    """``"environment"`` when ``e`` (or an error it was raised from) says the machine lacks
    something; None for a failure of the run itself."""
    from junkdna.errors import Unavailable

    seen: list[BaseException] = []
    x: BaseException | None = e
    while x is not None and x not in seen:
        seen.append(x)
        if isinstance(x, Unavailable | MemoryError | ConnectionError | TimeoutError):
            return ENVIRONMENT
        if isinstance(x, OSError) and x.errno in _ENV_ERRNOS:
            return ENVIRONMENT
        if {c.__name__ for c in type(x).__mro__} & _ENV_NAMES:
            return ENVIRONMENT
        x = x.__cause__ or x.__context__
    return None


_PATH = re.compile(r"(?:[A-Za-z]:)?(?:~|\.{1,2})?(?:/[^\s'\":,;()\[\]]+)+")
_HEX = re.compile(r"\b(?:0x[0-9a-fA-F]+|[0-9a-fA-F]*\d[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*|"
                  r"[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\d[0-9a-fA-F]*)\b")  # fmt: skip
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?")


def error_key(text: str | None) -> str:
    """The error without what differs from run to run: paths, hex strings (run ids, mask keys,
    addresses) and numbers (sparsities, seeds, sizes, times) become placeholders, blanks are
    collapsed. Two runs that failed for one cause have one key."""
    text = str(text or "").strip()
    text = _PATH.sub("<path>", text)
    text = _HEX.sub("<id>", text)
    text = _NUMBER.sub("<n>", text)
    return " ".join(text.split())


@dataclass
class Distinct:
    """One distinct error of a study's invocation."""

    key: str
    error: str  # the first run's error text
    kind: str | None
    traceback: str | None
    runs: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.runs)

    def line(self) -> str:
        """One line: count, kind, the (first run's) error."""
        label = " [environment]" if self.kind == ENVIRONMENT else ""
        first = " ".join(str(self.error).split())
        if len(first) > 400:
            first = first[:397] + "..."
        return f"{self.count} run(s){label}: {first}"


@dataclass
class Tally:
    """The failures of one invocation, by distinct error, and the streak of the last one."""

    threshold: int = DEFAULT_MAX_SAME_FAILURES  # 0: the breaker never trips
    distinct: dict[str, Distinct] = field(default_factory=dict)
    streak_key: str | None = None
    streak: int = 0
    tripped: Distinct | None = None

    def add(self, run_id: str, row: dict[str, Any]) -> Distinct | None:
        """Count a finished run; returns its Distinct when it is the first of its kind."""
        if row.get("status") == "done":
            self.streak_key, self.streak = None, 0
            return None
        error = str(row.get("error"))
        key = error_key(error)
        new = key not in self.distinct
        if new:
            kind = row.get("failure_kind")
            self.distinct[key] = Distinct(key, error, kind, row.get("traceback"))
        d = self.distinct[key]
        d.runs.append(run_id)
        self.streak = self.streak + 1 if key == self.streak_key else 1
        self.streak_key = key
        if self.threshold and self.streak >= self.threshold and self.tripped is None:
            self.tripped = d
        return d if new else None

    def lines(self) -> list[str]:
        """One line per distinct error, the most frequent first."""
        return [d.line() for d in sorted(self.distinct.values(), key=lambda d: -d.count)]


def what_to_fix(d: Distinct) -> str:
    if d.kind == ENVIRONMENT:
        return "this machine lacks something the runs need (see the error); provide it"
    return "fix what the error names (the study's settings, a file, the code)"


def write_log(folder: Path, tally: Tally, study: str) -> Path | None:
    """Append the full text (error and traceback) of each distinct error of this invocation to
    ``folder/errors.log``, once each; returns the log's path (None: nothing failed, or it could
    not be written, which must not hide the failures themselves)."""
    if not tally.distinct:
        return None
    path = folder / LOG_NAME
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    parts = []
    for d in sorted(tally.distinct.values(), key=lambda d: -d.count):
        runs = ", ".join(d.runs[:10]) + (f" and {d.count - 10} more" if d.count > 10 else "")
        kind = "environment (retried by the next `junkdna run`)" if d.kind == ENVIRONMENT else (
            "the run (kept as failed; `junkdna run --retry-failed` runs it again)"
        )  # fmt: skip
        parts.append(
            f"=== {stamp} study {study}: {d.count} run(s) failed with this error\n"
            f"kind: {kind}\nruns: {runs}\nerror: {d.error}\n"
            + (f"{d.traceback.rstrip()}\n" if d.traceback else "")
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n".join(parts) + "\n")
    except OSError:
        return None
    return path
