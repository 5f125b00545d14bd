"""Peak CPU memory of loading, pruning and evaluating a causal LM, per billion parameters.

Each phase runs in a fresh Python process (a resident-set high-water mark never goes down, so
phases must not share one): the baseline is the resident set after the imports and the tokenizer
(what any run pays before the model), the peak is the process's VmHWM at the end. Printed per
phase: peak minus baseline in MB, in GB per billion parameters of the model, in bytes per
parameter, and (pruning phases) the extra over the loaded model, with the calibration
activations that the block-by-block engine holds (2 x nsamples x seqlen x hidden x dtype bytes:
one block's inputs and its outputs) shown apart because they scale with the calibration, not
with the model.

    .venv/bin/python benchmarks/bench_ppl_memory.py                     # smollm2-135m, fp32
    .venv/bin/python benchmarks/bench_ppl_memory.py --precision bf16    # half the weights

Measured 2026-12-04 on the shared 2-core machine (smollm2-135m, 134.5M parameters, calibration
16 x 512, evaluation 4 windows x 512 in one batch); see the README's "Perplexity and the
field's yardstick" section for the table and what it means for a 7B model.
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

PHASES = ("load", "magnitude", "wanda", "sparsegpt", "ppl")


def _kb(key: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1))


def child(args) -> dict:
    """One phase in this (fresh) process; prints one JSON line."""
    import torch

    from junkdna.commands.prune import prune_from_args
    from junkdna.evaluate.perplexity import perplexity
    from junkdna.evaluate.readings import reset_cpu_peak
    from junkdna.memory import Releaser
    from junkdna.models import load_model, load_tokenizer

    torch.set_num_threads(args.threads)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[args.precision]
    tok = load_tokenizer(args.model)
    ids = torch.randint(0, len(tok), (args.seqlen * 4,), generator=torch.Generator().manual_seed(0))
    reset_cpu_peak()
    baseline = _kb("VmRSS") * 1024
    t0 = time.perf_counter()
    model = load_model(args.model, dtype=dtype).eval()
    # from_pretrained may leave weights in a lazily read file mapping: copy them into memory of
    # the process, as a model that was converted or pruned is (a mapping's clean pages would be
    # counted once read but could be dropped by the kernel, which muddles every figure below).
    with torch.no_grad():
        for p in model.parameters():
            p.data = p.data.clone()
    gc.collect()
    Releaser(every=0).step(1)  # malloc_trim: freed conversion buffers back to the system
    loaded = _kb("VmRSS") * 1024
    load_peak = _kb("VmHWM") * 1024
    reset_cpu_peak()  # from here: the phase's own peak
    params = sum(p.numel() for p in model.parameters())
    hidden = model.config.hidden_size
    out = {"phase": args.phase, "params": params, "baseline": baseline, "loaded": loaded}
    if args.phase in ("magnitude", "wanda", "sparsegpt"):
        ns = argparse.Namespace(
            method=args.phase, sparsity=0.5, structure="unstructured", scope=None, include=[],
            exclude=[], calibration="default", nsamples=args.nsamples, seqlen=args.seqlen,
            seed=0, device="cpu",
        )  # fmt: skip
        prune_from_args(model, args.model, ns)
        if args.phase != "magnitude":
            out["activations"] = 2 * args.nsamples * args.seqlen * hidden * dtype.itemsize
    elif args.phase == "ppl":
        perplexity(model, ids, args.seqlen, batch_size=4)
        vocab = model.get_output_embeddings().weight.shape[0]
        out["logits"] = 4 * args.seqlen * vocab * dtype.itemsize
    out |= {"peak": max(_kb("VmHWM") * 1024, load_peak), "phase_peak": _kb("VmHWM") * 1024,
            "load_peak": load_peak, "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
    ap.add_argument("--nsamples", type=int, default=16)
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--phases", default=",".join(PHASES))
    ap.add_argument("--phase", default=None, help=argparse.SUPPRESS)  # the child's
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(child(args)), flush=True)
        return
    print(f"{args.model} {args.precision}, calibration {args.nsamples} x {args.seqlen}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    head = f"{'phase':<10} {'peak-base MB':>12} {'GB/B params':>11} {'model MB':>9} "
    print(head + f"{'over model MB':>13} {'B/param over':>12} {'acts/logits MB':>14} {'s':>6}")
    for phase in args.phases.split(","):
        cmd = [sys.executable, __file__, "--phase", phase]
        for k in ("model", "precision", "nsamples", "seqlen", "threads"):
            cmd += [f"--{k}", str(getattr(args, k))]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode:
            print(f"{phase}: failed\n{res.stderr[-2000:]}")
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        extra = r["peak"] - r["baseline"]
        model = r["loaded"] - r["baseline"]
        over = r["phase_peak"] - r["loaded"] if phase != "load" else r["load_peak"] - r["loaded"]
        acts = r.get("activations", r.get("logits", 0))
        print(
            f"{phase:<10} {extra / 2**20:>12,.0f} {extra / r['params']:>11.2f} "
            f"{model / 2**20:>9,.0f} {over / 2**20:>13,.0f} {over / r['params']:>12.2f} "
            f"{acts / 2**20:>14,.0f} {r['seconds']:>6.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
