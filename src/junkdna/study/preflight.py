"""Pre-flight: before a study's first run, can every model, tokenizer, task and data source its
runs need be had? Each distinct thing is resolved once, cheaply (no model or data is loaded, no
file is downloaded): present on this machine, fetchable (a pinned registry package, the hub when
it is reachable), or missing.

``check(plan)`` returns a ``Preflight``: what is missing, which runs need it and what to do, one
line each (``lines()``). ``junkdna run`` stops on them with exit 2 before anything is recorded
(or, with ``--skip-unavailable``, leaves those runs out); ``junkdna plan`` prints them.

A model's tokenizer is loaded from the model's own source (``models.load_tokenizer``), so it is
resolved with its model. A hub model or a hub task is present when the hub cache holds it; with
the hub offline (``HF_HUB_OFFLINE`` / ``HF_DATASETS_OFFLINE``) an uncached one is missing; online,
the hub is asked once (a few seconds at most) whether it can be reached at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from junkdna.errors import JunkDNAError
from junkdna.study.plan import Plan
from junkdna.study.spec import RunSpec

HUB_PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Thing:
    """One thing runs need: its kind ("model", "task", "data source", "calibration text"), its
    name, and where it comes from."""

    kind: str
    name: str
    where: str = ""

    def describe(self) -> str:
        where = f" ({self.where})" if self.where and self.where != self.name else ""
        return f"{self.kind} {self.name!r}{where}"


@dataclass(frozen=True)
class Verdict:
    state: str  # "present", "fetch" (fetched on first use) or "missing"
    why: str = ""  # missing: why it cannot be had
    fix: str = ""  # missing: what to do


PRESENT = Verdict("present")


@dataclass
class Missing:
    thing: Thing
    verdict: Verdict
    runs: list[str] = field(default_factory=list)


@dataclass
class Preflight:
    checked: int  # runs checked (those still to run)
    missing: list[Missing]
    fetch: list[Thing]  # fetched on first use (registry packages, the hub)

    @property
    def blocked(self) -> set[str]:
        """Ids of the runs that need something missing."""
        return {r for m in self.missing for r in m.runs}

    def lines(self, skip_hint: bool = True) -> list[str]:
        """One line per missing thing: what, why, how many runs need it, what to do; the last
        one says how many runs could run without it (``--skip-unavailable``)."""
        out = []
        for m in self.missing:
            n = len(m.runs)
            of = f" of {self.checked}" if n != self.checked else ""
            out.append(
                f"{m.thing.describe()} cannot be had: {m.verdict.why}; needed by {n}{of} "
                f"run(s); {m.verdict.fix}"
            )
        rest = self.checked - len(self.blocked)
        if out and skip_hint and rest > 0:
            out[-1] += f" (--skip-unavailable runs the other {rest} run(s))"
        return out


def check(plan: Plan, skip: Iterable[str] = ()) -> Preflight:
    """Resolve what the plan's runs need (all but the run ids in ``skip``: finished ones)."""
    skip = set(skip)
    runs = [r for r in plan.runs if r.run_id not in skip]
    seen: dict[Thing, Verdict] = {}
    missing: dict[Thing, Missing] = {}
    fetch: list[Thing] = []
    for run in runs:
        for thing, resolve in needs(run):
            if thing not in seen:
                seen[thing] = resolve()
                if seen[thing].state == "fetch":
                    fetch.append(thing)
            verdict = seen[thing]
            if verdict.state == "missing":
                missing.setdefault(thing, Missing(thing, verdict)).runs.append(run.run_id)
    return Preflight(len(runs), list(missing.values()), fetch)


# ----------------------------------------------------------------------------- what a run needs

Need = tuple[Thing, Callable[[], Verdict]]


def needs(run: RunSpec) -> list[Need]:
    """The things one run needs, each with how to resolve it."""
    out: list[Need] = []
    ref = run.model_ref
    out.append((Thing("model", run.model, ref), lambda: _model(ref)))
    if "file" in run.task:
        for key in ("file", "validation"):
            if run.task.get(key):
                path = run.file(run.task[key])
                out.append((Thing("task file", run.task[key], str(path)), lambda p=path: _file(p)))
    else:
        out += _task_needs(run.task["name"])
    cal = run.pruning.calibration if run.pruning is not None else None
    if cal is not None and str(cal.get("source")) not in ("task", "None"):
        source = str(cal["source"])
        if source == "default":
            from junkdna.data.texts import DEFAULT_CALIBRATION, TEXTS

            out += _source_needs(TEXTS.get(DEFAULT_CALIBRATION).source)
        else:
            path = run.file(source)
            out.append((Thing("calibration text", source, str(path)), lambda p=path: _file(p)))
    if run.masks_from is not None:
        folder = Path(run.masks_from)
        out.append((Thing("masks", str(folder)), lambda: _file(folder / "masks.safetensors")))
    return out


