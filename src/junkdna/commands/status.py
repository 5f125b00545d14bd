"""`junkdna status STUDY`: done / running / failed / pending."""

from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "status",
        help="how far a study is: done, running, failed, pending",
        examples=["junkdna status studies/quickstart.toml"],
    )
    p.add_argument("study", help="study file (.toml)")
    return p


def run(args) -> int:
    from junkdna.study import load_study, plan_study
    from junkdna.study.driver import db_path, open_store
    from junkdna.study.export import status_counts, warnings_of

    plan = plan_study(load_study(args.study))
    if not db_path(plan.study).is_file():
        print(f"study {plan.study.name}: {len(plan.runs)} runs, none started")
        return 0
    store = open_store(plan.study)
    c = status_counts(plan, store)
    print(f"study {plan.study.name}: " + ", ".join(f"{k} {v}" for k, v in c.items()))
    by_id = plan.by_id()
    rows = [row for row in store.rows() if row["run_id"] in by_id]
    for row in rows:
        if row["status"] == "failed":
            first = (row["error"] or "").splitlines()[0][:160]
            print(f"  failed {row['run_id']} {by_id[row['run_id']].describe()}: {first}")
    # Done, but with a score that cannot be right (tasks.plausibility): never silently "done".
    flagged = [(row, w) for row in rows if row["status"] == "done" for w in warnings_of(row)]
    if flagged:
        print(f"  {len(flagged)} done run(s) score below their baseline (check them first):")
    for row, w in flagged:
        print(f"  below baseline {row['run_id']} {by_id[row['run_id']].describe()}: {w['message']}")
    return 0
