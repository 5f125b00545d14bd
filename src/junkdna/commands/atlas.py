"""`junkdna atlas MODEL --tasks A,B,... --sparsity S --out DIR [--json PATH]`: where each task's
important weights lie among the small-magnitude ones, per layer and module type."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "atlas",
        help="per-task atlas of which small-magnitude weights each task needs",
        description="Score MODEL's prunable weights with each task's own labelled examples "
        "(diagonal Fisher or gradient x weight, through the task's head) and write, per task, "
        "layer and module type, the share of its important weights among the globally smallest "
        "magnitudes, the overlaps between tasks and with the magnitude mask, heat maps, and the "
        "rank test across tasks when difficulties are given.",
        examples=[
            "junkdna atlas minilm --tasks sst2_val,mrpc_val --sparsity 0.5 --train-examples 32 --out out/atlas",
        ],
    )
    p.add_argument("model", help="hub id, local folder, .gguf file, or alias (minilm, ...)")
    p.add_argument("--tasks", required=True, help="comma-separated registered task names")
    p.add_argument("--sparsity", type=float, required=True, help="the junk share, in (0, 1)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--json", type=Path, default=None, metavar="PATH",
                   help="also write every figure by task, layer and module type as JSON")  # fmt: skip
    p.add_argument("--method", default="fisher", help="fisher (default) or taylor")
    p.add_argument("--nsamples", type=int, default=256, help="labelled examples per task")
    p.add_argument("--batch-size", type=int, default=8, help="examples per backward pass")
    p.add_argument("--train-examples", type=int, default=None,
                   help="draw the examples from a seeded sample of this many training rows")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="examples' sample and the head's init")
    p.add_argument("--difficulty", default=None, metavar="TASK=VALUE,...",
                   help="difficulty per task (larger = harder): enables the rank test")  # fmt: skip
    p.add_argument("--device", default=None, help="where the scoring runs (cpu, cuda)")
    return p


def _parse_difficulty(text: str | None, tasks: list[str]) -> dict[str, float]:
    from junkdna.errors import JunkDNAError

    if not text:
        return {}
    out = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in tasks:
            raise JunkDNAError(f"--difficulty: {name!r} is not one of --tasks ({', '.join(tasks)})")
        try:
            out[name] = float(value)
        except ValueError:
            raise JunkDNAError(
                f"--difficulty: {part!r} is not TASK=NUMBER (e.g. {tasks[0]}=0.4)"
            ) from None
    return out


def check_args(args) -> list[str]:
    """Everything that can be checked before a model loads; returns the task names."""
    from junkdna.atlas.compute import check_method
    from junkdna.errors import JunkDNAError
    from junkdna.paths import check_writable_folder
    from junkdna.pruning.select import check_sparsity
    from junkdna.tasks.registry import get_spec

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if not tasks:
        raise JunkDNAError("--tasks: give one or more registered task names, comma-separated")
    if len(set(tasks)) != len(tasks):
        raise JunkDNAError(f"--tasks: a task is named twice in {args.tasks!r}")
    for t in tasks:
        get_spec(t)  # unknown -> did-you-mean
    check_sparsity(args.sparsity)
    if args.sparsity == 0:
        raise JunkDNAError("--sparsity must be in (0, 1): the junk share of the weights")
    check_method(args.method)
    for flag in ("nsamples", "batch_size"):
        v = getattr(args, flag)
        if v < 1:
            raise JunkDNAError(f"--{flag.replace('_', '-')} must be >= 1, got {v}")
    if args.train_examples is not None and args.train_examples < 1:
        raise JunkDNAError(f"--train-examples must be >= 1, got {args.train_examples}")
    check_writable_folder(args.out, "--out")
    return tasks


def run(args) -> int:
    from junkdna.atlas import Atlas, AtlasTask, compute_atlas
    from junkdna.atlas.report import atlas_json, write_atlas_page
    from junkdna.paths import atomic_write_text, staged_folder

    tasks = check_args(args)
    difficulty = _parse_difficulty(args.difficulty, tasks)
    entries = [AtlasTask(t, _loader(t, args.seed, args.train_examples), difficulty.get(t))
               for t in tasks]  # fmt: skip
    counts = compute_atlas(
        args.model, entries, args.sparsity, method=args.method, nsamples=args.nsamples,
        batch_size=args.batch_size, seed=args.seed, device=args.device, progress=print,
    )  # fmt: skip
    atlas = Atlas(counts)
    with staged_folder(args.out, "--out") as stage:
        atlas.save(stage)
        result = write_atlas_page(atlas, stage, f"junkdna atlas: {args.model}")
        body = atlas_json(atlas, result)
        (stage / "atlas.json").write_text(json.dumps(body, indent=2, allow_nan=False))
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(body, indent=2, allow_nan=False))
    _print_summary(atlas, result)
    print(f"atlas: {args.out / 'report.html'}")
    return 0


def _loader(name: str, seed: int, budget: int | None):
    def load():
        from junkdna.recipe import Recipe
        from junkdna.study.run import load_run_task
        from junkdna.study.spec import RunSpec

        cfg = {"name": name} | ({"train_examples": budget} if budget else {})
        return load_run_task(RunSpec("atlas", cfg, "none", Recipe(seed=seed)))

    return load


def _print_summary(atlas, result) -> None:
    o = result["frame"]
    print(f"{'task':<28} {'important among junk':>21} {'junk share':>11} {'mass on junk':>13}")
    for _, r in o.iterrows():
        print(f"{r['task']:<28} {r['share_in_junk']:>21.4f} {r['expected']:>11.4f} "
              f"{r['importance_in_junk']:>13.4f}")  # fmt: skip
    for t in result["tests"]:
        if t["primary"]:
            print(t["verdict"])
