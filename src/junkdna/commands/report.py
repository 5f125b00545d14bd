"""`junkdna report STUDY`: analyze the finished runs; print the report's path and the verdict."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "report",
        help="write the study's HTML/Markdown report and print its verdict",
    )
    p.add_argument("study", help="study file (.toml)")
    p.add_argument("--out", type=Path, default=None, help="folder (default: <output>/report)")
    p.add_argument("--epsilon", type=float, default=0.01, help="tolerated normalized loss")
    p.add_argument(
        "--normalize",
        choices=("normalized", "above-baseline"),
        default="normalized",
        help="what a two-level test compares: score / dense score (the paper's, default) or the "
        "share of the dense score above the majority baseline kept",
    )
    return p


def run(args) -> int:
    from junkdna.analysis.report import build_report
    from junkdna.errors import JunkDNAError
    from junkdna.provenance import versions
    from junkdna.study import load_study, plan_study
    from junkdna.study.driver import db_path, open_store
    from junkdna.study.export import results_table, status_counts
    from junkdna.study.lmc import load_study_lmc

    study = load_study(args.study)
    plan = plan_study(study)
    if not db_path(study).is_file():
        raise JunkDNAError(f"study {study.name!r} has no results yet (run it first)")
    store = open_store(study)
    df = results_table(plan, store)
    if df.empty:
        raise JunkDNAError(f"study {study.name!r} has no finished runs yet")
    provenance = {
        "study file": str(study.path),
        "study": study.name,
        "runs": status_counts(plan, store),
        **versions(),
    }
    out = args.out or study.output / "report"
    # Figure 10 from `junkdna lmc STUDY`, for the pairs of runs still in this study.
    lmc = load_study_lmc(study.output, {r.run_id for r in plan.runs})
    paths = build_report(
        df,
        out,
        provenance,
        title=f"junkdna report: {study.name}",
        epsilon=args.epsilon,
        lmc=lmc or None,
        quantity=args.normalize,
        primary=study.spec.study.primary,
    )
    verdict = paths["verdict"]
    text = verdict.read_text().strip() if isinstance(verdict, Path) else str(verdict)
    print(f"report: {paths['html']}")
    print(text)
    return 0
