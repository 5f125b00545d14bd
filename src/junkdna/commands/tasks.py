"""`junkdna tasks [--baselines]`: the task registry with its difficulty metadata."""

from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "tasks",
        help="list the registered tasks",
        description="List tasks: head, metric, published human score, zero-shot form (how "
        "`junkdna ppl/compare --zeroshot` score it; '-': not scored zero-shot), where the data "
        "come from (offline: a pinned source fetched on first use; optional: a source you "
        "provide; hub) and, for prepared offline tasks, the train/validation/test sizes.",
        examples=["junkdna tasks", "junkdna tasks --baselines"],
    )
    p.add_argument(
        "--baselines",
        action="store_true",
        help="also show, for offline tasks, the majority-class baseline (prepared tasks) and "
        "the measured dense MiniLM score with its recipe and command",
    )
    return p


def _human(spec) -> str:
    return f"{spec.human.value:.3f} {spec.human.key}" if spec.human else "-"


def _where(spec) -> str:
    """hub, offline (a default source: fetched on first use) or optional (a source the user
    must provide, such as the BIG-bench archive)."""
    if not spec.offline:
        return "hub"
    from junkdna.data.sources import get_source

    name = getattr(spec.source, "source", "bigbench")
    return "offline" if get_source(name).default else "optional"


def run(args) -> int:
    from junkdna.tasks.baselines import measured_for_task
    from junkdna.tasks.prepare import prepared_meta
    from junkdna.tasks.registry import list_specs

    print(f"{'task':<18} {'head':<15} {'metric':<17} {'human':<16} {'zero-shot':<18} "
          f"{'where':<8} source")  # fmt: skip
    for spec in list_specs():
        where = _where(spec)
        print(
            f"{spec.name:<18} {spec.head:<15} {spec.metric:<17} {_human(spec):<16} "
            f"{spec.zero_shot_form or '-':<18} {where:<8} {spec.source.describe()}"
        )
        if spec.human:
            print(f"{'':<18} human: {spec.human.citation}")
        if not spec.offline:
            continue
        meta = prepared_meta(spec)
        if meta is None:
            print(f"{'':<18} sizes: not prepared yet (`junkdna data prepare {spec.name}`)")
        else:
            sizes = meta["sizes"]
            base = meta["majority_baseline"]["validation"]
            majority = (
                f"; majority ({meta['majority_label']}) {base:.4f} on validation"
                if base is not None
                else ""
            )
            print(
                f"{'':<18} sizes: train {sizes['train']}, validation {sizes['validation']}, "
                f"test {sizes['test']}{majority}"
            )
        if not args.baselines:
            continue
        found = measured_for_task(spec.name)
        if not found:
            print(f"{'':<18} dense score: not measured yet")
        for m in found:
            print(f"{'':<18} {m.describe()}")
            print(f"{'':<18}   measured with: {m.command}")
    return 0
