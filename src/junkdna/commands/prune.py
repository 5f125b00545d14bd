"""`junkdna prune MODEL --method M --sparsity S [--structure N:M] [--scope S] --out DIR`."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "prune",
        help="prune a model one-shot and write its masks",
        description="Prune MODEL (hub id, local folder, or offline alias: minilm, smollm2-135m) "
        "and write DIR/masks.safetensors and DIR/report.json.",
    )
    add_pruning_arguments(p)
    p.add_argument("model", help="hub id, local folder, .gguf file, or alias")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--device", default=None, help="where calibration blocks run (cpu, cuda)")
    p.add_argument("--quiet", action="store_true", help="do not print the per-layer table")
    return p


def add_pruning_arguments(p: argparse.ArgumentParser) -> None:
    """Shared with commands that prune before doing something else (e.g. finetune). The
    calibration defaults are a study file's (``junkdna.study.config.Calibration``)."""
    from junkdna.study.config import Calibration

    cal = Calibration()
    p.add_argument("--method", default="magnitude", help="magnitude, wanda or sparsegpt")
    p.add_argument("--sparsity", type=float, default=None, help="fraction removed, in [0, 1)")
    p.add_argument(
        "--structure", default="unstructured", help="'unstructured' or N:M (N kept in every M)"
    )
    p.add_argument("--scope", default=None, help="global, layer or row (unstructured only)")
    p.add_argument("--include", action="append", default=[], help="regex: also prune these")
    p.add_argument("--exclude", action="append", default=[], help="regex: never prune these")
    p.add_argument(
        "--calibration",
        default=cal.source,
        help="calibration text for wanda/sparsegpt: 'default' (offline Wikipedia paragraphs) "
        "or a .txt/.jsonl file",
    )
    p.add_argument("--nsamples", type=int, default=cal.nsamples, help="calibration sequences")
    p.add_argument("--seqlen", type=int, default=cal.seqlen, help="tokens per calibration sequence")
    p.add_argument("--seed", type=int, default=cal.seed, help="calibration sampling seed")


def prune_from_args(model, tokenizer_name: str, args):
    """Run `prune` with the shared pruning arguments; returns the MaskSet."""
    from junkdna.models import load_tokenizer
    from junkdna.pruning import METHODS, prune_calibrated

    calibrated = METHODS.get(args.method).needs_calibration
    return prune_calibrated(
        model,
        load_tokenizer(tokenizer_name) if calibrated else None,
        args.method,
        {"source": args.calibration, "nsamples": args.nsamples, "seqlen": args.seqlen,
         "seed": args.seed},
        sparsity=args.sparsity,
        structure=args.structure,
        scope=args.scope,
        include=args.include,
        exclude=args.exclude,
        device=getattr(args, "device", None),
    )  # fmt: skip


def run(args) -> int:
    from junkdna.models import load_model, parameters_by_name
    from junkdna.paths import check_writable_folder, staged_folder
    from junkdna.provenance import versions
    from junkdna.pruning import resolve_rule
    from junkdna.pruning.base import METHODS

    # Fail fast, before the model loads: the rule, and a folder the results can be written to.
    resolve_rule(METHODS.get(args.method), args.sparsity, args.structure, args.scope)
    check_writable_folder(args.out, "--out")
    t0 = time.perf_counter()
    model = load_model(args.model)
    load_s = time.perf_counter() - t0
    maskset = prune_from_args(model, args.model, args)
    report = maskset.report()
    report["settings"] = {k: v for k, v in vars(args).items() if not k.startswith("_")}
    report["settings"]["out"] = str(args.out)
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

    if not args.quiet:
        print_layer_table(report)
    print(
        f"{args.method} {maskset.metadata['structure']} scope={maskset.metadata['scope']}: "
        f"sparsity {report['sparsity']:.4f} over {report['total']:,} weights in "
        f"{report['timings']['prune_s']:.2f}s -> {args.out}"
    )
    return 0


def print_layer_table(report: dict) -> None:
    print(f"{'layer':<60} {'weights':>10} {'sparsity':>9}")
    for name, s in report["layers"].items():
        flag = "  COLLAPSED" if name in report["collapsed_layers"] else ""
        print(f"{name:<60} {s['total']:>10,} {s['sparsity']:>9.4f}{flag}")
