"""`junkdna finetune MODEL --task TASK --regime R [--masks DIR | pruning options] --out DIR`."""

from __future__ import annotations

import argparse
import copy
import json
import time
import typing
from pathlib import Path

from junkdna.commands.prune import add_pruning_arguments

# Recipe fields the CLI does not expose as flags (seed comes from the shared --seed).
_HIDDEN = {"seed", "adam_betas"}


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "finetune",
        help="fine-tune a (pruned) model under a transfer regime and score it",
        description="Fine-tune MODEL on TASK under one transfer regime (dense, sparse, frozen, "
        "sparse-to-dense) and write DIR/metrics.json (metrics, invariants, timings, config, "
        "versions). Masks come from --masks DIR (written by `junkdna prune`) or are made here "
        "from the pruning options. --seed seeds everything: head init, data order, dropout, "
        "calibration sampling.",
    )
    p.add_argument("model", help="hub id, local folder, .gguf file, or alias")
    p.add_argument("--task", required=True, help="a .jsonl/.csv file or a registered task name")
    p.add_argument("--regime", required=True, help="dense, sparse, frozen or sparse-to-dense")
    p.add_argument("--masks", type=Path, default=None, help="folder with masks.safetensors")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--save-weights", action="store_true", help="also write DIR/model.safetensors")
    g = p.add_argument_group("local task file")
    g.add_argument("--text-field", action="append", default=None, help="repeat for pairs")
    g.add_argument("--label-field", default="label")
    g.add_argument(
        "--head", default="classification", help="classification, regression, multiple-choice, ..."
    )
    g.add_argument(
        "--choices-field", default="choices", help="multiple-choice: the field listing the choices"
    )
    g.add_argument("--validation", default=None, help="validation file (default: hold-out)")
    g.add_argument("--metric", default=None, help="metric name (default: by head)")
    p.add_argument(
        "--difficulty",
        default=None,
        help="difficulty setting of a registered task, NAME[:key=value,...], "
        "e.g. data_adequacy:fraction=0.1",
    )
    add_pruning_arguments(p.add_argument_group("pruning (instead of --masks)"))
    _add_recipe_arguments(p.add_argument_group("recipe"))
    return p


def _add_recipe_arguments(g) -> None:
    from junkdna.transfer import Recipe

    for name, info in Recipe.model_fields.items():
        if name in _HIDDEN:
            continue
        flag = "--" + name.replace("_", "-")
        if info.annotation is bool:
            g.add_argument(flag, action="store_true", default=None)
        else:
            choices = typing.get_args(info.annotation) if name in ("precision", "select") else None
            g.add_argument(flag, default=None, choices=choices, help=f"default {info.default}")


def recipe_from_args(args):
    from junkdna.transfer import Recipe

    given = {}
    for name in Recipe.model_fields:
        value = getattr(args, name, None)
        if name not in _HIDDEN and value is not None:
            given[name] = None if value == "none" else value  # pydantic converts the strings
    return Recipe(**given, seed=args.seed)


def load_task_from_args(args):
    from junkdna.errors import JunkDNAError

    path = Path(args.task)
    if path.suffix in (".jsonl", ".csv") or path.exists():
        from junkdna.tasks.local import load_local_task

        return load_local_task(
            path,
            text_fields=args.text_field or ["text"],
            label_field=args.label_field,
            head=args.head,
            metric=args.metric,
            validation=args.validation,
            seed=args.seed,
            choices_field=args.choices_field,
        )
    try:
        from junkdna.tasks.registry import load_task
    except ImportError:
        raise JunkDNAError(
            f"unknown task {args.task!r}: not a .jsonl/.csv file, and no task registry is installed"
        ) from None
    return load_task(args.task, difficulty=parse_difficulty(args.difficulty), seed=args.seed)


def parse_difficulty(text: str | None):
    """``data_adequacy:fraction=0.1,...`` -> a Difficulty (values parsed as JSON when they can)."""
    if text is None:
        return None
    from junkdna.difficulty import from_params
    from junkdna.errors import JunkDNAError

    name, _, rest = text.partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise JunkDNAError(f"difficulty parameter {item!r} is not key=value")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return from_params(name.strip(), params)


