"""Calibration of the analysis's tests on simulated studies of known answer (the figures quoted in
docs/statistics.md). Every figure is printed with its Monte Carlo standard error and, where the
test has one, beside its exact theoretical value; every study is a fresh draw.

Fine-tuned settings (tests/test_analysis_units.py's generator: two levels, 5 sparsities, 2
methods; each seed one random offset shared by its runs at both levels, each level a smaller
offset of its own, each run a little noise):

* the seed-unit two-level test's false-positive rate at 8 seeds, beside the exact size of the
  sign-flip (12 / 256 = 0.0469), on balanced grids and on unbalanced ones (10% of the runs
  failed, an extra sparsity for one seed); the baseline that pools every (configuration, seed)
  pair as independent;
* its power for a 1.4 sd effect at 8 seeds, beside the same seeds compared unpaired (the
  baseline that ignores the pairing);
* the Student-t interval's coverage at 3 seeds and its mean width against the expected width;
* the recovery ratio's Fieller interval (6 seeds, ratio of means 0.5): coverage.

Evaluation-only settings (tests/test_analysis_items.py's generator: two levels scoring the same
items, dense accuracy 0.8 vs 0.4, pruned at two sparsities), at 60 and 100 items: false
positives, coverage at the null AND at a true effect, power, and how often the interval and the
p-value disagree (never, by construction).

And the power calculation: the seeds ``units_needed`` asks for at effect / sd = 1, with the
simulated power of the exact sign-flip there and one seed fewer.

    .venv/bin/python benchmarks/sim_units.py --studies 2000
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_analysis_items import _simulated as item_study  # noqa: E402
from test_analysis_units import (  # noqa: E402
    D_SD,
    EASY,
    EXACT_SIZE_8,
    HARD,
    _expected_t_width,
    pooled_rejects,
    study,
)

from junkdna.analysis.items import interaction_test  # noqa: E402
from junkdna.analysis.levels import level_comparison  # noqa: E402
from junkdna.analysis.power import signflip_power, t_power, units_needed  # noqa: E402
from junkdna.analysis.stats import fieller  # noqa: E402
from junkdna.analysis.units import unpaired_units  # noqa: E402


def rate(hits: float, n: int) -> str:
    """A proportion with its Monte Carlo standard error."""
    p = hits / n
    return f"{p:.4f} +- {math.sqrt(max(p * (1 - p), 1e-12) / n):.4f}"


def seed_figures(rng, n: int) -> None:
    null = fails = pooled = kept_min = 0
    for k in range(n):
        df = study(rng, 8)
        null += level_comparison(df, EASY, HARD, n_perm=999).test.p_value < 0.05
        pooled += pooled_rejects(df) if k < n // 4 else 0
        c = level_comparison(study(rng, 8, fail=0.1, extra=True), EASY, HARD, n_perm=999)
        fails += c.test.p_value < 0.05
        kept_min = min(kept_min or 8, c.test.n_units)
    print(f"seed-unit test, 8 seeds, null (exact size {EXACT_SIZE_8:.4f}):")
    print(f"  balanced grids:                           {rate(null, n)}")
    print(
        f"  10% failed runs + an extra sparsity:      {rate(fails, n)} (fewest seeds kept: {kept_min})"
    )
    print(f"  baseline, pooled (configuration, seed):   {rate(pooled, n // 4)}")
    paired = unpaired = 0
    for _ in range(n):
        c = level_comparison(study(rng, 8, effect=0.02), EASY, HARD, n_perm=999)
        paired += c.test.p_value < 0.05 and c.test.estimate > 0
        unpaired += unpaired_units(c.design.a, c.design.b, n_perm=999).p_value < 0.05
    print(f"power, effect 0.02 = {0.02 / D_SD:.2f} sd of a seed's d, 8 seeds:")
    print(f"  paired by seed:                           {rate(paired, n)}")
    print(f"  baseline, the same seeds unpaired:        {rate(unpaired, n)}")
    covered, widths = 0, []
    for _ in range(n):
        res = level_comparison(study(rng, 3, effect=0.05), EASY, HARD, n_perm=99).test
        covered += res.ci_low <= 0.05 <= res.ci_high
        widths.append(res.ci_high - res.ci_low)
    se_w = np.std(widths) / math.sqrt(n)
    print(f"t interval, 3 seeds: coverage {rate(covered, n)} (nominal 0.95); mean width "
          f"{np.mean(widths):.4f} +- {se_w:.4f} (expected {_expected_t_width(3, D_SD):.4f})")  # fmt: skip


def recovery_figures(rng, n: int) -> None:
    """6 seeds; a seed loses ~N(0.2, 0.05) and recovers half of it plus N(0, 0.02): truth 0.5."""
    covered = 0
    for _ in range(n):
        lost = rng.normal(0.2, 0.05, 6)
        back = 0.5 * lost + rng.normal(0, 0.02, 6)
        _, lo, hi, _ = fieller(back, lost)
        covered += lo <= 0.5 <= hi
    print(f"recovery ratio, Fieller, 6 seeds: coverage {rate(covered, n)} (nominal 0.95)")


def item_figures(rng, n: int, n_items: int, n_boot: int) -> None:
    rejected = covered_null = covered = power = disagree = 0
    for k in range(n):
        (easy, hard), truth = item_study(rng, 0.0, n_items=n_items)
        res, _ = interaction_test(easy, hard, n_boot=n_boot, seed=k)
        rejected += res.p_value < 0.05
        covered_null += res.ci_low <= truth <= res.ci_high
        disagree += (res.p_value < 0.05) != (res.ci_low > 0 or res.ci_high < 0)
        (easy, hard), truth = item_study(rng, 0.6, n_items=n_items)
        res, _ = interaction_test(easy, hard, n_boot=n_boot, seed=k)
        covered += res.ci_low <= truth <= res.ci_high
        power += res.p_value < 0.05 and res.estimate > 0
        disagree += (res.p_value < 0.05) != (res.ci_low > 0 or res.ci_high < 0)
    print(f"items as unit, {n_items} items ({n_boot} resamples): false positives "
          f"{rate(rejected, n)}; coverage at the null {rate(covered_null, n)}, at T = 0.24 "
          f"{rate(covered, n)}; power at T = 0.24 {rate(power, n)}; interval and p disagree "
          f"in {disagree} of {2 * n}")  # fmt: skip


def power_figures() -> None:
    need = units_needed(1.0, 1.0, 0.05)
    z = math.ceil((norm.ppf(0.975) + norm.ppf(0.8)) ** 2)
    print(f"seeds needed at effect / sd = 1, alpha 0.05: {need} (normal approximation: {z}); "
          f"sign-flip power {signflip_power(need, 1.0, 0.05):.3f} at {need}, "
          f"{signflip_power(need - 1, 1.0, 0.05):.3f} at {need - 1}; t-test "
          f"{t_power(z, 1.0, 0.05):.3f} at {z}")  # fmt: skip
    need3 = units_needed(1.0, 1.0, 0.05 / 3)
    print(f"  the same at alpha 0.05 / 3 (Holm over 3 primaries): {need3}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=2000)
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples per item test")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.time()
    print(f"{args.studies} fresh simulated studies per figure, alpha = 0.05")
    seed_figures(rng, args.studies)
    recovery_figures(rng, args.studies)
    for n_items in (60, 100):
        item_figures(rng, args.studies, n_items, args.boot)
    power_figures()
    print(f"({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
