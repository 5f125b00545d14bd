"""`junkdna ppl MODEL [--masks DIR | --method M --sparsity S --structure N:M] [--dataset D]
[--json PATH]`: perplexity (and optionally zero-shot accuracy) of a dense or pruned causal LM the
way pruning papers report it (``junkdna.evaluate``; docs/yardstick.md)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from junkdna.commands.prune import add_pruning_arguments

PRECISIONS = ("auto", "fp32", "fp16", "bf16")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "ppl",
        help="perplexity (and zero-shot accuracy) of a dense or pruned causal LM",
        description="Perplexity of MODEL on --dataset over non-overlapping windows of --seqlen "
        "tokens (full windows only, as the Wanda and SparseGPT code), dense, with masks from "
        "--masks DIR, or pruned here in memory with the pruning flags of `junkdna prune`.",
        conflict_handler="resolve",  # our --seqlen replaces the calibration-only one
        examples=[
            "junkdna ppl smollm2-135m --windows 4",
            "junkdna ppl smollm2-135m --method wanda --sparsity 0.5 --nsamples 16 --windows 4 --zeroshot squad_val_mc --zeroshot-limit 20",
        ],
    )
    p.add_argument("model", help="hub id, local folder, .gguf file, or alias (smollm2-135m)")
    p.add_argument("--masks", type=Path, default=None, help="folder with masks.safetensors")
    add_pruning_arguments(p.add_argument_group("pruning in memory (instead of --masks)"))
    p.set_defaults(method=None)  # no --method, --sparsity or N:M structure: the dense model
    add_eval_arguments(p, zeroshot="")
    p.add_argument("--json", type=Path, default=None, help="write the result as JSON here")
    return p


def add_eval_arguments(p: argparse.ArgumentParser, zeroshot: str) -> None:
    """Shared with `junkdna compare`: evaluation text, windows, zero-shot tasks, device."""
    from junkdna.data.texts import DEFAULT_HELD_OUT
    from junkdna.evaluate.perplexity import MAX_DEFAULT_SEQLEN
    from junkdna.tasks.zeroshot import OFFLINE_DEFAULT

    g = p.add_argument_group("evaluation")
    g.add_argument(
        "--dataset",
        default=DEFAULT_HELD_OUT,
        help=f"{DEFAULT_HELD_OUT} (offline held-out Wikipedia: BoolQ's passages; the default), "
        "newwiki (needs the BIG-bench archive), wikitext2 or c4 (hub, as the papers), or a "
        ".txt/.jsonl file",
    )
    g.add_argument(
        "--seqlen",
        type=int,
        default=None,
        help="tokens per evaluation window, and per calibration window unless --calib-seqlen "
        f"(default: the model's context length, at most {MAX_DEFAULT_SEQLEN})",
    )
    g.add_argument("--calib-seqlen", type=int, default=None, help="tokens per calibration window")
    g.add_argument(
        "--windows", type=int, default=None, help="evaluate the first N windows (c4: 256)"
    )
    g.add_argument(
        "--partial", action="store_true", help="also score the last, partial window (not the "
        "papers' way)"
    )  # fmt: skip
    g.add_argument("--batch-size", type=int, default=None, help="windows per forward pass")
    g.add_argument(
        "--zeroshot",
        default=zeroshot,
        help="comma-separated registered tasks with choices (`junkdna tasks`), scored on their "
        f"test split (else validation): offline e.g. {','.join(OFFLINE_DEFAULT)}, squad_val_mc; "
        "on the hub arc_easy, arc_challenge, openbookqa, piqa, boolq, rte, hellaswag, "
        f"winogrande (default: {zeroshot or 'none'})",
    )
    g.add_argument("--zeroshot-limit", type=int, default=None, help="first N items per task")
    g.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    g.add_argument(
        "--precision",
        default="auto",
        choices=PRECISIONS,
        help="weights' dtype (auto: fp16 on cuda, fp32 on cpu; pruning math stays fp32)",
    )
    g.add_argument("--quiet", action="store_true", help="no progress bars")


# ----------------------------------------------------------------------------- shared steps


def positive(value, what: str) -> None:
    from junkdna.errors import JunkDNAError

    if value is not None and value < 1:
        raise JunkDNAError(f"{what} must be a positive integer, got {value}")


def check_eval_args(args) -> list[str]:
    """Fail fast (before any model loads); returns the zero-shot task names."""
    from junkdna.evaluate.perplexity import check_seqlen
    from junkdna.evaluate.texts import check_dataset
    from junkdna.tasks.zeroshot import check_zero_shot

    if args.seqlen is not None:
        check_seqlen(args.seqlen)
    if args.calib_seqlen is not None:
        check_seqlen(args.calib_seqlen, what="--calib-seqlen")
    positive(args.windows, "--windows")
    positive(args.batch_size, "--batch-size")
    positive(args.zeroshot_limit, "--zeroshot-limit")
    check_dataset(args.dataset)
    return check_zero_shot([t.strip() for t in args.zeroshot.split(",") if t.strip()])


def runtime(args):
    """(device, dtype) from --device and --precision."""
    import torch

    from junkdna.errors import JunkDNAError

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise JunkDNAError(f"--device {device!r} is not a device ({e}); use cpu or cuda") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise JunkDNAError("--device cuda: no CUDA device is available here; use --device cpu")
    precision = args.precision
    if precision == "auto":
        precision = "fp16" if dev.type == "cuda" else "fp32"
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    return dev, dtype, precision


def load_causal_lm(name: str, dtype):
    from junkdna.errors import JunkDNAError
    from junkdna.models import load_model

    model = load_model(name, dtype=dtype).eval()
    config = getattr(model, "config", None)
    if model.get_output_embeddings() is None or getattr(config, "is_encoder_decoder", False):
        raise JunkDNAError(
            f"model {name!r} ({type(model).__name__}) is not a causal LM: perplexity needs a "
            "decoder with an LM head (e.g. smollm2-135m)"
        )
    return model


def pruning_namespace(args, method: str, structure: str, sparsity, scope, calib_seqlen: int):
    """What `junkdna prune`'s ``prune_from_args`` reads, for one configuration."""
    return SimpleNamespace(
        method=method, sparsity=sparsity, structure=structure, scope=scope,
        include=args.include, exclude=args.exclude, calibration=args.calibration,
        nsamples=args.nsamples, seqlen=calib_seqlen, seed=args.seed, device=args.device,
        budget=getattr(args, "budget", None), task=getattr(args, "task", None),
    )  # fmt: skip


