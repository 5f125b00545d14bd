"""One fine-tuning epoch of MiniLM on MultiEmo sentences: the loop as shipped (fused AdamW, and
with `group_by_length`) against the baseline of a per-tensor AdamW loop over randomly composed
batches (what torch.optim.AdamW does on CPU by default). Alternating repetitions in one process,
so the ratios survive a shared, noisy machine.

    .venv/bin/python benchmarks/bench_epoch.py --examples 320 --reps 3 --threads 1
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=320)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-length", type=int, default=32)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    torch.set_num_threads(args.threads)
    from junkdna.difficulty import from_params
    from junkdna.heads.batching import pad_id
    from junkdna.models import load_model, load_tokenizer
    from junkdna.recipe import Recipe
    from junkdna.tasks.registry import load_task
    from junkdna.transfer import data, loop
    from junkdna.transfer.regimes import REGIMES

    tok = load_tokenizer("minilm")
    base = load_model("minilm", head="classification", num_labels=4)
    task = load_task(
        "multiemo_en", difficulty=from_params("data_adequacy", {"examples": args.examples}), seed=1
    )
    shipped_fuse = loop._can_fuse
    variants = {
        "baseline: per-tensor AdamW, random batches": (False, False),
        "fused AdamW, random batches": (True, False),
        "fused AdamW, group_by_length": (True, True),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(args.reps):
        for name, (fused, group) in variants.items():
            loop._can_fuse = shipped_fuse if fused else (lambda params: False)
            recipe = Recipe(
                lr=1e-4, epochs=1, batch_size=32, max_length=args.max_length,
                group_by_length=group, seed=1,
            )  # fmt: skip
            model = copy.deepcopy(base)
            features, _ = data.encode(tok, task, "train", recipe)
            bound = REGIMES.get("dense")(model, None)
            t = time.perf_counter()
            loop.train(model, features, bound, recipe, pad_id(tok))
            times[name].append(time.perf_counter() - t)
    loop._can_fuse = shipped_fuse
    base_t = statistics.median(times["baseline: per-tensor AdamW, random batches"])
    print(f"load average {os.getloadavg()[0]:.1f}; {args.examples} examples, batch 32, "
          f"max length {args.max_length}, {args.threads} thread(s), median of {args.reps}")  # fmt: skip
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:<45} {med:7.2f} s   speed-up vs baseline {base_t / med:5.2f}x")


if __name__ == "__main__":
    main()
