"""`junkdna status STUDY`: done / running / failed / pending."""

from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("status", help="how far a study is: done, running, failed, pending")
    p.add_argument("study", help="study file (.toml)")
    return p


def run(args) -> int:
    from junkdna.study import load_study, plan_study
    from junkdna.study.driver import db_path, open_store
    from junkdna.study.export import status_counts

    plan = plan_study(load_study(args.study))
    if not db_path(plan.study).is_file():
        print(f"study {plan.study.name}: {len(plan.runs)} runs, none started")
        return 0
    store = open_store(plan.study)
    c = status_counts(plan, store)
    print(f"study {plan.study.name}: " + ", ".join(f"{k} {v}" for k, v in c.items()))
    by_id = plan.by_id()
    for row in store.rows():
        if row["status"] == "failed" and row["run_id"] in by_id:
            first = (row["error"] or "").splitlines()[0][:160]
            print(f"  failed {row['run_id']} {by_id[row['run_id']].describe()}: {first}")
    return 0