def run(args) -> int:
    import torch

    from junkdna.models import load_model, load_tokenizer
    from junkdna.provenance import versions
    from junkdna.transfer import REGIMES, finetune

    regime = REGIMES.get(args.regime)  # fail fast, with did-you-mean
    recipe = recipe_from_args(args)
    pruning = args.sparsity is not None or args.structure != "unstructured"
    _check_mask_source(regime, args, pruning)
    task = load_task_from_args(args)
    t0 = time.perf_counter()
    torch.manual_seed(args.seed)  # the task head's random init
    model = load_model(args.model, head=task.head, num_labels=task.num_labels)
    tokenizer = load_tokenizer(args.model)
    load_s = time.perf_counter() - t0
    masks, prune_s = _masks(model, args, regime, pruning)
    record = {
        "config": {
            "model": args.model,
            "task": {"name": task.name, "head": task.head, "metric": task.metric, **task.info},
            "regime": args.regime,
            "masks_from": str(args.masks) if args.masks else ("pruned here" if pruning else None),
            "pruning": _pruning_settings(args) if pruning else None,
            "recipe": recipe.to_dict(),
        },
        "versions": versions(),
    }
    try:
        result = finetune(model, tokenizer, task, args.regime, masks, recipe)
    except Exception as e:  # recorded, then re-raised (JunkDNAError -> exit code 2)
        _write(args.out, {"status": "error", "error": f"{type(e).__name__}: {e}", **record})
        raise
    timings = {"load_s": load_s, "prune_s": prune_s, **result.timings}
    out = {"status": "ok", "metrics": result.metrics, "invariants": result.invariants}
    out |= {"timings": timings, **record, "masks": result.config["masks"]}
    out |= {"history": result.history}
    if pruning:
        masks.save(args.out / "masks.safetensors")  # reusable with --masks DIR
    if args.save_weights:
        _save_weights(model, args.out / "model.safetensors")
    _write(args.out, out)
    metric = ", ".join(f"{k}={v:.4f}" for k, v in result.metrics.items())
    print(f"{args.regime} on {task.name}: {metric} ({timings['train_s']:.1f}s) -> {args.out}")
    return 0


def _check_mask_source(regime, args, pruning: bool) -> None:
    from junkdna.errors import JunkDNAError

    if args.masks is not None and pruning:
        raise JunkDNAError("give either --masks DIR or pruning options (--sparsity ...), not both")
    has = args.masks is not None or pruning
    if regime.needs_masks and not has:
        raise JunkDNAError(
            f"regime {regime.name!r} needs masks: --masks DIR or pruning options (--sparsity S)"
        )
    if not regime.needs_masks and has:
        raise JunkDNAError(f"regime {regime.name!r} applies no mask; drop --masks/--sparsity")


def _masks(model, args, regime, pruning: bool):
    """The MaskSet, and (for sparse regimes) the model pruned. Frozen keeps pre-trained values."""
    from junkdna.errors import JunkDNAError
    from junkdna.masks import MaskSet

    if args.masks is not None:
        from junkdna.transfer.api import align_masks

        masks = align_masks(MaskSet.load(args.masks), model)
        weights = Path(args.masks) / "weights.safetensors"
        if masks.metadata.get("updates_weights") and regime.name != "frozen":
            # SparseGPT reconstructed the kept weights: the mask alone does not reproduce them.
            if not weights.is_file():
                raise JunkDNAError(f"{masks.metadata.get('method')} masks need {weights}")
            _load_weights(model, masks, weights)
        return masks, 0.0
    if not pruning:
        return None, 0.0
    from junkdna.commands.prune import prune_from_args

    target = copy.deepcopy(model) if regime.name == "frozen" else model
    masks = prune_from_args(target, args.model, args)
    return masks, masks.metadata["time_s"]


def _load_weights(model, masks, path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    params = masks.check_compatible(model)
    prefix = masks.metadata.get("renamed_for_head")
    with torch.no_grad():
        for n, w in load_file(str(path)).items():
            n = f"{prefix}.{n}" if prefix and f"{prefix}.{n}" in params else n
            if n in params:
                params[n].copy_(w)


def _pruning_settings(args) -> dict:
    keys = ("method", "sparsity", "structure", "scope", "include", "exclude", "calibration")
    return {k: getattr(args, k) for k in (*keys, "nsamples", "seqlen", "seed")}


def _save_weights(model, path: Path) -> None:
    from safetensors.torch import save_model

    from junkdna.paths import atomic_path

    with atomic_path(path) as tmp:
        save_model(model, str(tmp))  # handles tied weights (stored once)


def _write(out: Path, record: dict) -> None:
    from junkdna.paths import atomic_write_text

    atomic_write_text(out / "metrics.json", json.dumps(record, indent=2, default=_jsonable))


def _jsonable(x):
    return str(x)