def prune_in_memory(model, model_name: str, ns) -> dict[str, Any]:
    """Prune ``model`` in place with `junkdna prune`'s code path; a JSON-able description."""
    from junkdna.commands.prune import prune_from_args

    t0 = time.perf_counter()
    maskset = prune_from_args(model, model_name, ns)
    meta = dict(maskset.metadata)
    return {
        "method": meta["method"],
        "target_sparsity": meta["sparsity"],
        "structure": meta["structure"],
        "scope": meta["scope"],
        "include": meta["include"],
        "exclude": meta["exclude"],
        "calibration": meta["calibration"],
        "budget": meta.get("budget"),  # None: uniform
        "mask_sparsity": maskset.sparsity,
        "collapsed_layers": maskset.collapsed_layers(),
        "prune_s": round(time.perf_counter() - t0, 3),
        "method_s": meta["time_s"],
    }


def apply_masks(model, folder: Path) -> dict[str, Any]:
    """Masks (and SparseGPT's reconstructed weights) from a `junkdna prune --out` folder."""
    from junkdna.errors import JunkDNAError
    from junkdna.study.maskcache import apply_weights, load_folder

    t0 = time.perf_counter()
    masks, weights = load_folder(folder, model)
    if masks.metadata.get("updates_weights") and weights is None:
        raise JunkDNAError(
            f"{masks.metadata.get('method')} masks in {str(folder)!r} reconstruct the kept "
            "weights, but weights.safetensors is missing beside masks.safetensors"
        )
    if weights is not None:
        apply_weights(model, weights)
    masks.apply(model)
    meta = dict(masks.metadata)
    return {
        "masks_from": str(folder),
        "method": meta.get("method"),
        "target_sparsity": meta.get("sparsity"),
        "structure": meta.get("structure"),
        "scope": meta.get("scope"),
        "calibration": meta.get("calibration"),
        "mask_sparsity": masks.sparsity,
        "prune_s": round(time.perf_counter() - t0, 3),
    }


def measure(model, stream, seqlen: int, args, zero_shot, device, pad_id, desc: str) -> dict:
    """Perplexity over the token stream, then each zero-shot task, on ``device``."""
    from junkdna.evaluate.perplexity import perplexity
    from junkdna.evaluate.readings import prunable_sparsity
    from junkdna.evaluate.zeroshot import score_items

    model.to(device)
    out: dict[str, Any] = prunable_sparsity(model)
    ppl = perplexity(
        model, stream, seqlen, batch_size=args.batch_size, max_windows=args.windows,
        partial=args.partial, progress=not args.quiet, desc=desc,
    )  # fmt: skip
    out.update(ppl.as_dict())
    out["zero_shot"] = {
        enc.task: score_items(model, enc, pad_id, batch_size=16) for enc in zero_shot
    }
    return out


