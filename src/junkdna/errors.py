"""User-facing errors: a clear message naming the thing and what would be valid; exit code 2."""

from __future__ import annotations

import difflib
import errno
import re
from collections.abc import Iterable


class JunkDNAError(ValueError):
    """Bad input or a violated contract. The CLI prints the message and exits with code 2."""

    exit_code = 2


class InvariantError(JunkDNAError):
    """A regime or mask invariant was violated: the result must not be trusted."""


class UsageError(JunkDNAError):
    """A command line that does not parse (unknown flag, a value of the wrong type)."""


class Unavailable(JunkDNAError):
    """Something a run needs cannot be had on this machine now (a data source that is missing
    or cannot be fetched, the hub offline or unreachable): a failure of the environment, not of
    the science. A study records such a run as an environment failure and runs it again on the
    next ``junkdna run`` (see ``junkdna.study.failures``)."""


class HubError(Unavailable):
    """A model the Hugging Face hub could not give: offline, unknown id, gated, unreachable."""


class NotAvailable(JunkDNAError):
    """Pre-flight: what a study needs and cannot have, one line per missing thing (``lines``);
    the CLI prints each line as an error line."""

    def __init__(self, lines: list[str]):
        super().__init__("; ".join(lines))
        self.lines = list(lines)


def one_line(text: str) -> str:
    """The message on one line: line breaks (and the blanks around them) become one space."""
    return re.sub(r"\s*\n\s*", " ", str(text)).strip()


# What a failed write means and what would help, by errno (the user's disk, not our bug).
_OS_HINTS = {
    errno.ENOSPC: "free some space or choose a folder on another disk",
    errno.EDQUOT: "free some of your quota or choose a folder on another disk",
    errno.EROFS: "choose a folder on a writable file system",
    errno.EACCES: "choose a folder you may write to",
    errno.EPERM: "choose a folder you may write to",
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
    errno.EISDIR: "give a file, not a folder",
    errno.EEXIST: "move it away or choose another path",
    errno.ENAMETOOLONG: "choose a shorter path",
}


def os_error(e: OSError, what: str = "file") -> JunkDNAError | None:
    """The one-line JunkDNAError of a file-system error (full disk, read-only folder, missing
    file ...), naming the file; None for an errno that says nothing about the user's input."""
    hint = _OS_HINTS.get(e.errno) if e.errno is not None else None
    if hint is None:
        return None
    name = e.filename if e.filename is not None else "?"
    reason = (e.strerror or str(e)).lower()
    return JunkDNAError(f"{what} {str(name)!r}: {reason}; {hint}")


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"{hint} Valid: {', '.join(choices)}."


def unknown(kind: str, name: str, choices: Iterable[str]) -> JunkDNAError:
    return JunkDNAError(f"unknown {kind} {name!r}.{did_you_mean(name, choices)}")


class JunkDNADeprecationWarning(FutureWarning):
    """An old spelling that still works (shown by default, unlike DeprecationWarning)."""


def deprecated(old: str, new: str) -> None:
    import warnings

    warnings.warn(
        f"{old} is deprecated; use {new} instead", JunkDNADeprecationWarning, stacklevel=3
    )
