"""Calibration of the two-level test by simulation (the figures quoted in the README).

Evaluation-only settings (tests/test_analysis_items.py's generator: two levels scoring the same
items, dense accuracy 0.8 vs 0.4, pruned at two sparsities) measure the bootstrap over items the
same way, at 60 and 100 items.

Simulated studies (tests/test_analysis_units.py's generator: two levels, 5 sparsities, 2 methods,
one random offset per seed and level shared by all its runs) measure the seed-unit test's
false-positive rate and power, the Student-t interval's coverage, and, as the named baseline, the
false-positive rate of pooling every (configuration, seed) pair as independent.

    .venv/bin/python benchmarks/sim_units.py --studies 1000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_analysis_items import _simulated as item_study  # noqa: E402
from test_analysis_units import pooled_rejects, rejects, study  # noqa: E402

from junkdna.analysis.hypothesis import compare_levels  # noqa: E402
from junkdna.analysis.items import interaction_test  # noqa: E402


def item_figures(rng, n: int, n_items: int) -> tuple[float, float, float]:
    """(false-positive rate, coverage, power at effect 0.6) of the bootstrap over items."""
    rejected = covered = power = 0
    for k in range(n):
        (easy, hard), truth = item_study(rng, 0.0, n_items=n_items)
        res, _ = interaction_test(easy, hard, n_boot=1000, seed=k)
        rejected += res.p_value < 0.05
        covered += res.ci_low <= truth <= res.ci_high
        (easy, hard), _ = item_study(rng, 0.6, n_items=n_items)
        res, _ = interaction_test(easy, hard, n_boot=1000, seed=k)
        power += res.p_value < 0.05 and res.estimate > 0
    return rejected / n, covered / n, power / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=1000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.studies
    null8 = [study(rng, 8) for _ in range(n)]
    fpr = np.mean([rejects(df) for df in null8])
    pooled = np.mean([pooled_rejects(df) for df in null8])
    power = np.mean([rejects(study(rng, 8, effect=0.1)) for _ in range(n)])
    hits = 0
    for _ in range(n):
        res, _, _ = compare_levels(study(rng, 3, effect=0.05), {"level": "easy"},
                                   {"level": "hard"}, n_perm=99)  # fmt: skip
        hits += res.ci_low <= 0.05 <= res.ci_high
    print(f"{n} simulated studies per figure, alpha = 0.05")
    print(f"false positives, seed as unit, 8 seeds:        {fpr:.3f}")
    print(
        f"false positives, pooled pairs (baseline):      {pooled:.3f}  ({pooled / max(fpr, 1e-9):.1f}x)"
    )
    print(f"power, effect 0.1 (1.4 sd of a seed's d), 8 seeds: {power:.3f}")
    print(f"t-interval coverage, 3 seeds (nominal 0.95):   {hits / n:.3f}")
    for n_items in (60, 100):
        fpr_i, cover_i, power_i = item_figures(rng, n, n_items)
        print(
            f"items as unit, {n_items} items: false positives {fpr_i:.3f}, coverage "
            f"{cover_i:.3f} (nominal 0.95), power at effect 0.6 {power_i:.3f}"
        )


if __name__ == "__main__":
    main()