def zero_shot_line(scores: dict) -> str:
    return "; ".join(
        f"{t}: acc {s['acc']:.3f}, acc_norm {s['acc_norm']:.3f} (n={s['n']})"
        for t, s in scores.items()
    )


def check_json_path(path: Path | None) -> None:
    from junkdna.errors import JunkDNAError
    from junkdna.paths import check_writable_folder

    if path is None:
        return
    if path.is_dir():
        raise JunkDNAError(f"--json {str(path)!r} is a folder; give the path of a file to write")
    check_writable_folder(path.parent if str(path.parent) else Path("."), "--json folder")


# ----------------------------------------------------------------------------- the command


def run(args) -> int:
    from junkdna.errors import JunkDNAError
    from junkdna.evaluate.perplexity import check_seqlen, default_seqlen, token_stream
    from junkdna.evaluate.readings import PeakMemory
    from junkdna.evaluate.texts import load_eval_text
    from junkdna.evaluate.zeroshot import encode_items
    from junkdna.heads.batching import pad_id
    from junkdna.masks import MaskSet
    from junkdna.models import load_tokenizer
    from junkdna.paths import atomic_write_text
    from junkdna.provenance import versions
    from junkdna.pruning import METHODS, resolve_rule
    from junkdna.tasks.zeroshot import zero_shot_items

    tasks = check_eval_args(args)
    pruning = args.method is not None or args.sparsity is not None
    pruning = pruning or args.structure != "unstructured" or args.budget is not None
    if args.masks is not None and pruning:
        raise JunkDNAError("give either --masks DIR or pruning flags (--method ...), not both")
    method = args.method or "magnitude"
    if pruning:
        resolve_rule(METHODS.get(method), args.sparsity, args.structure, args.scope, args.budget)
    if args.masks is not None:
        MaskSet.check_file(args.masks)
    check_json_path(args.json)
    device, dtype, precision = runtime(args)
    # Text, questions and tokenizer first: a hub download or a bad name fails before the model.
    text = load_eval_text(args.dataset)
    sets = zero_shot_items(tasks, args.zeroshot_limit)
    tokenizer = load_tokenizer(args.model)
    zero_shot = [encode_items(tokenizer, s.task, s.items) for s in sets]

    with PeakMemory() as mem:
        t0 = time.perf_counter()
        model = load_causal_lm(args.model, dtype)
        load_s = time.perf_counter() - t0
        seqlen = check_seqlen(args.seqlen or default_seqlen(model), model)
        calib_seqlen = args.calib_seqlen or seqlen
        if args.masks is not None:
            prune_info = apply_masks(model, args.masks)
        elif pruning:
            ns = pruning_namespace(
                args, method, args.structure, args.sparsity, args.scope, calib_seqlen
            )
            ns.device = str(device)
            prune_info = prune_in_memory(model, args.model, ns)
        else:
            prune_info = None
        stream = token_stream(tokenizer, text.text)
        if args.windows is None and text.max_windows is not None:
            args.windows = text.max_windows
        result = measure(model, stream, seqlen, args, zero_shot, device, pad_id(tokenizer), "ppl")

    record = {
        "model": args.model,
        "dataset": text.name,
        "dataset_source": text.source,
        **{k: v for k, v in result.items() if k != "zero_shot"},
        "zero_shot": {s.task: {**result["zero_shot"][s.task], **s.info()} for s in sets},
        "pruning": prune_info,
        "device": str(device),
        "precision": precision,
        "load_s": round(load_s, 3),
        "memory": mem.as_dict(),
        "versions": versions(),
    }
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(record, indent=2, default=str) + "\n")
    what = "dense" if prune_info is None else (
        f"{prune_info['method']} {prune_info['structure']}"
    )  # fmt: skip
    print(
        f"{args.model} {what} (prunable sparsity {result['sparsity']:.4f}): perplexity "
        f"{result['perplexity']:.4f} on {text.name} ({result['windows']} windows x "
        f"{seqlen} tokens, {result['tokens']:,} predicted, {result['seconds']:.1f}s)"
    )
    if result["zero_shot"]:
        print(zero_shot_line(result["zero_shot"]))
    return 0
