"""A study's run in a worker: ``execute_run(job)`` calls ``run_one`` (``junkdna.study.run``) and
turns its result, or its failure, into the row the driver records, after writing the run's folder.

``execute_run`` is a plain function of a picklable job ({"spec": RunSpec, "output": study output
folder, "progress": show a per-run bar}); it runs in-process, in a worker process or as a Ray
task, and never raises for a failure of the run itself: the error and its traceback come back in
the row, so every executor records failures the same way.
"""

from __future__ import annotations

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
from junkdna.study.failures import failure_kind
from junkdna.study.run import run_one
from junkdna.study.spec import WEIGHTS, RunSpec


def job_for(spec: RunSpec, output: Path) -> dict[str, Any]:
    return {"spec": spec, "output": str(output)}


def base_row(spec: RunSpec) -> dict[str, Any]:
    return {
        "experiment": spec.labels.experiment,
        "mask_key": spec.mask_key,
        "config": spec.config,
        "meta": spec.labels.to_dict(),
    }


def execute_run(job: dict[str, Any]) -> dict[str, Any]:
    """Returns the row for ``Store.record``."""
    from junkdna.provenance import versions

    spec: RunSpec = job["spec"]
    started = time.time()
    row: dict[str, Any] = {
        **base_row(spec),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": started,
    }
    try:
        hooks.checkpoint("run", spec.run_id)
        row.update(_execute(spec, Path(job["output"]), bool(job.get("progress"))))
        row["status"] = "done"
    except Exception as e:
        row.update(status="failed", error=f"{type(e).__name__}: {e}")
        row["traceback"] = traceback.format_exc()
        row["failure_kind"] = failure_kind(e)  # "environment": retried by the next `junkdna run`
    v = versions()
    row.update(versions=v, git_commit=v.get("git_commit"), finished=time.time())
    row.setdefault("timings", {})["total_s"] = row["finished"] - started
    return row


def _execute(spec: RunSpec, output: Path, progress: bool) -> dict[str, Any]:
    cache = None if spec.mask_key is None else output / "masks" / spec.mask_key
    bar = _StepBar(spec.run_id) if progress else None
    try:
        res = run_one(spec, mask_cache=cache, on_steps=bar)
    finally:
        if bar is not None:
            bar.close()
    # Warnings (a score below its baseline) ride in the row's invariants and result.json.
    info = {**res.info, "task_info": _jsonable(res.info["task_info"]), "warnings": res.warnings}
    t1 = time.perf_counter()
    _write_artifacts(spec, output, res, {"metrics": res.metrics, "invariants": res.invariants,
                                         **info})  # fmt: skip
    timings = {**res.timings, "artifacts_s": time.perf_counter() - t1}
    row = {"metrics": res.metrics, "invariants": {**res.invariants, **info}, "timings": timings}
    if res.items is not None:
        row["items"] = res.items
    return row


def _write_artifacts(spec: RunSpec, output: Path, res, record: dict[str, Any]) -> None:
    """``<output>/runs/<run_id>/``: result.json, the run's masks (a hard link into the mask
    cache where possible) and, when asked, the fine-tuned weights. Staged, then renamed."""
    runs = output / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    final = runs / spec.run_id
    stage = Path(tempfile.mkdtemp(prefix=f".{spec.run_id}.", dir=runs))
    try:
        body = {"run_id": spec.run_id, "config": spec.config, "meta": spec.labels.to_dict()}
        body.update(record)
        (stage / "result.json").write_text(json.dumps(_jsonable(body), indent=2, sort_keys=True))
        if res.masks is not None:
            cached = output / "masks" / str(spec.mask_key) / "masks.safetensors"
            try:
                os.link(cached, stage / "masks.safetensors")
            except OSError:
                shutil.copyfile(cached, stage / "masks.safetensors")
        if spec.labels.save_weights:
            from safetensors.torch import save_model

            save_model(res.model, str(stage / WEIGHTS))
        if final.exists():  # left by an attempt that was killed before it was recorded
            shutil.rmtree(final)
        os.replace(stage, final)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x, default=str))


class _StepBar:
    """A per-run progress bar over optimizer steps (in-process runs only): ``run_one`` calls it
    with the number of steps and then calls what it returns after every step."""

    def __init__(self, label: str):
        self.label, self.bar = label, None

    def __call__(self, total: int):
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=f"run {self.label}", unit="step", leave=False)
        return lambda: self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
