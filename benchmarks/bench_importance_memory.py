"""Peak CPU memory of task-aware importance (fisher), per billion prunable parameters: one group
of fp32 gradient accumulators against a small forced ``max_grad_bytes`` (several groups, each
running all examples once), with the scores kept in RAM or spilled to disk.

Each configuration runs in a fresh Python process (a resident-set high-water mark never goes
down). The process loads the model with the task's head (weights copied into process memory, as
``bench_ppl_memory.py`` does, so that a lazily read file mapping does not muddle the figures),
the tokenizer and the task; ``loaded`` is its resident set then. The peak is VmHWM (reset just
before scoring where Linux allows) at the end of ``task_importance``; the figure is peak minus
loaded: what scoring adds above the loaded model. The fp32 scores stay in the returned
ScoreStore (in RAM up to ``JUNKDNA_SCORE_RAM_BYTES``), so they count in the peak, as they do for
a caller that selects from them.

Configurations:

* ``one-group``: the defaults (2 GiB of accumulators fit this model's 4 bytes per prunable
  weight; all scores stay in RAM).
* ``groups``: ``max_grad_bytes`` forced small, scores still in RAM.
* ``groups+spill``: ``max_grad_bytes`` and the store's RAM budget both small: what a 7B model
  gets with the default 2 GiB bounds.

    .venv/bin/python benchmarks/bench_importance_memory.py            # smollm2-135m, squad_mc
    .venv/bin/python benchmarks/bench_importance_memory.py --nsamples 8 --grad-mb 16

Measured on the shared 2-core CPU machine (smollm2-135m fp32, 106.2M of 134.5M parameters
prunable, squad_mc prompts cut to 128 tokens, --nsamples 4, --grad-mb 32):

    config        groups  over model MB  GB/B prunable  spilled MB
    one-group          1            731           7.22           0
    groups            14            625           6.18           0
    groups+spill      14            361           3.56         373

one-group / groups+spill = 2.03x. The fp32 accumulators and scores are 4 bytes per prunable
weight (405 MiB here); the rest (~300 MB) is one example's autograd activations and logits,
which grow with the sequence, hidden size and depth, not with the parameter count, so the
per-billion figure of the split run overstates what a 7B model pays per parameter. (With 16
examples: one-group 745 MB, groups 615 MB: the number of examples does not change the peak.)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

CONFIGS = ("one-group", "groups", "groups+spill")


def _kb(key: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1))


def child(args) -> dict:
    """One configuration in this (fresh) process; returns what it measured."""
    import torch

    from junkdna.evaluate.readings import reset_cpu_peak
    from junkdna.memory import Releaser
    from junkdna.models import load_tokenizer, parameters_by_name, prunable_weights
    from junkdna.pruning.importance import task_importance
    from junkdna.study.run import load_model_for
    from junkdna.tasks.registry import load_task

    torch.set_num_threads(args.threads)
    task = load_task(args.task, seed=0)
    model, _ = load_model_for(args.model, task, 0)
    tok = load_tokenizer(args.model)
    with torch.no_grad():
        for p in model.parameters():
            p.data = p.data.clone()
    gc.collect()
    Releaser(every=0).step(1)
    prunables = prunable_weights(model)
    params = parameters_by_name(model)
    n_prunable = sum(params[n].numel() for n in prunables)
    grad_bytes = None if args.config == "one-group" else args.grad_mb << 20
    if args.config == "groups+spill":
        os.environ["JUNKDNA_SCORE_RAM_BYTES"] = str(args.grad_mb << 20)
    loaded = _kb("VmRSS") * 1024
    resettable = reset_cpu_peak()
    t0 = time.perf_counter()
    store = task_importance(
        model, tok, task, "fisher", nsamples=args.nsamples, seed=0,
        max_grad_bytes=grad_bytes, prunables=prunables,
    )  # fmt: skip
    peak = _kb("VmHWM") * 1024
    info = store.info
    store.close()
    return {
        "config": args.config,
        "prunable": n_prunable,
        "params": sum(p.numel() for p in model.parameters()),
        "loaded": loaded,
        "peak": peak,
        "peak_reset": resettable,
        "groups": info["groups"],
        "spilled_bytes": info["spilled_bytes"],
        "examples": info["examples"],
        "loss": info["loss"],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--task", default="squad_mc", help="a registered task the model's head fits")
    ap.add_argument("--nsamples", type=int, default=16)
    ap.add_argument("--grad-mb", type=int, default=32, help="forced max_grad_bytes, in MiB")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--config", default=None, help=argparse.SUPPRESS)  # the child's
    args = ap.parse_args()
    if args.config:
        print(json.dumps(child(args)), flush=True)
        return
    print(f"{args.model} on {args.task}: fisher, {args.nsamples} examples one at a time, forced "
          f"max_grad_bytes {args.grad_mb} MiB; load average {os.getloadavg()[0]:.1f}",
          flush=True)  # fmt: skip
    print(f"{'config':<13} {'groups':>6} {'over model MB':>13} {'GB/B prunable':>13} "
          f"{'B/prunable':>10} {'spilled MB':>10} {'s':>7}")  # fmt: skip
    rows = {}
    for config in args.configs.split(","):
        cmd = [sys.executable, __file__, "--config", config]
        for k in ("model", "task", "nsamples", "grad_mb", "threads"):
            cmd += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode:
            print(f"{config}: failed\n{res.stderr[-2000:]}")
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        over = r["peak"] - r["loaded"]
        rows[config] = over / r["prunable"] * 1e9  # bytes per billion prunable = GB/B
        print(
            f"{config:<13} {r['groups']:>6} {over / 2**20:>13,.0f} {rows[config] / 1e9:>13.2f} "
            f"{over / r['prunable']:>10.2f} {r['spilled_bytes'] / 2**20:>10,.0f} "
            f"{r['seconds']:>7.1f}",
            flush=True,
        )
    print(f"prunable parameters: {r['prunable']:,} of {r['params']:,}")
    base = rows.get("one-group")
    for config in ("groups", "groups+spill"):
        if base and rows.get(config):
            print(f"one-group / {config}: {base / rows[config]:.2f}x the memory above the model")


if __name__ == "__main__":
    main()
