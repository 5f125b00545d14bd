"""``run_one(spec) -> RunResult``: the ONE pipeline of a run, for the study runner, ``junkdna
finetune`` and the linear-mode-connectivity study alike:

    load the task (budget, human score, difficulty level, validation cap)
    -> seed, load the model with the task's head and its tokenizer
    -> the masks (a pruning point, computed or from the mask cache; or a folder of ready masks)
       and, if the regime prunes the model, the pruned (SparseGPT: reconstructed) weights
    -> fine-tune under the regime, or evaluate as is (regime ``none``)
    -> metrics, invariants, timings, facts about the data and the masks

Writing results (a study's run folder and database row, the CLI's metrics.json) is the caller's.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from junkdna.errors import JunkDNAError
from junkdna.masks import MaskSet
from junkdna.study import maskcache
from junkdna.study.spec import RunSpec
from junkdna.tasks.plausibility import check_run


@dataclass
class RunResult:
    metrics: dict[str, float]  # first key = the primary metric
    invariants: dict[str, Any]  # what the regime checked (all passed)
    timings: dict[str, float]
    info: dict[str, Any]  # n_train, n_validation, task_info, mask facts
    history: list[dict] = field(default_factory=list)
    model: Any = None  # the fine-tuned (or evaluated) model, in memory
    masks: MaskSet | None = None
    task: Any = None  # the TaskData the run used
    items: Any = None  # tasks.metrics.ItemOutcomes of the final evaluation (None: no item form)
    # Scores that cannot be right (tasks.plausibility: below the baseline by > 3 standard
    # errors), as dicts with a "message"; empty when nothing is flagged.
    warnings: list[dict] = field(default_factory=list)


def run_one(spec: RunSpec, *, mask_cache: Path | None = None, on_steps=None) -> RunResult:
    """Execute one run. ``mask_cache``: the folder of this spec's mask key (computed once, then
    shared by every run with the same key; None computes in memory). ``on_steps(total)``: for a
    run that fine-tunes, called once with the number of optimizer steps; it returns a callable
    run after every step (a progress bar). Raises on failure (JunkDNAError for bad input,
    NonFiniteError, InvariantError)."""
    import torch

    from junkdna.transfer import REGIMES, finetune
    from junkdna.transfer.evaluate import evaluate_items

    regime = REGIMES.get(spec.regime)
    regime.check_masks_given(spec.pruning is not None or spec.masks_from is not None)
    if spec.resources is not None:
        torch.set_num_threads(max(1, int(spec.resources.get("num_cpus", 1))))
    t0 = time.perf_counter()
    task = load_run_task(spec)
    model, tokenizer = load_model_for(spec.model_ref, task, spec.seed)
    timings: dict[str, float] = {"load_s": time.perf_counter() - t0}

    masks, mask_info = _masks(spec, regime, model, tokenizer, mask_cache, task)
    if mask_info is not None:
        timings["prune_s"] = mask_info["prune_s"]
    history: list[dict] = []
    hook = None
    if on_steps is not None and regime.finetunes:
        from junkdna.transfer.loop import plan_steps

        hook = on_steps(plan_steps(len(task.train), spec.recipe)[1])
    with _optimizer_hook(hook):
        if regime.finetunes:
            res = finetune(model, tokenizer, task, spec.regime, masks, spec.recipe)
            metrics, invariants, history = res.metrics, res.invariants, res.history
            items = res.items
            timings.update(res.timings)
        else:
            t1 = time.perf_counter()
            model.to(spec.recipe.resolved_device())
            bound = regime(model, masks)
            ev = evaluate_items(model, tokenizer, task, spec.recipe)
            metrics, items = ev.metrics, ev.items
            invariants = bound.check(None)
            timings["eval_s"] = time.perf_counter() - t1
    info: dict[str, Any] = {"n_train": len(task.train), "n_validation": len(task.validation)}
    info["task_info"] = task.info
    if masks is not None:
        info["mask"] = {"sparsity": masks.sparsity, **(mask_info or {})}
        info["mask"].pop("prune_s", None)
    warnings = check_run(metrics, task.info, len(task.validation))
    return RunResult(
        metrics, invariants, timings, info, history, model, masks, task, items, warnings
    )


def load_run_task(spec: RunSpec):
    """The run's TaskData: a registered or local task, its training budget, its human score, its
    difficulty level and its (optionally capped) validation split."""
    from junkdna.difficulty import DataAdequacy, from_params

    cfg, seed = spec.task, spec.seed
    if "file" in cfg:
        from junkdna.tasks.local import load_local_task

        validation = cfg.get("validation")
        task = load_local_task(
            spec.file(cfg["file"]),
            text_fields=cfg.get("text_fields", ["text"]),
            label_field=cfg.get("label_field", "label"),
            head=cfg.get("head", "classification"),
            metric=cfg.get("metric"),
            validation=None if validation is None else spec.file(validation),
            seed=0,  # the hold-out split is fixed; seeds vary training, not the evaluation set
            choices_field=cfg.get("choices_field"),  # None: the head's and the file's default
        )
        task = dataclasses.replace(task, name=cfg["name"])
    else:
        from junkdna.tasks.registry import load_task

        task = load_task(cfg["name"], seed=seed)
    from junkdna.tasks.registry import for_model

    task = for_model(task, spec.model)
    budget = cfg.get("train_examples")
    if budget is not None and budget < len(task.train):
        sampled = DataAdequacy(examples=budget).apply(task, seed)
        info = {k: v for k, v in sampled.info.items() if k != "difficulty"}
        task = dataclasses.replace(sampled, info={**info, "train_budget": budget})
    human_score = spec.labels.human_score
    if human_score is not None and "human" not in task.info:
        human = {"value": human_score, "key": None, "citation": "given in the study file"}
        task = dataclasses.replace(task, info={**task.info, "human": human})
    if spec.difficulty is not None:
        level = from_params(spec.difficulty["setting"], spec.difficulty["params"])
        task = level.apply(task, seed)
    cap = cfg.get("max_validation")
    if cap is not None and cap < len(task.validation):
        # The first N rows: the same evaluation set for every run of the task.
        task = _majority_on_scored_rows(cap_validation(task, cap))
    return _with_chance(task)


def cap_validation(task, max_examples: int | None):
    """The first ``max_examples`` validation rows (the same subset for every run and alpha)."""
    if max_examples is None:
        return task
    if max_examples < 1:
        raise JunkDNAError(f"--max-examples must be >= 1, got {max_examples}")
    if max_examples >= len(task.validation):
        return task
    val = task.validation
    rows = val.select(range(max_examples)) if hasattr(val, "select") else val[:max_examples]
    return dataclasses.replace(task, validation=rows)


def _with_chance(task):
    """A choice task's baseline is chance, 1/k for k choices (averaged over the scored rows), not
    the most frequent answer position: recorded as ``info["chance"]``, which the export prefers."""
    if not task.choices_field or not len(task.validation):
        return task
    ks = [len(c) for c in task.validation[task.choices_field]]
    return dataclasses.replace(task, info={**task.info, "chance": sum(1 / k for k in ks) / len(ks)})


def _majority_on_scored_rows(task):
    """The majority baseline of the rows actually scored (the first N of the validation split),
    not of the whole split: the baseline must describe the same rows as the score."""
    info = task.info
    names, label = task.label_names, info.get("majority_label")
    if names and label in names:
        majority = names.index(label)
    elif names is None and isinstance(label, int):  # a local file's class ids
        majority = label
    else:
        return task
    if not info.get("majority_baseline"):
        return task
    ys = list(task.validation[task.label_field])
    share = sum(y == majority for y in ys) / len(ys) if ys else None
    baseline = {**info["majority_baseline"], "validation": share, "validation_rows": len(ys)}
    return dataclasses.replace(task, info={**info, "majority_baseline": baseline})


def load_model_for(ref: str, task, seed: int):
    """The model with ``task``'s head (seeded: the head's random init) and its tokenizer."""
    import torch
    import transformers

    from junkdna.models import load_model, load_tokenizer

    # A fresh task head is expected in every run; its per-load report would drown the progress.
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(seed)
    return load_model(ref, head=task.head, num_labels=task.num_labels), load_tokenizer(ref)


def _masks(spec: RunSpec, regime, model, tokenizer, mask_cache: Path | None, task=None):
    """The run's MaskSet (names of ``model``) and facts about it; the model pruned (and, for
    methods that reconstruct the kept weights, updated) when the regime prunes the model.
    Freezing keeps the pre-trained values: the masks are then computed on a copy. ``task``: the
    run's TaskData (task-aware methods score with its examples; source "task" calibrates on
    its inputs)."""
    if spec.pruning is None and spec.masks_from is None:
        return None, None
    keep_dense = not regime.prunes_model
    if spec.masks_from is not None:
        masks, weights = maskcache.load_folder(Path(spec.masks_from), model)
        info = {"cached": True, "prune_s": 0.0, "from": str(spec.masks_from)}
        if masks.metadata.get("updates_weights") and weights is None and not keep_dense:
            raise JunkDNAError(
                f"{masks.metadata.get('method')} masks in {spec.masks_from} reconstruct the kept "
                "weights, but weights.safetensors is missing beside masks.safetensors"
            )
    else:
        masks, weights, info = maskcache.get_masks(
            model, tokenizer, spec.pruning, mask_cache, spec.file, keep_dense, task
        )
    if not keep_dense:
        if weights is not None:
            maskcache.apply_weights(model, weights)
        masks.apply(model)
    return masks, info


class _optimizer_hook:
    """Calls ``hook`` after every optimizer step (torch's global optimizer hook, so that the
    training loop needs no callback); nothing when ``hook`` is None."""

    def __init__(self, hook):
        self.hook = hook

    def __enter__(self):
        if self.hook is not None:
            from torch.optim.optimizer import register_optimizer_step_post_hook

            self.handle = register_optimizer_step_post_hook(lambda *a, **k: self.hook())
        return self

    def __exit__(self, *exc):
        if self.hook is not None:
            self.handle.remove()
        return False
