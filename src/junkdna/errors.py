"""User-facing errors: a clear message naming the thing and what would be valid; exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class JunkDNAError(ValueError):
    """Bad input or a violated contract. The CLI prints the message and exits with code 2."""

    exit_code = 2


class InvariantError(JunkDNAError):
    """A regime or mask invariant was violated: the result must not be trusted."""


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
