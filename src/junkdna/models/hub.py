"""The Hugging Face hub: offline mode, its failures in one line, and retries of transient ones."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence

from junkdna.errors import HubError
from junkdna.models.sources import valid_models

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- the hub

# Waits before the 2nd, 3rd and 4th try of a hub download that failed for a passing reason.
RETRY_DELAYS_S = (1.0, 2.0, 4.0)


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")


def _offline_error(name: str) -> HubError:
    return HubError(
        f"model {name!r}: not an alias or a local path, and the Hugging Face hub is offline "
        f"(HF_HUB_OFFLINE=1) with no cached copy: hub offline or unknown id; {valid_models()} "
        "(unset HF_HUB_OFFLINE to download it)"
    )


def check_cached_when_offline(name: str) -> None:
    """Offline, a hub id must be in the local cache: fail in milliseconds, with one line, rather
    than deep inside transformers."""
    if not hub_offline():
        return
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(name, "config.json"), str):
        raise _offline_error(name)


def _chain(e: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    while e is not None and e not in out:
        out.append(e)
        e = e.__cause__ or e.__context__
    return out


def _status(e: BaseException) -> int | None:
    response = getattr(e, "response", None)
    return getattr(response, "status_code", None)


def hub_failure(e: BaseException) -> str | None:
    """What a failed hub call means: ``offline``, ``gated``, ``not_found``, ``denied``,
    ``transient`` (worth another try: no connection, a timeout, HTTP 429 or 5xx) or None (not a
    hub failure). transformers wraps the hub's errors in OSError; the cause chain keeps them."""
    from huggingface_hub import errors as hf

    chain = _chain(e)
    if any(isinstance(x, hf.OfflineModeIsEnabled) for x in chain) or (
        hub_offline() and any(isinstance(x, hf.LocalEntryNotFoundError) for x in chain)
    ):
        return "offline"
    if any(isinstance(x, hf.GatedRepoError) for x in chain):  # before its base class
        return "gated"
    if any(isinstance(x, hf.RepositoryNotFoundError | hf.RevisionNotFoundError) for x in chain):
        return "not_found"
    for x in chain:
        status = _status(x)
        if status in (401, 403):
            return "denied"
        if status is not None and (status == 429 or status >= 500):
            return "transient"
    for x in chain:
        names = {c.__name__ for c in type(x).__mro__}  # httpx(2) and requests, not imported
        if isinstance(x, ConnectionError | TimeoutError) or names & _TRANSIENT:
            return "transient"
    return None


# Base classes of the HTTP clients' errors that a later try may not meet: no connection, a
# timeout, a connection dropped halfway (httpx: TransportError; requests: ConnectionError, ...).
_TRANSIENT = {"TransportError", "ConnectionError", "Timeout", "TimeoutException",
              "ChunkedEncodingError"}  # fmt: skip


def _hub_error(name: str, kind: str, e: BaseException, tries: int) -> HubError:
    first = next((str(x) for x in _chain(e) if str(x)), type(e).__name__).splitlines()[0]
    if kind == "offline":
        return _offline_error(name)
    if kind == "gated":
        return HubError(
            f"model {name!r} is a gated repository on the Hugging Face hub: accept its terms at "
            f"https://huggingface.co/{name} and set HF_TOKEN to a token with access"
        )
    if kind == "not_found":
        return HubError(
            f"model {name!r}: unknown hub id (no such repository, or a private one without "
            f"HF_TOKEN); check the spelling, or give {valid_models().removeprefix('valid: ')}"
        )
    if kind == "denied":
        return HubError(
            f"model {name!r}: the Hugging Face hub refused access (HTTP {_first_status(e)}); "
            "set HF_TOKEN to a token that may read it"
        )
    return HubError(
        f"model {name!r}: the Hugging Face hub could not be reached after {tries} tries "
        f"({first[:200]}); check the network and run again, or set HF_HUB_OFFLINE=1 to use the "
        "cache"
    )


def _first_status(e: BaseException) -> int | None:
    return next((s for s in map(_status, _chain(e)) if s is not None), None)


def hub_call(
    fn: Callable[[], object],
    name: str,
    *,
    delays: Sequence[float] = RETRY_DELAYS_S,
    sleep: Callable[[float], None] = time.sleep,
):
    """``fn()`` (a download from the hub), tried again after ``delays`` when it fails for a
    passing reason (no connection, a timeout, HTTP 429/5xx); a permanent failure (offline, unknown
    id, gated, refused) or the last passing one is a one-line HubError that says which. Other
    errors pass through unchanged."""
    for attempt in range(len(delays) + 1):
        try:
            return fn()
        except Exception as e:
            kind = hub_failure(e)
            if kind is None:
                raise
            if kind == "transient" and attempt < len(delays):
                log.warning(
                    "model %r: the hub failed for a passing reason (%s); try %d of %d in %g s",
                    name, type(e).__name__, attempt + 2, len(delays) + 1, delays[attempt],
                )  # fmt: skip
                sleep(delays[attempt])
                continue
            raise _hub_error(name, kind, e, attempt + 1) from e
    raise AssertionError("unreachable")
