"""`junkdna finetune MODEL --task TASK --regime R [--masks DIR | pruning options] --out DIR`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from pathlib import Path

from junkdna.commands.prune import add_pruning_arguments, add_save_model_argument

# Recipe fields the CLI does not expose as flags (seed comes from the shared --seed).
_HIDDEN = {"seed", "adam_betas"}


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "finetune",
        help="fine-tune a (pruned) model under a transfer regime and score it",
        description="Fine-tune MODEL on TASK under one transfer regime (dense, sparse, frozen, "
        "sparse-to-dense; or none: evaluate without fine-tuning) and write DIR/metrics.json "
        "(metrics, invariants, timings, config, versions). Masks come from --masks DIR (written "
        "by `junkdna prune`) or are made here from the pruning options. --seed seeds everything: "
        "head init, data order, dropout, calibration sampling (a local task file's validation "
        "hold-out is fixed, the same for every seed).",
        examples=[
            "junkdna finetune minilm --task sst2_val --regime sparse --sparsity 0.4 --max-steps 30 --save-weights --out out/ft",
            "junkdna finetune minilm --task sst2_val --regime dense --max-steps 30 --save-weights --out out/dense",
        ],
    )
    p.add_argument("model", help="hub id, local folder, .gguf file, or alias")
    p.add_argument("--task", required=True, help="a .jsonl/.csv file or a registered task name")
    p.add_argument(
        "--regime", required=True, help="dense, sparse, frozen, sparse-to-dense or none (evaluate)"
    )
    p.add_argument("--masks", type=Path, default=None, help="folder with masks.safetensors")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--save-weights", action="store_true", help="also write DIR/model.safetensors")
    add_save_model_argument(p)
    g = p.add_argument_group(
        "local task file (a registered task brings its own; giving these with one is an error)"
    )
    g.add_argument(
        "--text-field", action="append", default=None, help="default text; repeat for pairs"
    )
    g.add_argument("--label-field", default=None, help="default label")
    g.add_argument(
        "--head",
        default=None,
        help="classification (default), regression, multiple-choice, causal-lm, seq2seq",
    )
    g.add_argument(
        "--choices-field",
        default=None,
        help="the field listing each row's choices (default: 'choices' where the file has it); "
        "multiple-choice needs it, causal-lm and seq2seq score each choice by log-likelihood",
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
    from junkdna.recipe import Recipe

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
    from junkdna.recipe import Recipe

    given = {}
    for name in Recipe.model_fields:
        value = getattr(args, name, None)
        if name not in _HIDDEN and value is not None:
            given[name] = None if value == "none" else value  # pydantic converts the strings
    return Recipe(**given, seed=args.seed)


def task_config(args) -> tuple[dict, dict | None]:
    """The run's task config (as a study file writes it) and difficulty level from the flags."""
    from junkdna.errors import JunkDNAError
    from junkdna.study.config import Task

    path = Path(args.task)
    if path.suffix in (".jsonl", ".csv") or path.exists():
        task = Task(
            name=path.stem,
            file=str(path),
            text_fields=args.text_field or ["text"],
            label_field=args.label_field or "label",
            choices_field=args.choices_field,
            head=args.head or "classification",
            metric=args.metric,
            validation=args.validation,
        )
    else:
        given = [flag for flag, dest in FILE_FLAGS.items() if getattr(args, dest) is not None]
        if given:  # a flag the command would ignore is an error
            from junkdna.tasks.registry import get_spec

            get_spec(args.task)  # an unknown name: did-you-mean (the flags are not the problem)
            raise JunkDNAError(
                f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to a local task "
                f"file (.jsonl/.csv); registered task {args.task!r} brings its own fields, head "
                "and metric"
            )
        task = Task(name=args.task)
    return task.model_dump(exclude_none=True), parse_difficulty(args.difficulty)


# The flags of a local task file -> their argparse destinations.
FILE_FLAGS = {
    "--text-field": "text_field", "--label-field": "label_field", "--head": "head",
    "--choices-field": "choices_field", "--validation": "validation", "--metric": "metric",
}  # fmt: skip


def parse_difficulty(text: str | None) -> dict | None:
    """``data_adequacy:fraction=0.1,...`` -> {"setting", "params"} (values parsed as JSON when
    they can), checked against the setting's parameters."""
    if text is None:
        return None
    from junkdna.difficulty import from_params
    from junkdna.errors import JunkDNAError

    name, _, rest = text.partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise JunkDNAError(
                f"difficulty parameter {item!r} is not key=value (e.g. "
                "--difficulty data_adequacy:fraction=0.1)"
            )
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    level = from_params(name.strip(), params)  # unknown names and parameters fail here
    return {"setting": level.name, "params": params}


