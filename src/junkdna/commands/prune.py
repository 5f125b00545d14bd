"""`junkdna prune MODEL --method M --sparsity S [--structure N:M] [--scope S] --out DIR`."""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "prune",
        help="prune a model one-shot and write its masks",
        description="Prune MODEL (hub id, local folder, or offline alias: minilm, smollm2-135m) "
        "and write DIR/masks.safetensors and DIR/report.json.",
        examples=[
            "junkdna prune smollm2-135m --method wanda --sparsity 0.5 --nsamples 16 --out out/w50",
            "junkdna prune minilm --method magnitude --structure 2:4 --out out/m24",
        ],
    )
    add_pruning_arguments(p)
    p.add_argument("model", help="hub id, local folder, .gguf file, or alias")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--device", default=None, help="where calibration blocks run (cpu, cuda)")
    p.add_argument("--quiet", action="store_true", help="do not print the per-layer table")
    add_save_model_argument(p)
    return p


def add_save_model_argument(p) -> None:
    """Shared with finetune: the model out as a plain transformers folder."""
    p.add_argument(
        "--save-model",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write the pruned model as a transformers folder (safetensors with the pruned "
        "entries zero, config, tokenizer, a model card) that from_pretrained, lm-eval and vLLM "
        "load; DIR must be new or empty",
    )


def save_model_from_args(args, model, maskset, **extra) -> None:
    """``--save-model DIR``: the model as it is in memory, its tokenizer and a model card."""
    if getattr(args, "save_model", None) is None:
        return
    from junkdna.models import load_tokenizer
    from junkdna.pruning.save import facts_of, save_model_folder

    facts = facts_of(maskset, args.model, **extra)
    save_model_folder(model, load_tokenizer(args.model), args.save_model, facts)
    print(f"model -> {args.save_model}")


def add_pruning_arguments(p: argparse.ArgumentParser) -> None:
    """Shared with commands that prune before doing something else (e.g. finetune). The
    calibration defaults are a study file's (``junkdna.study.config.Calibration``)."""
    from junkdna.study.config import Calibration

    cal = Calibration()
    p.add_argument(
        "--method",
        default="magnitude",
        help="magnitude, wanda, sparsegpt, or the task-aware taylor or fisher (need --task)",
    )
    p.add_argument("--sparsity", type=float, default=None, help="fraction removed, in [0, 1)")
    p.add_argument(
        "--structure", default="unstructured", help="'unstructured' or N:M (N kept in every M)"
    )
    p.add_argument("--scope", default=None, help="global, layer or row (unstructured only)")
    p.add_argument(
        "--budget",
        default=None,
        help="each block's share of the sparsity: uniform (default), owl, 'owl:M=5,lambda=0.08', "
        "'linear:D', block sparsities '0.3,0.5,0.7' or a .json list (exact total; scope "
        "layer or row)",
    )
    p.add_argument(
        "--include",
        action="append",
        default=[],
        help="regex on parameter names: also prune these projections or embeddings outside the "
        "blocks (e.g. embed_tokens; a tied weight counts once)",
    )
    p.add_argument("--exclude", action="append", default=[], help="regex: never prune these")
    p.add_argument(
        "--calibration",
        default=cal.source,
        help="calibration text for wanda/sparsegpt: 'default' (LAMBADA's narrative passages, offline), "
        "a .txt/.jsonl file, or 'task' (the --task's training inputs); taylor/fisher always use "
        "the task's labelled examples",
    )
    p.add_argument(
        "--nsamples",
        type=int,
        default=None,
        help=f"calibration sequences (default {cal.nsamples}), or labelled task examples for "
        f"taylor/fisher (default {TASK_NSAMPLES})",
    )
    p.add_argument("--seqlen", type=int, default=cal.seqlen, help="tokens per calibration sequence")
    p.add_argument("--seed", type=int, default=cal.seed, help="calibration sampling seed")
    # A command with its own --task (finetune) keeps it: the run's task serves.
    with contextlib.suppress(argparse.ArgumentError):
        p.add_argument(
            "--task",
            default=None,
            help="a registered task: the labelled examples of taylor/fisher, the inputs of "
            "--calibration task (the model is loaded with the task's head)",
        )


TASK_NSAMPLES = 256  # taylor/fisher's labelled examples (junkdna.pruning.taskaware)


def calibration_settings(args) -> dict:
    """The calibration settings the shared flags name, defaults filled in per method: for the
    task-aware methods (taylor, fisher) the source is always the task ('default' means it) and
    ``nsamples`` counts labelled examples (default 256); otherwise the study defaults
    (``junkdna.study.config.Calibration``)."""
    from junkdna.pruning import METHODS
    from junkdna.study.config import Calibration

    cal = Calibration()
    crit = METHODS.get(args.method)
    source = args.calibration
    if crit.needs_task and source == cal.source:
        source = "task"
    nsamples = args.nsamples
    if nsamples is None:
        nsamples = crit.option_defaults["nsamples"] if crit.needs_task else cal.nsamples
    return {"source": source, "nsamples": nsamples, "seqlen": args.seqlen, "seed": args.seed}


def task_for_args(args):
    """The TaskData of ``--task`` when the method or the calibration needs it, else None; a
    missing, unknown or unused ``--task`` is a one-line error (before any model loads)."""
    from junkdna.errors import JunkDNAError
    from junkdna.pruning import METHODS

    crit = METHODS.get(args.method)
    needs_task = crit.needs_task
    cal = calibration_settings(args)
    from_task = cal["source"] == "task"
    if needs_task:
        if not from_task:
            raise JunkDNAError(
                f"method {args.method!r} scores weights with the task's own labelled examples: "
                f"its calibration source must be 'task', not {cal['source']!r} (omit "
                "--calibration)"
            )
        crit(nsamples=cal["nsamples"], seed=cal["seed"])  # checks them before anything loads
    name = getattr(args, "task", None)
    if name is None:
        if needs_task:
            raise JunkDNAError(
                f"method {args.method!r} scores weights with a task's labelled examples; give a "
                "task (--task NAME, or run it in a study)"
            )
        if from_task:
            raise JunkDNAError(
                "--calibration task draws the calibration windows from a task's training "
                "inputs; give the task with --task NAME"
            )
        return None
    if not (needs_task or from_task):
        raise JunkDNAError(
            f"--task {name!r} is unused: only the task-aware methods (taylor, fisher) and "
            "--calibration task read a task"
        )
    from junkdna.tasks.registry import for_model, get_spec, load_task

    get_spec(name)  # an unknown name: did-you-mean, before anything loads
    return for_model(load_task(name, seed=args.seed), args.model)


def prune_from_args(model, tokenizer_name: str, args, task=None):
    """Run `prune` with the shared pruning arguments; returns the MaskSet. ``task``: the
    TaskData of ``--task`` if the caller loaded it already (``task_for_args``)."""
    from junkdna.models import load_tokenizer
    from junkdna.pruning import METHODS, prune_calibrated
    from junkdna.pruning.budgets import parse_budget

    budget = getattr(args, "budget", None)
    crit = METHODS.get(args.method)
    calibrated = crit.needs_calibration or parse_budget(budget).needs_calibration
    if task is None:
        task = task_for_args(args)
    return prune_calibrated(
        model,
        load_tokenizer(tokenizer_name) if calibrated or crit.needs_task else None,
        args.method,
        calibration_settings(args),
        task=task,
        sparsity=args.sparsity,
        structure=args.structure,
        scope=args.scope,
        include=args.include,
        exclude=args.exclude,
        device=getattr(args, "device", None),
        budget=budget,
    )  # fmt: skip


def run(args) -> int:
    from junkdna.models import load_model, parameters_by_name
    from junkdna.paths import check_writable_folder, staged_folder
    from junkdna.provenance import versions
    from junkdna.pruning import resolve_rule
    from junkdna.pruning.base import METHODS

    # Fail fast, before the model loads: the rule, and a folder the results can be written to.
    resolve_rule(METHODS.get(args.method), args.sparsity, args.structure, args.scope, args.budget)
    check_writable_folder(args.out, "--out")
    if args.save_model is not None:
        from junkdna.pruning.save import check_model_folder

        check_model_folder(args.save_model)
    task = task_for_args(args)  # a missing or unknown --task fails here, before the model
    t0 = time.perf_counter()
    if task is not None and METHODS.get(args.method).needs_task:
        from junkdna.study.run import load_model_for

        # The task's loss needs the task's head, its fresh layers seeded by --seed as a study
        # run with that seed seeds them.
        model, _ = load_model_for(args.model, task, args.seed)
    else:
        model = load_model(args.model)
    load_s = time.perf_counter() - t0
    maskset = prune_from_args(model, args.model, args, task)
    report = maskset.report()
    report["settings"] = {k: v for k, v in vars(args).items() if not k.startswith("_")}
    report["settings"]["out"] = str(args.out)
    if args.save_model is not None:
        report["settings"]["save_model"] = str(args.save_model)
    report["timings"] = {"load_s": round(load_s, 3), "prune_s": maskset.metadata["time_s"]}
    report["versions"] = versions()

    # Stage everything in a hidden folder, then move files in: no partial output on error.
    with staged_folder(args.out, "--out") as stage:
        maskset.save(stage / "masks.safetensors")
        if maskset.metadata.get("updates_weights"):
            # SparseGPT reconstructs the kept weights: the mask alone does not reproduce it.
            from safetensors.torch import save_file

            params = parameters_by_name(model)
            save_file(
                {n: params[n].detach().contiguous().cpu() for n in maskset},
                str(stage / "weights.safetensors"),
            )
        (stage / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    save_model_from_args(args, model, maskset)

    if not args.quiet:
        print_layer_table(report)
    budget = maskset.metadata.get("budget")
    method = args.method if budget is None else f"{args.method}+{args.budget}"
    print(
        f"{method} {maskset.metadata['structure']} scope={maskset.metadata['scope']}: "
        f"sparsity {report['sparsity']:.4f} over {report['total']:,} weights in "
        f"{report['timings']['prune_s']:.2f}s -> {args.out}"
    )
    return 0


def print_layer_table(report: dict) -> None:
    print(f"{'layer':<60} {'weights':>10} {'sparsity':>9}")
    for name, s in report["layers"].items():
        flag = "  COLLAPSED" if name in report["collapsed_layers"] else ""
        print(f"{name:<60} {s['total']:>10,} {s['sparsity']:>9.4f}{flag}")
