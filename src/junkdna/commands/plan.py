"""`junkdna plan STUDY`: the expanded grid, shared masks and the estimated cost (nothing runs)."""

from __future__ import annotations

import argparse
from collections import Counter


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "plan",
        help="validate a study file and print its grid (runs, shared masks, estimated cost)",
        description="Validate STUDY and expand its grid without loading any model or data. The "
        "cost estimate uses measured run times from the study's database, when it has some; "
        "for runs on a GPU or of a model in the cost table (src/junkdna/study/cost_table.py) it also "
        "prints an estimated GPU time on one A100-class GPU (an estimate, not a measurement). "
        "It also runs `junkdna run`'s pre-flight: what the runs need and cannot be had on this "
        "machine is listed, one line each (the plan still exits 0: it is worth reading on a "
        "machine that will not run it).",
        examples=[
            "junkdna plan studies/quickstart.toml",
            "junkdna plan studies/quickstart.toml --list",
        ],
    )
    p.add_argument("study", help="study file (.toml)")
    p.add_argument("--list", action="store_true", help="list every run")
    return p


def run(args) -> int:
    from junkdna.study import load_study, plan_study
    from junkdna.study.costs import estimate_gpu
    from junkdna.study.driver import db_path, open_store
    from junkdna.study.export import estimate_cost, status_counts
    from junkdna.study.plan import measured_notes

    study = load_study(args.study)
    plan = plan_study(study)
    s = plan.summary()
    print(f"study {study.name}: {s['runs']} runs -> {study.output}")
    for exp, n in s["by_experiment"].items():
        print(f"  experiment {exp}: {n} runs")
    print("  by regime: " + ", ".join(f"{r} {n}" for r, n in s["by_regime"].items()))
    print(
        f"  masks: {s['masks']} computed once for {s['masked_runs']} masked runs "
        f"({s['shared_masks']} shared by more than one run)"
    )
    store = open_store(study) if db_path(study).is_file() else None
    if store is not None:
        c = status_counts(plan, store)
        print("  status: " + ", ".join(f"{k} {v}" for k, v in c.items() if v))
    cost = estimate_cost(plan, store)
    if cost is None or (cost["pending"] and cost["unestimated"] == cost["pending"]):
        print(
            "  estimated cost: unknown (no comparable measured runs yet; run a few, then plan again)"
        )
    else:
        extra = f", {cost['unestimated']} without a comparable run" if cost["unestimated"] else ""
        print(
            f"  estimated cost: {cost['seconds'] / 3600:.2f} h of single-worker time for "
            f"{cost['pending']} runs not done{extra} (from measured run times)"
        )
    gpu = estimate_gpu(plan)
    if gpu is not None:
        print("  " + gpu.describe())
        for why in gpu.unestimated[:3]:
            print(f"    not estimated: {why}")
        if len(gpu.unestimated) > 3:
            print(f"    (and {len(gpu.unestimated) - 3} more not estimated)")
    for note in measured_notes(plan):
        print(note)
    for line in preflight_lines(plan):
        print(line)
    if args.list:
        models = Counter()
        for r in plan.runs:
            models[r.config["model"]] += 1
            print(f"  {r.run_id}  {r.describe()}")
    return 0


def preflight_lines(plan) -> list[str]:
    """`junkdna run`'s pre-flight, as a section of the plan: what cannot be had (and that a run
    would stop), or that everything is here or fetchable."""
    from junkdna.commands.run import preflight

    pre = preflight(plan, retry_failed=False)
    if not pre.checked:
        return []
    if pre.missing:
        n = len(pre.missing)
        return [
            f"  pre-flight: {n} thing(s) cannot be had on this machine; `junkdna run` would "
            "stop before its first run (exit 2):"
        ] + [f"    {line}" for line in pre.lines()]
    fetch = ", ".join(t.describe() for t in pre.fetch[:3])
    more = f" and {len(pre.fetch) - 3} more" if len(pre.fetch) > 3 else ""
    return [
        "  pre-flight: every model, task and data source is here"
        + (f" or fetched on first use ({fetch}{more})" if fetch else "")
    ]
