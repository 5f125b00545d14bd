"""SparseGPT per layer: time against magnitude and Wanda on the same layer, measured in the same
run, and the layer reconstruction error ||XW^T - XW'^T|| / ||XW^T|| of each method.

    .venv/bin/python benchmarks/bench_sparsegpt.py --model minilm --calibration default
    .venv/bin/python benchmarks/bench_sparsegpt.py --model smollm2-135m --structure 2:4

Inputs X are those of the dense model's first block(s) on the calibration windows; every method
prunes the same weight from the same X. Times include building the statistics from X.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from junkdna.models import load_model, load_tokenizer, parameters_by_name, prunable_weights
from junkdna.pruning.calibration import calibration_from_source
from junkdna.pruning.select import MaskRule, Structure
from junkdna.pruning.sequential import model_inputs
from junkdna.pruning.sparsegpt import Hessian, solve
from junkdna.pruning.wanda import ColumnNorms, Wanda


def layer_inputs(model, prunables, ids) -> dict[str, torch.Tensor]:
    """Dense inputs of each layer, (tokens, in) fp32."""
    seen: dict[str, list[torch.Tensor]] = {n: [] for n in prunables}
    hooks = [
        model.get_submodule(p.module_name).register_forward_hook(
            lambda m, a, o, n=n: seen[n].append(a[0].detach().reshape(-1, a[0].shape[-1]).float())
        )
        for n, p in prunables.items()
    ]
    with torch.no_grad():
        for batch in ids.split(8):
            model(**model_inputs(model, batch))
    for h in hooks:
        h.remove()
    return {n: torch.cat(xs) for n, xs in seen.items()}


def timed(fn, repeat: int):
    """Best of ``repeat`` runs: the machine may be shared, the minimum is the least noisy."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def rel_error(w, w_new, x) -> float:
    ref = x @ w.T
    return float(torch.linalg.norm(ref - x @ w_new.T) / torch.linalg.norm(ref))


def bench_layer(w, x, structure: Structure, sparsity: float, repeat: int = 3):
    nm = structure.is_nm

    def magnitude():
        return w * MaskRule(sparsity, structure, "layer").select(w.abs())

    def wanda():
        norms = ColumnNorms(x.shape[1])
        norms.add(x)
        return w * MaskRule(sparsity, structure, "layer" if nm else "row").select(
            Wanda().score(w, norms)
        )

    def sparsegpt():
        h = Hessian(x.shape[1])
        h.add(x)
        return solve(w, h.h, MaskRule(sparsity, structure, "layer"))[0]

    return {
        name: timed(fn, repeat)
        for name, fn in [("mag", magnitude), ("wanda", wanda), ("sgpt", sparsegpt)]
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--calibration", default="default", help="'default' or a .txt/.jsonl file")
    ap.add_argument("--nsamples", type=int, default=16)
    ap.add_argument("--seqlen", type=int, default=128)
    ap.add_argument("--sparsity", type=float, default=0.5)
    ap.add_argument("--structure", default="unstructured")
    ap.add_argument("--repeat", type=int, default=3, help="timings: best of this many runs")
    ap.add_argument("--blocks", type=int, default=1, help="how many leading blocks to measure")
    args = ap.parse_args()
    structure = Structure.parse(args.structure)
    sparsity = structure.sparsity if structure.is_nm else args.sparsity

    model = load_model(args.model).eval()
    ids = calibration_from_source(
        load_tokenizer(args.model), args.calibration, args.nsamples, args.seqlen, seed=0
    )
    prunables = prunable_weights(model)
    blocks = list(dict.fromkeys(p.block for p in prunables.values()))[: args.blocks]
    prunables = {n: p for n, p in prunables.items() if p.block in blocks}
    xs = layer_inputs(model, prunables, ids)
    params = parameters_by_name(model)
    print(
        f"{args.model} {structure} sparsity={sparsity:g} tokens={ids.numel()} "
        f"threads={torch.get_num_threads()}"
    )
    print(
        f"{'layer':<44} {'shape':>11} {'mag ms':>8} {'wanda ms':>9} {'sgpt ms':>8} "
        f"{'sgpt/mag t':>10} {'err mag':>8} {'err wanda':>9} {'err sgpt':>8}"
    )
    first = next(iter(prunables))
    bench_layer(
        prunables[first].matrix(params[first].detach()).float(),
        xs[first],
        structure,
        sparsity,
        repeat=1,
    )  # warm-up: first calls pay for lazy initialisation
    time_ratios, vs_mag, vs_wanda = [], [], []
    for n, p in prunables.items():
        w = p.matrix(params[n].detach()).float()
        res = bench_layer(w, xs[n], structure, sparsity, args.repeat)
        err = {k: rel_error(w, out, xs[n]) for k, (out, _) in res.items()}
        t = {k: s for k, (_, s) in res.items()}
        time_ratios.append(t["sgpt"] / t["mag"])
        vs_mag.append(err["sgpt"] / err["mag"])
        vs_wanda.append(err["sgpt"] / err["wanda"])
        print(
            f"{n[-44:]:<44} {str(tuple(w.shape)):>11} {1e3 * t['mag']:>8.1f} "
            f"{1e3 * t['wanda']:>9.1f} {1e3 * t['sgpt']:>8.1f} {time_ratios[-1]:>10.1f} "
            f"{err['mag']:>8.4f} {err['wanda']:>9.4f} {err['sgpt']:>8.4f}"
        )

    def gmean(v):
        return math.exp(sum(math.log(a) for a in v) / len(v))

    print(
        f"geometric means over {len(vs_mag)} layers: SparseGPT time / magnitude time = "
        f"{gmean(time_ratios):.1f}x; error SparseGPT / magnitude = {gmean(vs_mag):.3f}, "
        f"SparseGPT / Wanda = {gmean(vs_wanda):.3f}"
    )


if __name__ == "__main__":
    main()
