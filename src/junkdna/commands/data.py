"""`junkdna data prepare TASK...`: fetch the BIG-bench archive once, build the offline splits."""

from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "data",
        help="prepare offline task data",
        description="Prepare offline tasks: fetch the bigbench==1.0.0 archive from PyPI once "
        "(verified by sha256), extract only the needed files, write seeded splits to the cache.",
    )
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    prep = verbs.add_parser("prepare", help="prepare one or more offline tasks")
    prep.add_argument("tasks", nargs="*", help="offline task names (default: all offline tasks)")
    prep.add_argument("--force", action="store_true", help="rebuild even if already prepared")
    return p


def run(args) -> int:
    from junkdna.tasks.prepare import prepare_many, task_dir
    from junkdna.tasks.registry import get_spec, list_specs

    names = args.tasks or [s.name for s in list_specs() if s.offline]
    for meta in prepare_many(names, force=args.force):
        sizes = meta["sizes"]
        base = meta["majority_baseline"]["validation"]
        print(
            f"{meta['task']:<18} train {sizes['train']:>6}  validation {sizes['validation']:>5}  "
            f"test {sizes['test']:>5}  majority {base:.4f}  -> {task_dir(get_spec(meta['task']))}"
        )
    return 0
