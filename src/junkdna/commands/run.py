"""`junkdna run STUDY [--workers N] [--executor local|ray] [--address A] [--retry-failed]
[--skip-unavailable] [--max-same-failures N]`."""

from __future__ import annotations

import argparse
import sys

from junkdna.study.failures import DEFAULT_MAX_SAME_FAILURES, LOG_NAME


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "run",
        help="run (or resume) a study",
        description="Run every run of STUDY that is not finished yet. Safe to interrupt and to "
        "start again (finished runs are kept once, interrupted ones are redone) and to start "
        "twice at once (runs are claimed, never run twice). Before the first run, every model, "
        "task and data source the runs need is checked once (pre-flight): what cannot be had "
        "is one line each, and nothing runs (exit 2). Runs that failed for their environment "
        "(a missing source, the hub offline, a full disk) are run again by the next call.",
        examples=[
            "junkdna run studies/quickstart.toml --workers 2",
        ],
    )
    p.add_argument("study", help="study file (.toml)")
    p.add_argument("--workers", type=int, default=None, help="parallel runs (local default 1)")
    p.add_argument("--executor", default="local", help="local or ray")
    p.add_argument("--address", default=None, help="Ray cluster address (e.g. auto)")
    p.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    p.add_argument(
        "--skip-unavailable",
        action="store_true",
        help="leave out the runs that need what pre-flight found missing, run the rest",
    )
    p.add_argument(
        "--max-same-failures",
        type=int,
        default=DEFAULT_MAX_SAME_FAILURES,
        metavar="N",
        help="stop the study after N runs in a row failed with the same error (default "
        f"{DEFAULT_MAX_SAME_FAILURES}; 0: never stop)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args) -> int:
    from junkdna.errors import JunkDNAError, NotAvailable
    from junkdna.study import load_study, plan_study
    from junkdna.study.driver import run_study

    if args.max_same_failures < 0:
        raise JunkDNAError(
            f"--max-same-failures must be 0 (never stop) or more, got {args.max_same_failures}"
        )
    plan = plan_study(load_study(args.study))
    pre = preflight(plan, args.retry_failed)
    if pre.missing:
        blocked = pre.blocked
        if not args.skip_unavailable or len(blocked) == len(plan.runs):  # none could ever run
            raise NotAvailable(pre.lines())
        import dataclasses

        plan = dataclasses.replace(plan, runs=[r for r in plan.runs if r.run_id not in blocked])
        print(f"left out {len(blocked)} run(s) that need what cannot be had (--skip-unavailable):")
        for line in pre.lines(skip_hint=False):
            print(f"  {line}")
    rep = run_study(
        plan,
        workers=args.workers,
        executor=args.executor,
        address=args.address,
        retry_failed=args.retry_failed,
        progress=not args.quiet,
        max_same_failures=args.max_same_failures,
    )
    print(
        f"study {plan.study.name}: {rep.done} run(s) done now, {rep.failed} failed, "
        f"{rep.skipped} finished before"
        + (f", {rep.elsewhere} still running elsewhere" if rep.elsewhere else "")
    )
    for line in rep.distinct:  # one line per distinct error, not one per run
        print(f"  failed {line}")
    if rep.log is not None:
        print(f"  the full text of each error: {rep.log}")
    if rep.stopped is not None:
        print(stopped_message(rep, args.study, args.max_same_failures), file=sys.stderr)
        return 1
    if plan.study.spec.atlas is not None and not rep.elsewhere:
        from junkdna.atlas.study import ensure_atlas

        folder = ensure_atlas(plan, progress=None if args.quiet else print)
        print(f"atlas: {folder}")
    return 1 if rep.failed else 0


def preflight(plan, retry_failed: bool):
    """Pre-flight over the runs still to run (finished ones need nothing); reads the study's
    database only if it exists (nothing is created before the checks pass)."""
    from junkdna.study.driver import db_path, open_store
    from junkdna.study.preflight import check

    finished: set[str] = set()
    if db_path(plan.study).is_file():
        store = open_store(plan.study)
        try:
            statuses, retried = store.statuses(), store.environment_failures()
        finally:
            store.close()
        keep = {"done"} if retry_failed else {"done", "failed"}
        finished = {r for r, s in statuses.items() if s in keep and r not in retried}
    return check(plan, finished)


def stopped_message(rep, study: str, threshold: int) -> str:
    """The circuit breaker's one message: the error, how many runs it hit, what to fix, how to
    resume."""
    from junkdna.study.failures import what_to_fix

    d = rep.stopped
    error = " ".join(str(d.error).split())
    if len(error) > 400:
        error = error[:397] + "..."
    where = f" (full text: {rep.log})" if rep.log is not None else f" (see {LOG_NAME})"
    return (
        f"junkdna run: stopped after {threshold} runs in a row failed with the same error "
        f"({d.count} run(s) in all): {error}{where}; {what_to_fix(d)}, then "
        f"`junkdna run {study}` resumes "
        f"({rep.not_started} run(s) not started yet; --max-same-failures 0 never stops)"
    )
