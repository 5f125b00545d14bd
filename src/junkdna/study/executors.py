"""Where runs execute. An executor only runs ``execute_run(job)`` somewhere and hands the rows
back; the driver claims runs and writes the database (so no worker ever writes it).

* ``local`` with 1 worker: in the driver's process (per-run progress bar);
* ``local`` with N workers: a pool of N spawned processes;
* ``ray``: each run is a Ray task requesting the run's ``num_cpus``/``num_gpus``. A task whose
  worker process dies (killed, out of memory, a lost node) is retried by Ray up to
  ``RAY_MAX_RETRIES`` times, then recorded as failed; a run that fails by raising is recorded as
  failed at once (``execute_run`` returns its error: a deterministic failure is not retried).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from typing import Any

from junkdna.errors import JunkDNAError
from junkdna.registry import Registry
from junkdna.study import hooks
from junkdna.study.failures import ENVIRONMENT
from junkdna.study.runner import base_row, execute_run

EXECUTORS: Registry[type] = Registry("executor")
# Variables a remote worker needs to find the same caches and stay offline (and the test hooks).
FORWARDED_ENV = (
    "JUNKDNA_HOME", "HF_HOME", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TOKENIZERS_PARALLELISM",
    *hooks.VARIABLES,
)  # fmt: skip
# Tries after the first when a run's Ray worker dies (system failures only).
RAY_MAX_RETRIES = 2


def _failed(job: dict[str, Any], error: str) -> dict[str, Any]:
    """A row for a run whose worker died before it could report (OOM kill, lost node): a
    failure of the environment (the next `junkdna run` tries it again)."""
    import time

    return {"status": "failed", "error": error, **base_row(job["spec"]), "finished": time.time(),
            "failure_kind": ENVIRONMENT}  # fmt: skip


class Executor:
    capacity: int

    def submit(self, job: dict[str, Any]) -> Any:
        raise NotImplementedError

    def wait(self, handles: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Block until at least one submitted run finished; return (run_id, row) pairs."""
        raise NotImplementedError

    def shutdown(self) -> None:
        pass


@EXECUTORS.register("local")
class LocalExecutor(Executor):
    def __init__(self, workers: int = 1, address: str | None = None):
        if address is not None:
            raise JunkDNAError("--address is for the ray executor; drop it or add --executor ray")
        if workers < 1:
            raise JunkDNAError(f"--workers must be at least 1, got {workers}")
        self.capacity = workers
        self.pool = None
        self.jobs: dict[Any, dict] = {}
        if workers > 1:
            self.pool = self._new_pool()

    def _new_pool(self):
        # spawn: a fresh interpreter per worker (no forked torch/tokenizer thread state).
        ctx = multiprocessing.get_context("spawn")
        return cf.ProcessPoolExecutor(max_workers=self.capacity, mp_context=ctx)

    def submit(self, job):
        if self.pool is None:
            return {**job, "progress": True}  # runs inside wait(), in this process
        try:
            fut = self.pool.submit(execute_run, job)
        except cf.process.BrokenProcessPool:  # a worker was killed (e.g. for memory): go on
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()
            fut = self.pool.submit(execute_run, job)
        self.jobs[fut] = job
        return fut

    def wait(self, handles):
        if self.pool is None:
            run_id, job = next(iter(handles.items()))
            return [(run_id, execute_run(job))]
        done, _ = cf.wait(list(handles.values()), return_when=cf.FIRST_COMPLETED)
        out = []
        for run_id, fut in handles.items():
            if fut in done:
                job = self.jobs.pop(fut)
                try:
                    out.append((run_id, fut.result()))
                except Exception as e:  # the worker process died (e.g. killed for memory)
                    out.append((run_id, _failed(job, f"worker died: {type(e).__name__}: {e}")))
        return out

    def shutdown(self):
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


@EXECUTORS.register("ray")
class RayExecutor(Executor):
    def __init__(self, workers: int | None = None, address: str | None = None):
        try:
            import ray
        except ImportError:
            raise JunkDNAError("the ray executor needs Ray: pip install 'ray[default]'") from None
        self.ray = ray
        env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is None and workers:
                kwargs["num_cpus"] = workers  # a local cluster of this size
            ray.init(address=address, runtime_env={"env_vars": env}, **kwargs)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.capacity = workers or max(cpus, 1)
        self.remote = ray.remote(execute_run)
        self.jobs: dict[Any, dict] = {}

    def submit(self, job):
        res = job["spec"].resources or {}
        ref = self.remote.options(
            num_cpus=res.get("num_cpus", 1),
            num_gpus=res.get("num_gpus", 0),
            max_retries=RAY_MAX_RETRIES,  # the worker died: run it again, elsewhere if need be
            retry_exceptions=False,  # execute_run returns a run's own errors; never raised here
        ).remote(job)
        self.jobs[ref] = job
        return ref

    def wait(self, handles):
        ready, _ = self.ray.wait(list(handles.values()), num_returns=1)
        out = []
        for run_id, ref in handles.items():
            if ref in ready:
                job = self.jobs.pop(ref)
                try:
                    out.append((run_id, self.ray.get(ref)))
                except Exception as e:  # the task's worker died every try, or the node was lost
                    first = (str(e).strip().splitlines() or [""])[0][:300]
                    if isinstance(e, self.ray.exceptions.RayTaskError):
                        error = "ray task failed"
                    else:
                        error = f"its Ray worker died on each of {RAY_MAX_RETRIES + 1} tries"
                    out.append((run_id, _failed(job, f"{error}: {type(e).__name__}: {first}")))
        return out

    def shutdown(self):
        for ref in self.jobs:
            self.ray.cancel(ref, force=True)
        self.jobs.clear()


def make_executor(name: str, workers: int | None, address: str | None) -> Executor:
    cls = EXECUTORS.get(name)
    if workers is not None and workers < 1:
        raise JunkDNAError(f"--workers must be at least 1, got {workers}")
    if name == "local":
        return cls(workers or 1, address)
    return cls(workers, address)
