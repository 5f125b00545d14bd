"""`junkdna export STUDY --csv [PATH] | --parquet [PATH] [--items [PATH]]`: one row per finished
run (and, with --items, one row per run and evaluated item)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "export",
        help="write the study's results table (one row per finished run)",
        description="The tidy table the analysis reads: run_id, model, task, difficulty, level, "
        "method, structure, scope, sparsity, regime, seed, metric, score, status, and more.",
        examples=[
            "junkdna export studies/quickstart.toml --csv out/quickstart.csv",
        ],
    )
    p.add_argument("study", help="study file (.toml)")
    fmt = p.add_mutually_exclusive_group(required=True)
    fmt.add_argument("--csv", nargs="?", const="", default=None, metavar="PATH")
    fmt.add_argument("--parquet", nargs="?", const="", default=None, metavar="PATH")
    p.add_argument(
        "--items",
        nargs="?",
        const="",
        default=None,
        metavar="PATH",
        help="also write each run's per-item outcomes (run_id, item, key, metric, outcome), the "
        "unit of an evaluation-only setting's test; default: <output>/items.<csv|parquet>",
    )
    return p


def run(args) -> int:
    from junkdna.errors import JunkDNAError
    from junkdna.paths import atomic_path
    from junkdna.study import load_study, plan_study
    from junkdna.study.driver import db_path, open_store
    from junkdna.study.export import results_table

    plan = plan_study(load_study(args.study))
    if not db_path(plan.study).is_file():
        raise JunkDNAError(f"study {plan.study.name!r} has no results yet (run it first)")
    df = results_table(plan, open_store(plan.study))
    kind = "csv" if args.csv is not None else "parquet"
    given = args.csv if kind == "csv" else args.parquet
    path = Path(given) if given else plan.study.output / f"results.{kind}"
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False) if kind == "csv" else df.to_parquet(tmp, index=False)
    print(f"{len(df)} run(s) -> {path}")
    if args.items is not None:
        from junkdna.tasks.metrics import items_to_frame

        items = items_to_frame(open_store(plan.study).items(set(df["run_id"])))
        target = Path(args.items) if args.items else plan.study.output / f"items.{kind}"
        with atomic_path(target) as tmp:
            if target.suffix == ".parquet":
                items.to_parquet(tmp, index=False)
            else:
                items.to_csv(tmp, index=False)
        print(f"{items['run_id'].nunique()} run(s), {len(items)} item outcome(s) -> {target}")
    return 0
