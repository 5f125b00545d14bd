"""Global magnitude selection and N:M on smollm2-135m (106M prunable weights), against the named
baseline `torch.nn.utils.prune.global_unstructured(L1Unstructured)` measured in the same run.

Each measurement runs in a fresh subprocess so that peak memory is its own: the model is loaded,
the peak-RSS counter is reset, then the pruning runs; "extra" is the peak RSS above the loaded
model. Usage: python benchmarks/bench_select.py [--model smollm2-135m] [--sparsity 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import gc, json, sys, time
import torch
from junkdna.models import load_model, prunable_weights

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    return 0

which, model_name, sparsity = sys.argv[1], sys.argv[2], float(sys.argv[3])
torch.set_num_threads(int(sys.argv[4]))
model = load_model(model_name)
names = list(prunable_weights(model))
# safetensors maps the weights lazily from the file; the first write to each page would cost a
# copy-on-write fault (time and RSS) that has nothing to do with selection. Materialize first.
for p in model.parameters():
    p.data = p.data.clone()
params = dict(model.named_parameters())
n_weights = sum(params[n].numel() for n in names)
gc.collect()
open("/proc/self/clear_refs", "w").write("5")  # reset the peak-RSS counter (VmHWM)
base = rss("VmRSS")
t = time.perf_counter()
if which == "torch-prune-global":
    from torch.nn.utils import prune as tprune
    modules = dict(model.named_modules())
    targets = [(modules[n.rsplit(".", 1)[0]], "weight") for n in names]
    tprune.global_unstructured(targets, pruning_method=tprune.L1Unstructured, amount=sparsity)
    removed = sum(int((m.weight_mask == 0).sum()) for m, _ in targets)
elif which == "junkdna-global":
    from junkdna.pruning import prune
    ms = prune(model, "magnitude", sparsity, scope="global")
    removed = ms.total - ms.kept
elif which == "junkdna-2:4":
    from junkdna.pruning import prune
    ms = prune(model, "magnitude", structure="2:4")
    removed = ms.total - ms.kept
secs = time.perf_counter() - t
peak = rss("VmHWM")
print(json.dumps({"secs": secs, "extra_bytes": max(0, peak - base), "weights": n_weights,
                  "removed": removed}))
"""


def measure(which: str, model: str, sparsity: float, threads: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, which, model, str(sparsity), str(threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--sparsity", type=float, default=0.5)
    # One thread by default: on a shared, loaded machine OpenMP threads of many small ops wait on
    # each other and the numbers mean little; both sides get the same setting.
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    base = measure("torch-prune-global", args.model, args.sparsity, args.threads)
    ours = measure("junkdna-global", args.model, args.sparsity, args.threads)
    nm = measure("junkdna-2:4", args.model, args.sparsity, args.threads)
    w = ours["weights"]
    print(
        f"model {args.model}: {w:,} prunable weights, sparsity {args.sparsity}, "
        f"{args.threads} thread(s), load average {os.getloadavg()[0]:.1f}"
    )
    for name, r in [
        ("torch.nn.utils.prune global L1 (baseline)", base),
        ("junkdna global", ours),
        ("junkdna 2:4", nm),
    ]:
        print(
            f"  {name:<42} {r['secs']:7.2f} s  peak extra {r['extra_bytes'] / w:5.2f} B/weight"
            f"  removed {r['removed']:,}"
        )
    print(f"speed-up of junkdna global over the baseline: {base['secs'] / ours['secs']:.1f}x")
    print(f"junkdna global peak extra memory: {ours['extra_bytes'] / w:.2f} bytes per weight")
    print(f"junkdna 2:4 time: {nm['secs']:.2f} s")


if __name__ == "__main__":
    main()
