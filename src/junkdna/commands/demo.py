"""`junkdna demo`: the built-in default job on the offline models."""

from __future__ import annotations

import argparse
import time


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("demo", help="run the built-in default job on the offline MiniLM model")
    p.add_argument("--model", default="minilm")
    p.add_argument("--sparsities", default="0.1,0.3,0.5,0.7")
    return p


def run(args) -> int:
    """Until the full study exists: every method and structure at a few sparsities."""
    import copy

    from junkdna.commands.prune import print_layer_table
    from junkdna.models import load_model, load_tokenizer
    from junkdna.pruning import CRITERIA, prune

    base = load_model(args.model)
    tok = load_tokenizer(args.model)
    calibration = None
    if any(CRITERIA.get(m).needs_calibration for m in CRITERIA.names()):
        from junkdna.pruning.calibration import calibration_from_source

        calibration = calibration_from_source(tok, "default", 32, 128, 0)
    sparsities = [float(s) for s in args.sparsities.split(",")]
    rows = []
    for method in CRITERIA.names():
        crit = CRITERIA.get(method)
        settings = [("unstructured", None, s) for s in sparsities]
        settings += [("unstructured", "layer", 0.5), ("2:4", None, None), ("4:8", None, None)]
        for structure, scope, sparsity in settings:
            if crit.needs_calibration and scope == "global":
                continue
            model = copy.deepcopy(base)
            t = time.perf_counter()
            ms = prune(
                model,
                method,
                sparsity,
                structure,
                scope,
                calibration if crit.needs_calibration else None,
            )
            rows.append(
                (method, structure, ms.metadata["scope"], ms.sparsity, time.perf_counter() - t)
            )
            last = ms
    print_layer_table(last.report())
    print(f"\n{'method':<11} {'structure':<13} {'scope':<7} {'sparsity':>8} {'time':>8}")
    for method, structure, scope, sparsity, secs in rows:
        print(f"{method:<11} {structure:<13} {scope:<7} {sparsity:>8.4f} {secs:>7.2f}s")
    return 0