def _task_needs(name: str) -> list[Need]:
    from junkdna.tasks.registry import get_spec
    from junkdna.tasks.spec import BigBenchSource, HubSource, PackageSource

    spec = get_spec(name)
    src = spec.source
    thing = Thing("task", name, src.describe() if not isinstance(src, PackageSource) else "")
    parts = getattr(src, "parts", None)
    if parts is not None:  # a mix of tasks: each part
        return [n for _, part in parts for n in _task_needs(part)]
    if isinstance(src, HubSource):
        return [(thing, lambda: _hub_dataset(src.path, src.config, name))]
    if spec.offline and _prepared(spec):  # prepared once: its source is not read again
        return [(thing, lambda: PRESENT)]
    if isinstance(src, PackageSource):
        return _source_needs(src.source)
    if isinstance(src, BigBenchSource):
        return _source_needs("bigbench")
    return [(thing, lambda: PRESENT)]


def _prepared(spec) -> bool:
    from junkdna.paths import home

    return (home() / "tasks" / spec.name / f"v{spec.version}" / "meta.json").is_file()


def _source_needs(name: str) -> list[Need]:
    from junkdna.data import sources

    src = sources.get_source(name)
    return [(Thing("data source", name, src.spec), lambda: _source(src))]


# ----------------------------------------------------------------------------- resolving


def _file(path: Path) -> Verdict:
    if path.is_file():
        return PRESENT
    return Verdict("missing", f"{path} does not exist", "give an existing file")


def _source(src) -> Verdict:
    from junkdna.data import sources

    path = sources.archive_path(src)
    state = sources.state(src)
    if state == "present":
        return PRESENT
    local = path.parent != sources.home_of(src)  # named by an environment variable
    if local or not src.served:
        what = "does not match its pinned sha256" if state == "corrupt" else "is missing"
        return Verdict("missing", f"{path} {what}", sources.what_to_do(src, path))
    if src.registry == "npm":
        import shutil

        if shutil.which("npm") is None:
            return Verdict(
                "missing", "it is not on this machine and npm, which fetches it, is not installed",
                "install Node.js and npm, or " + sources.what_to_do(src, path),
            )  # fmt: skip
    return Verdict("fetch")  # fetched from its registry (and verified) on first use


def _model(ref: str) -> Verdict:
    from junkdna.models.hub import hub_offline
    from junkdna.models.sources import is_hub, resolve

    try:
        src = resolve(ref)
    except JunkDNAError as e:
        return Verdict("missing", str(e), "give an alias, a model folder or a hub id")
    if not is_hub(src):
        return PRESENT
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(ref, "config.json"), str):
        return PRESENT
    return _from_hub(
        "run once with the hub reachable to cache it (unset HF_HUB_OFFLINE), or use an offline "
        "model: an alias (minilm, smollm2-135m) or a model folder",
        hub_offline(),
    )


def datasets_offline() -> bool:
    from junkdna.models.hub import hub_offline

    return hub_offline() or os.environ.get("HF_DATASETS_OFFLINE", "").upper() in (
        "1", "ON", "YES", "TRUE",
    )  # fmt: skip


def _hub_dataset(path: str, config: str | None, task: str) -> Verdict:
    if _dataset_cached(path, config):
        return PRESENT
    from junkdna.tasks.spec import SPECS

    twin = f"{task}_val"  # the offline copy of its validation split, where there is one
    if twin in SPECS and SPECS.get(twin).offline:
        instead = f"use {twin} (offline)"
    else:
        instead = "use an offline task (see `junkdna tasks`)"
    return _from_hub(
        "run once with the hub reachable (unset HF_HUB_OFFLINE and HF_DATASETS_OFFLINE) to cache "
        f"it, or {instead}",
        datasets_offline(),
    )


def _dataset_cached(path: str, config: str | None) -> bool:
    """A cheap look at the caches: the datasets library's prepared copy, or the hub's files."""
    hf_home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")).expanduser()
    prepared = Path(os.environ.get("HF_DATASETS_CACHE", hf_home / "datasets")).expanduser()
    folder = prepared / path.replace("/", "___")
    if config is not None:
        folder = folder / config
    if folder.is_dir() and any(folder.iterdir()):
        return True
    hub = Path(os.environ.get("HF_HUB_CACHE", hf_home / "hub")).expanduser()
    return (hub / f"datasets--{path.replace('/', '--')}" / "snapshots").is_dir()


def _from_hub(fix: str, offline: bool) -> Verdict:
    if offline:
        return Verdict("missing", "the hub is offline and it is not cached", fix)
    reachable, why = _hub_reachable()
    if reachable:
        return Verdict("fetch")
    return Verdict("missing", f"the hub cannot be reached ({why}) and it is not cached", fix)


_PROBE: list[tuple[bool, str]] = []


def _hub_reachable() -> tuple[bool, str]:
    """Whether the hub answers at all (asked once per process, a few seconds at most)."""
    if not _PROBE:
        import urllib.error
        import urllib.request

        from huggingface_hub import constants

        try:
            req = urllib.request.Request(constants.ENDPOINT, method="HEAD")
            urllib.request.urlopen(req, timeout=HUB_PROBE_TIMEOUT_S).close()
            _PROBE.append((True, ""))
        except urllib.error.HTTPError:  # it answered (with an error status): reachable
            _PROBE.append((True, ""))
        except Exception as e:  # no route, no name, a timeout
            reason = getattr(e, "reason", e)
            why = " ".join(str(reason).split())[:120] or type(reason).__name__
            _PROBE.append((False, f"{constants.ENDPOINT}: {why}"))
    return _PROBE[0]
