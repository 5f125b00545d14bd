"""`junkdna lmc`: linear mode connectivity between a sparse and a dense fine-tuned model.

junkdna lmc --model M --task T --a SPARSE --b DENSE --out DIR   # one pair
junkdna lmc STUDY                                               # every pair of a study
"""

from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTION = (
    "Evaluate the held-out loss and task metric along theta(alpha) = alpha * theta_A + "
    "(1 - alpha) * theta_B, where A is the SPARSE fine-tuned model (alpha = 1) and B the DENSE "
    "one (alpha = 0), and report the loss barrier: the largest excess of the loss over the "
    "straight line between the two endpoint losses (~0: linearly connected). "
    "Pair mode writes DIR/lmc.json, lmc.csv, lmc.png and lmc.svg. Study mode (STUDY given) pairs "
    "every finished sparse run with the dense run of the same model, task, difficulty level, seed "
    "and recipe (the study needs save_weights = true) and writes <output>/lmc/<run id>.json etc., "
    "which `junkdna report STUDY` shows as Figure 10 and a barrier table."
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "lmc",
        help="linear mode connectivity: sparse vs dense fine-tuned",
        description=DESCRIPTION,
        examples=[
            "junkdna lmc --model minilm --task sst2_val --a out/ft --b out/dense --steps 3 --max-examples 64 --out out/lmc",
        ],
    )
    p.add_argument("study", nargs="?", default=None, help="study file (.toml): study mode")
    p.add_argument("--model", help="pair mode: the model both were fine-tuned from")
    p.add_argument("--task", help="pair mode: a .jsonl/.csv file or a registered task name")
    p.add_argument("--a", help="SPARSE endpoint (alpha = 1): .safetensors file or run folder")
    p.add_argument("--b", help="DENSE endpoint (alpha = 0): .safetensors file or run folder")
    p.add_argument("--out", type=Path, help="pair mode: output folder")
    p.add_argument("--alphas", default=None, help="comma-separated, within [0, 1], with 0 and 1")
    p.add_argument("--steps", type=int, default=None, help="evenly spaced alphas (default 11)")
    p.add_argument("--max-examples", type=int, default=None, help="first N validation rows")
    p.add_argument("--regime", action="append", default=None,
                   help="study mode: regime(s) paired with dense (default: sparse)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="study mode: recompute finished pairs")
    p.add_argument("--seed", type=int, default=0,
                   help="pair mode: the fine-tuning seed (a registered task's difficulty sampling "
                   "follows it; a local file's hold-out split is fixed)")  # fmt: skip
    p.add_argument("--difficulty", default=None, help="pair mode: NAME[:key=value,...]")
    g = p.add_argument_group("pair mode: local task file")
    g.add_argument("--text-field", action="append", default=None, help="repeat for pairs")
    # Defaults (label, classification, the file's "choices") are filled in by task_config; a
    # flag given with a registered task is an error there.
    g.add_argument("--label-field", default=None, help="default label")
    g.add_argument("--head", default=None, help="default classification")
    g.add_argument("--choices-field", default=None, help="the choices (default: 'choices')")
    g.add_argument("--validation", default=None, help="validation file (default: hold-out)")
    g.add_argument("--metric", default=None, help="metric name (default: by head)")
    e = p.add_argument_group("evaluation")
    e.add_argument("--eval-batch-size", type=int, default=None)
    e.add_argument("--max-length", type=int, default=None, help="pair mode (default 128)")
    e.add_argument("--device", default=None, help="cpu, cuda, auto (study: the study's)")
    e.add_argument("--precision", choices=("fp32", "bf16"), default=None)
    return p


def run(args) -> int:
    from junkdna.transfer.lmc import parse_alphas

    alphas = parse_alphas(args.alphas, args.steps)  # bad grids fail before any loading
    if args.study is not None:
        return _study(args, alphas)
    return _pair(args, alphas)


def _pair(args, alphas) -> int:
    from junkdna.commands.finetune import task_config
    from junkdna.errors import JunkDNAError
    from junkdna.provenance import versions
    from junkdna.study.lmc import format_curve, weights_file, write_result
    from junkdna.study.run import cap_validation, load_model_for, load_run_task
    from junkdna.study.spec import RunSpec
    from junkdna.transfer.lmc import run_pair

    missing = [f"--{k}" for k in ("model", "task", "a", "b", "out") if getattr(args, k) is None]
    if missing:
        raise JunkDNAError(
            f"pair mode needs {', '.join(missing)} (or give a study file for study mode)"
        )
    sparse, dense = weights_file(args.a, "sparse (A)"), weights_file(args.b, "dense (B)")
    recipe = _recipe(args)
    task_cfg, difficulty = task_config(args)
    spec = RunSpec(args.model, task_cfg, "dense", recipe, difficulty=difficulty)
    task = cap_validation(load_run_task(spec), args.max_examples)
    model, tokenizer = load_model_for(spec.model_ref, task, args.seed)
    res = run_pair(model, tokenizer, task, recipe, sparse, dense, alphas)
    title = f"{args.model} {task.name}: dense (alpha 0) -> sparse (alpha 1)"
    info = {"model": args.model, "task": task.name, "metric": task.metric}
    info |= {"sparse_weights": str(sparse), "dense_weights": str(dense)}
    info |= {"n_validation": len(task.validation), "max_examples": args.max_examples}
    path = write_result(args.out, res, title, **info, recipe=recipe.to_dict(), versions=versions())
    _figure(res, title, args.out, "lmc")
    print(f"alpha = 0: B, dense  {dense}\nalpha = 1: A, sparse {sparse}")
    print(format_curve(res, task.metric))
    print(f"loss barrier: {res.barrier:.6g} -> {path}")
    return 0


def _figure(res, title: str, out: Path, stem: str) -> None:
    from junkdna.analysis import plots

    plots.save_figure(plots.lmc_figure(res.to_frame(), res.barrier, title), out, stem)


def _recipe(args):
    from junkdna.recipe import Recipe

    given = {"eval_batch_size": args.eval_batch_size, "max_length": args.max_length}
    given |= {"device": args.device, "precision": args.precision, "seed": args.seed}
    return Recipe(**{k: v for k, v in given.items() if v is not None})


def _study(args, alphas) -> int:
    from junkdna.errors import JunkDNAError
    from junkdna.study import load_study, plan_study
    from junkdna.study.driver import db_path, open_store
    from junkdna.study.lmc import load_result, require_saved_weights, run_study_lmc

    pair_only = [f"--{k}" for k in ("model", "task", "a", "b", "out") if getattr(args, k)]
    if pair_only:
        raise JunkDNAError(f"{', '.join(pair_only)} belong to pair mode; drop them or the STUDY")
    study = load_study(args.study)
    plan = plan_study(study)
    require_saved_weights(plan)
    if not db_path(study).is_file():
        raise JunkDNAError(f"study {study.name!r} has no results yet (run it first)")
    paths = run_study_lmc(
        plan,
        open_store(study),
        alphas,
        regimes=tuple(args.regime or ("sparse",)),
        max_examples=args.max_examples,
        device=args.device,
        force=args.force,
        overrides={"eval_batch_size": args.eval_batch_size, "precision": args.precision},
    )
    print("alpha = 0: dense run, alpha = 1: sparse run")
    for name, path in paths.items():
        res, _ = load_result(path)
        png = path.with_suffix(".png")
        if not png.is_file() or png.stat().st_mtime < path.stat().st_mtime:  # new or recomputed
            _figure(res, name, path.parent, path.stem)
        print(f"{name}: loss barrier {res.barrier:.6g} -> {path}")
    print(f"{len(paths)} pair(s); `junkdna report {args.study}` shows them as Figure 10")
    return 0
