"""One run: load model (with the task's head) -> get or compute the mask -> fine-tune under the
regime, or evaluate without fine-tuning (regime "none") -> one result row.

``execute_run(job)`` is a plain function of a JSON-able job (it runs in-process, in a worker
process or as a Ray task) and never raises for a failure of the run itself: the error and its
traceback come back in the row, so every executor records failures the same way.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from junkdna.study import hooks

NO_FINETUNE = "none"


def execute_run(job: dict[str, Any]) -> dict[str, Any]:
    """``job``: run_id, config, meta, mask_key, resources, root (study folder), output,
    progress (show a per-run bar). Returns the row for ``Store.record``."""
    from junkdna.provenance import versions

    started = time.time()
    row: dict[str, Any] = {
        "experiment": job["meta"]["experiment"],
        "mask_key": job["mask_key"],
        "config": job["config"],
        "meta": job["meta"],
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": started,
    }
    try:
        hooks.checkpoint("run", job["run_id"])
        row.update(_execute(job))
        row["status"] = "done"
    except Exception as e:
        row.update(status="failed", error=f"{type(e).__name__}: {e}")
        row["traceback"] = traceback.format_exc()
    v = versions()
    row.update(versions=v, git_commit=v.get("git_commit"), finished=time.time())
    row.setdefault("timings", {})["total_s"] = row["finished"] - started
    return row


def _execute(job: dict[str, Any]) -> dict[str, Any]:
    import torch
    import transformers

    from junkdna.models import load_model, load_tokenizer
    from junkdna.study import maskcache
    from junkdna.transfer import Recipe

    # A fresh task head is expected in every run; its per-load report would drown the progress.
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    cfg = job["config"]
    root = Path(job["root"])
    torch.set_num_threads(max(1, int(job["resources"].get("num_cpus", 1))))
    recipe = Recipe(**cfg["recipe"])
    t0 = time.perf_counter()
    task = load_study_task(cfg, root, job["meta"].get("human_score"))
    model_ref = str(_resolve(root, cfg["model"]))
    torch.manual_seed(cfg["seed"])  # the task head's random init
    model = load_model(model_ref, head=task.head, num_labels=task.num_labels)
    tokenizer = load_tokenizer(model_ref)
    timings: dict[str, float] = {"load_s": time.perf_counter() - t0}

    masks, mask_info = None, None
    if cfg["pruning"] is not None:
        frozen = cfg["regime"] == "frozen"
        folder = Path(job["output"]) / "masks" / job["mask_key"]
        masks, weights, mask_info = maskcache.get_masks(
            model, tokenizer, cfg["pruning"], folder, lambda p: _file(root, p), frozen
        )
        if not frozen:  # frozen transfer starts from the pre-trained values; masks say what trains
            if weights is not None:
                maskcache.apply_weights(model, weights)
            masks.apply(model)
        timings["prune_s"] = mask_info["prune_s"]

    with _step_bar(job, task, recipe):
        if cfg["regime"] == NO_FINETUNE:
            metrics, invariants, more = _evaluate_only(model, tokenizer, task, recipe, masks)
        else:
            from junkdna.transfer import finetune

            res = finetune(model, tokenizer, task, cfg["regime"], masks, recipe)
            metrics, invariants, more = res.metrics, res.invariants, res.timings
    timings.update(more)
    info = {"n_train": len(task.train), "n_validation": len(task.validation)}
    info["task_info"] = _jsonable(task.info)
    if masks is not None:
        info["mask"] = {"sparsity": masks.sparsity, "cached": mask_info["cached"]}
    t1 = time.perf_counter()
    _write_artifacts(job, model, masks, {"metrics": metrics, "invariants": invariants, **info})
    timings["artifacts_s"] = time.perf_counter() - t1
    return {"metrics": metrics, "invariants": {**invariants, **info}, "timings": timings}


def _resolve(root: Path, ref: str) -> Path | str:
    """A model reference: a path if it looks like one (relative to the study file), else an
    alias or hub id."""
    return _file(root, ref) if ref.startswith((".", "/", "~")) else ref


def _file(root: Path, ref: str) -> Path:
    p = Path(ref).expanduser()
    return p if p.is_absolute() else root / p


def load_study_task(cfg: dict[str, Any], root: Path, human_score: float | None = None):
    """The run's TaskData: a registered or local task, its training budget, its difficulty level
    and its (optionally capped) validation split."""
    from junkdna.difficulty import DataAdequacy, from_params

    spec, seed = cfg["task"], cfg["seed"]
    difficulty = cfg["difficulty"]
    level = None if difficulty is None else from_params(difficulty["setting"], difficulty["params"])
    if "file" in spec:
        from junkdna.tasks.local import load_local_task

        validation = spec.get("validation")
        task = load_local_task(
            _file(root, spec["file"]),
            text_fields=spec.get("text_fields", ["text"]),
            label_field=spec.get("label_field", "label"),
            head=spec.get("head", "classification"),
            metric=spec.get("metric"),
            validation=None if validation is None else _file(root, validation),
            seed=0,  # the hold-out split is fixed; seeds vary training, not the evaluation set
            choices_field=spec.get("choices_field") or "choices",
        )
        task = dataclasses.replace(task, name=spec["name"])
    else:
        from junkdna.tasks.registry import load_task

        task = load_task(spec["name"], seed=seed)
    budget = spec.get("train_examples")
    if budget is not None and budget < len(task.train):
        sampled = DataAdequacy(examples=budget).apply(task, seed)
        info = {k: v for k, v in sampled.info.items() if k != "difficulty"}
        task = dataclasses.replace(sampled, info={**info, "train_budget": budget})
    if human_score is not None and "human" not in task.info:
        human = {"value": human_score, "key": None, "citation": "given in the study file"}
        task = dataclasses.replace(task, info={**task.info, "human": human})
    if level is not None:
        task = level.apply(task, seed)
    cap = spec.get("max_validation")
    if cap is not None and cap < len(task.validation):
        # The first N rows: the same evaluation set for every run of the task.
        task = dataclasses.replace(task, validation=task.validation.select(range(cap)))
        task = _majority_on_scored_rows(task)
    return task


def _majority_on_scored_rows(task):
    """The majority baseline of the rows actually scored (the first N of the validation split),
    not of the whole split: the baseline must describe the same rows as the score."""
    info = task.info
    names, label = task.label_names, info.get("majority_label")
    if not (names and label in names and info.get("majority_baseline")):
        return task
    ys, majority = list(task.validation[task.label_field]), names.index(label)
    share = sum(y == majority for y in ys) / len(ys) if ys else None
    baseline = {**info["majority_baseline"], "validation": share, "validation_rows": len(ys)}
    return dataclasses.replace(task, info={**info, "majority_baseline": baseline})


def _evaluate_only(model, tokenizer, task, recipe, masks):
    from junkdna.transfer import evaluate

    t0 = time.perf_counter()
    model.to(recipe.resolved_device())
    metrics = evaluate(model, tokenizer, task, recipe)
    invariants: dict[str, Any] = {"regime": NO_FINETUNE}
    if masks is not None:
        params = masks.check_compatible(model)
        nonzero = sum(
            int((params[n][~m.to(params[n].device)] != 0).sum()) for n, m in masks.items()
        )
        invariants["pruned_nonzero"] = nonzero
        if nonzero:
            from junkdna.errors import InvariantError

            raise InvariantError(f"{nonzero} pruned weight(s) are not zero at evaluation")
    return metrics, invariants, {"eval_s": time.perf_counter() - t0}


def _write_artifacts(job, model, masks, record: dict[str, Any]) -> None:
    """``<output>/runs/<run_id>/``: result.json, the run's masks (a hard link into the mask
    cache where possible) and, when asked, the fine-tuned weights. Staged, then renamed."""
    runs = Path(job["output"]) / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    final = runs / job["run_id"]
    stage = Path(tempfile.mkdtemp(prefix=f".{job['run_id']}.", dir=runs))
    try:
        body = {"run_id": job["run_id"], "config": job["config"], "meta": job["meta"], **record}
        (stage / "result.json").write_text(json.dumps(_jsonable(body), indent=2, sort_keys=True))
        if masks is not None:
            cached = Path(job["output"]) / "masks" / job["mask_key"] / "masks.safetensors"
            try:
                os.link(cached, stage / "masks.safetensors")
            except OSError:
                shutil.copyfile(cached, stage / "masks.safetensors")
        if job["meta"].get("save_weights"):
            from safetensors.torch import save_model

            save_model(model, str(stage / "model.safetensors"))
        if final.exists():  # left by an attempt that was killed before it was recorded
            shutil.rmtree(final)
        os.replace(stage, final)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x, default=str))


class _step_bar:
    """A per-run progress bar over optimizer steps (in-process runs only), fed by torch's
    global optimizer hook so that the training loop needs no callback."""

    def __init__(self, job, task, recipe):
        self.on = bool(job.get("progress")) and job["config"]["regime"] != NO_FINETUNE
        self.task, self.recipe, self.label = task, recipe, job["run_id"]

    def __enter__(self):
        if not self.on:
            return self
        from torch.optim.optimizer import register_optimizer_step_post_hook
        from tqdm import tqdm

        from junkdna.transfer.loop import plan_steps

        total = plan_steps(len(self.task.train), self.recipe)[1]
        self.bar = tqdm(total=total, desc=f"run {self.label}", unit="step", leave=False)
        self.handle = register_optimizer_step_post_hook(lambda *a, **k: self.bar.update(1))
        return self

    def __exit__(self, *exc):
        if self.on:
            self.handle.remove()
            self.bar.close()
        return False
