"""`junkdna report STUDY | RESULTS.csv | RESULTS.parquet`: analyze the finished runs; print the
report's path and the verdict."""

from __future__ import annotations

import argparse
from pathlib import Path

TABLES = (".csv", ".parquet")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "report",
        help="write the study's HTML/Markdown report and print its verdict",
        description="Analyze a study's finished runs, or any results table in the columns that "
        "`junkdna export` writes (a .csv or .parquet file), and write the report.",
    )
    p.add_argument("study", help="study file (.toml), or a results table (.csv / .parquet)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder (default: <output>/report; for a table: <table>-report beside it)")  # fmt: skip
    p.add_argument("--epsilon", type=float, default=0.01, help="tolerated normalized loss")
    p.add_argument(
        "--normalize",
        choices=("normalized", "above-baseline"),
        default="normalized",
        help="what a two-level test compares: score / dense score (the paper's, default) or the "
        "share of the dense score above the majority baseline kept",
    )
    p.add_argument("--json", type=Path, default=None, metavar="PATH",
                   help="also write every test and every curve point as JSON")  # fmt: skip
    return p


def run(args) -> int:
    from junkdna.analysis.report import build_report
    from junkdna.provenance import versions

    source = Path(args.study)
    if source.suffix in TABLES:
        df, out, provenance, lmc, primary = _from_table(source, args)
        title = f"junkdna report: {source.name}"
    else:
        df, out, provenance, lmc, primary = _from_study(source, args)
        title = f"junkdna report: {provenance['study']}"
    paths = build_report(
        df,
        out,
        {**provenance, **versions()},
        title=title,
        epsilon=args.epsilon,
        lmc=lmc or None,
        quantity=args.normalize,
        primary=primary,
        json_path=args.json,
    )
    verdict = paths["verdict"]
    text = verdict.read_text().strip() if isinstance(verdict, Path) else str(verdict)
    print(f"report: {paths['html']}")
    if args.json is not None:
        print(f"json: {args.json}")
    print(text)
    return 0


def _from_table(path: Path, args):
    import pandas as pd

    from junkdna.errors import JunkDNAError

    if not path.is_file():
        raise JunkDNAError(f"results table {str(path)!r} does not exist")
    try:
        df = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    except Exception as e:  # a damaged or foreign file: say which and why, in one line
        raise JunkDNAError(f"results table {str(path)!r} cannot be read: {e}") from None
    if df.empty:
        raise JunkDNAError(f"results table {str(path)!r} has no rows")
    out = args.out or path.with_name(f"{path.stem}-report")
    return df, out, {"results table": str(path), "runs": len(df)}, None, ()


def _from_study(path: Path, args):
    from junkdna.errors import JunkDNAError
    from junkdna.study import load_study, plan_study
    from junkdna.study.driver import db_path, open_store
    from junkdna.study.export import results_table, status_counts
    from junkdna.study.lmc import load_study_lmc

    study = load_study(path)
    plan = plan_study(study)
    if not db_path(study).is_file():
        raise JunkDNAError(f"study {study.name!r} has no results yet (run it first)")
    store = open_store(study)
    df = results_table(plan, store)
    if df.empty:
        raise JunkDNAError(f"study {study.name!r} has no finished runs yet")
    provenance = {"study file": str(study.path), "study": study.name,
                  "runs": status_counts(plan, store)}  # fmt: skip
    # Figure 10 from `junkdna lmc STUDY`, for the pairs of runs still in this study.
    lmc = load_study_lmc(study.output, {r.run_id for r in plan.runs})
    out = args.out or study.output / "report"
    return df, out, provenance, lmc, study.spec.study.primary
