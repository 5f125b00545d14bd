"""`junkdna run STUDY [--workers N] [--executor local|ray] [--address A] [--retry-failed]`."""

from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "run",
        help="run (or resume) a study",
        description="Run every run of STUDY that is not finished yet. Safe to interrupt and to "
        "start again (finished runs are kept once, interrupted ones are redone) and to start "
        "twice at once (runs are claimed, never run twice).",
        examples=[
            "junkdna run studies/quickstart.toml --workers 2",
        ],
    )
    p.add_argument("study", help="study file (.toml)")
    p.add_argument("--workers", type=int, default=None, help="parallel runs (local default 1)")
    p.add_argument("--executor", default="local", help="local or ray")
    p.add_argument("--address", default=None, help="Ray cluster address (e.g. auto)")
    p.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def run(args) -> int:
    from junkdna.study import load_study, plan_study
    from junkdna.study.driver import run_study

    plan = plan_study(load_study(args.study))
    rep = run_study(
        plan,
        workers=args.workers,
        executor=args.executor,
        address=args.address,
        retry_failed=args.retry_failed,
        progress=not args.quiet,
    )
    print(
        f"study {plan.study.name}: {rep.done} run(s) done now, {rep.failed} failed, "
        f"{rep.skipped} finished before"
        + (f", {rep.elsewhere} still running elsewhere" if rep.elsewhere else "")
    )
    for line in rep.errors:
        print(f"  failed {line}")
    if plan.study.spec.atlas is not None and not rep.elsewhere:
        from junkdna.atlas.study import ensure_atlas

        folder = ensure_atlas(plan, progress=None if args.quiet else print)
        print(f"atlas: {folder}")
    return 1 if rep.failed else 0
