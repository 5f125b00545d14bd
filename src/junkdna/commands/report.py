"""`junkdna report STUDY | RESULTS.csv | RESULTS.parquet [--items ITEMS]`: analyze the finished
runs; print the report's path and the verdict."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TABLES = (".csv", ".parquet")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "report",
        help="write the study's HTML/Markdown report and print its verdict",
        description="Analyze a study's finished runs, or any results table in the columns that "
        "`junkdna export` writes (a .csv or .parquet file), and write the report.",
        examples=[
            "junkdna report studies/quickstart.toml",
            "junkdna report out/quickstart.csv --out out/report",
        ],
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
    p.add_argument(
        "--items",
        type=Path,
        default=None,
        metavar="PATH",
        help="with a results table: the per-item outcomes `junkdna export --items` wrote (the "
        "unit of an evaluation-only setting's test); a study reads its own",
    )
    return p


@dataclass
class Source:
    """What the report is built from: a study's database, or a results table."""

    results: Any  # pd.DataFrame
    out: Path
    provenance: dict[str, Any]
    title: str
    primary: Any = ()
    lmc: dict | None = None
    lmc_tests: Any = None
    items: dict = field(default_factory=dict)
    sections: list = field(default_factory=list)  # more report sections (a study's atlas)
    claims: list = field(default_factory=list)  # a replication's [[claim]] tables
    lmc_curves: Any = None  # one row per (pair, alpha), for the replication's Figure 10
    lmc_records: Any = None  # one row per interpolated pair, for the replication's barrier test


def run(args) -> int:
    from junkdna.analysis.report import build_report
    from junkdna.errors import JunkDNAError
    from junkdna.provenance import versions

    path = Path(args.study)
    if path.suffix in TABLES:
        src = _from_table(path, args)
    else:
        if args.items is not None:
            raise JunkDNAError("--items is for a results table; a study reads its own items")
        src = _from_study(path, args)
    paths = build_report(
        src.results,
        src.out,
        {**src.provenance, **versions()},
        title=src.title,
        epsilon=args.epsilon,
        lmc=src.lmc or None,
        lmc_tests=src.lmc_tests,
        quantity=args.normalize,
        primary=src.primary,
        json_path=args.json,
        items=src.items,
        sections=src.sections,
    )
    print(f"report: {paths['html']}")
    if args.json is not None:
        print(f"json: {args.json}")
    print(Path(paths["verdict"]).read_text().strip())
    if src.claims:
        _replication(src, args)
    return 0


def _replication(src: Source, args) -> None:
    """The replication table of a study with ``[[claim]]`` tables (``analysis.replication``)."""
    from junkdna.analysis.pipeline import analyze
    from junkdna.analysis.replication import (
        claim_figure,
        claim_table,
        summary_line,
        write_replication,
    )
    from junkdna.provenance import versions

    a = analyze(src.results, epsilon=args.epsilon, quantity=args.normalize,
                primary=src.primary, items=src.items)  # fmt: skip
    table = claim_table(src.claims, a.results, a, src.lmc_records)
    pngs = {}
    for claim in src.claims:
        png = claim_figure(claim, a, src.lmc_curves)
        if png is not None:
            pngs[claim.id] = png
    title = src.title.replace("junkdna report", "junkdna replication")
    paths = write_replication(table, pngs, src.out, title, {**src.provenance, **versions()})
    print(f"replication: {paths['html']}")
    print(summary_line(table))


def _read_table(path: Path, what: str):
    import pandas as pd

    from junkdna.errors import JunkDNAError

    if not path.is_file():
        raise JunkDNAError(f"{what} {str(path)!r} does not exist")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype={"key": str} if what == "items table" else None)
    except Exception as e:  # a damaged or foreign file: say which and why, in one line
        raise JunkDNAError(f"{what} {str(path)!r} cannot be read: {e}") from None


def _from_table(path: Path, args) -> Source:
    from junkdna.errors import JunkDNAError

    df = _read_table(path, "results table")
    if df.empty:
        raise JunkDNAError(f"results table {str(path)!r} has no rows")
    items = {}
    if args.items is not None:
        from junkdna.tasks.metrics import items_from_frame

        items = items_from_frame(_read_table(args.items, "items table"), str(args.items))
    out = args.out or path.with_name(f"{path.stem}-report")
    provenance = {"results table": str(path), "runs": len(df)}
    if args.items is not None:
        provenance["items table"] = str(args.items)
    return Source(df, out, provenance, f"junkdna report: {path.name}", items=items)


def _from_study(path: Path, args) -> Source:
    from junkdna.errors import JunkDNAError
    from junkdna.study import load_study, plan_study
    from junkdna.study.driver import db_path, open_store
    from junkdna.study.export import results_table, status_counts
    from junkdna.study.lmc import load_study_lmc, load_study_lmc_records

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
    run_ids = {r.run_id for r in plan.runs}
    lmc = load_study_lmc(study.output, run_ids)
    records = load_study_lmc_records(study.output, run_ids, specs=plan.by_id())
    return Source(
        df,
        args.out or study.output / "report",
        provenance,
        f"junkdna report: {study.name}",
        primary=study.spec.study.primary,
        lmc=lmc,
        lmc_tests=_lmc_tests(records, df),
        items=store.items(set(df["run_id"])),
        sections=_study_sections(study),
        claims=list(study.spec.claim),
        lmc_curves=_lmc_curves(records, lmc) if study.spec.claim else None,
        lmc_records=records,
    )


def _lmc_curves(records, curves):
    """One row per (pair, alpha): level, regime, seed, alpha, loss (the pairs' records and their
    curves, {pair name: LMCResult})."""
    import pandas as pd

    rows = []
    for r in records.itertuples():
        res = curves.get(str(r.pair))
        for a, loss in zip(res.alphas, res.losses, strict=True) if res is not None else ():
            rows.append({"level": r.level, "regime": r.regime, "seed": r.seed,
                         "alpha": float(a), "loss": float(loss)})  # fmt: skip
    return pd.DataFrame(rows, columns=["level", "regime", "seed", "alpha", "loss"])


def _study_sections(study) -> list:
    """The study's atlas section (``junkdna run`` computes the atlas after the runs)."""
    from junkdna.atlas.report import study_section
    from junkdna.atlas.study import atlas_config, load_study_atlas

    if atlas_config(study) is None:
        return []
    loaded = load_study_atlas(study)
    if loaded is None:
        print(f"note: study {study.name!r} has an [atlas] table but no atlas yet; "
              "`junkdna run` computes it after the runs")  # fmt: skip
        return []
    return [study_section(*loaded)]


def _lmc_tests(records, df):
    """The exploratory test "larger loss barrier on the harder task" over seeds
    (``analysis.lmc_tests``), the harder task being the one with the larger difficulty measure of
    the hypothesis tests; None when lmc never ran or no group holds two tasks/levels."""
    from junkdna.analysis.lmc_tests import difficulty_mapping, lmc_tests

    if records.empty:
        return None
    tests = lmc_tests(records, difficulty_mapping(df))
    return None if tests.empty else tests