def spec_from_args(args):
    """The RunSpec of ``junkdna finetune``'s flags."""
    from junkdna.errors import JunkDNAError
    from junkdna.transfer import REGIMES

    regime = REGIMES.get(args.regime)  # fail fast, with did-you-mean
    pruning = args.sparsity is not None or args.structure != "unstructured"
    pruning = pruning or args.budget is not None
    if args.masks is not None and pruning:
        raise JunkDNAError("give either --masks DIR or pruning options (--sparsity ...), not both")
    regime.check_masks_given(args.masks is not None or pruning)
    task, difficulty = task_config(args)
    from junkdna.study.spec import RunSpec

    return RunSpec(
        model=args.model,
        task=task,
        regime=args.regime,
        recipe=recipe_from_args(args),
        difficulty=difficulty,
        pruning=pruning_point(args) if pruning else None,
        masks_from=args.masks,
    )


def pruning_point(args):
    """A PruningPoint from the shared pruning flags (checked as a study checks its points)."""
    from junkdna.commands.prune import calibration_settings
    from junkdna.study.spec import PruningPoint

    calibration = calibration_settings(args)  # the flags, per-method defaults filled in
    return PruningPoint.resolve(
        args.method, args.sparsity, args.structure, args.scope, calibration,
        args.include, args.exclude, args.budget,
    )  # fmt: skip


def run(args) -> int:
    from junkdna.errors import InvariantError, JunkDNAError
    from junkdna.masks import MaskSet
    from junkdna.paths import check_writable_folder, staged_folder
    from junkdna.provenance import versions
    from junkdna.study.run import run_one
    from junkdna.study.spec import WEIGHTS
    from junkdna.transfer.loop import NonFiniteError

    spec = spec_from_args(args)
    # Fail fast, before the model loads: a folder the results can go to, a readable masks file.
    check_writable_folder(args.out, "--out")
    if args.masks is not None:
        MaskSet.check_file(args.masks)
    if args.save_model is not None:
        from junkdna.pruning.save import check_model_folder

        check_model_folder(args.save_model)
    pruning = None if spec.pruning is None else dataclasses.asdict(spec.pruning)
    masks_from = str(args.masks) if args.masks else ("pruned here" if pruning else None)
    config = {**spec.config, "pruning": pruning, "masks_from": masks_from}
    record = {"config": config, "versions": versions()}
    if spec.masks_from is None:  # ready masks are not part of the hashed config
        record["run_id"] = spec.run_id
    try:
        res = run_one(spec)
    except JunkDNAError as e:
        if isinstance(e, InvariantError | NonFiniteError):  # the run failed: recorded, exit 2
            _write(args.out, {"status": "error", "error": f"{type(e).__name__}: {e}", **record})
        raise  # a bad input (a path, a name, a file): nothing written
    except Exception as e:  # recorded, then re-raised
        _write(args.out, {"status": "error", "error": f"{type(e).__name__}: {e}", **record})
        raise
    task = res.task
    record["config"]["task"] = {"name": task.name, "head": task.head, "metric": task.metric,
                                **task.info}  # fmt: skip
    # A score that cannot be right (below its baseline by > 3 standard errors) is not "ok".
    out = {"status": "warning" if res.warnings else "ok", "metrics": res.metrics}
    out |= {"warnings": res.warnings, "n_validation": len(task.validation)}
    out |= {"invariants": res.invariants}
    out |= {"timings": {"prune_s": 0.0, **res.timings}, **record}
    out |= {"masks": dict(res.masks.metadata) if res.masks is not None else None}
    out |= {"history": res.history}
    with staged_folder(args.out, "--out") as stage:  # all files or none
        if spec.pruning is not None:
            res.masks.save(stage / "masks.safetensors")  # reusable with --masks DIR
        if args.save_weights:
            _save_weights(res.model, stage / WEIGHTS)
        _write(stage, out)
    if args.save_model is not None:
        from junkdna.commands.prune import save_model_from_args

        save_model_from_args(args, res.model, res.masks, regime=args.regime, task=task.name,
                             metrics=res.metrics)  # fmt: skip
    metric = ", ".join(f"{k}={v:.4f}" for k, v in res.metrics.items())
    seconds = res.timings.get("train_s", res.timings.get("eval_s", 0.0))
    print(f"{args.regime} on {task.name}: {metric} ({seconds:.1f}s) -> {args.out}")
    for w in res.warnings:
        print(f"junkdna finetune: warning: {w['message']}", file=sys.stderr)
    return 0


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
