"""The replication's designs, powered before any of its data: for every claim of
studies/replication.toml with a test, the power of its declared unit count to find the effect it
declares (delta) at the level Holm guarantees the first test (alpha / m, m = the claims with a
test), from the spread its pilot measured, and the largest spread at which that power still
reaches 0.8. Seed-unit claims use the exact sign-flip's simulated power
(``analysis.power.signflip_power``); item-unit claims (hundreds of items, a paired bootstrap) the
t-test's.

    .venv/bin/python benchmarks/replication_power.py
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from junkdna.analysis.power import signflip_power, t_power  # noqa: E402


def power(design: str, n: int, delta: float, sd: float, alpha: float) -> float:
    es = round(abs(delta) / sd, 4)
    return signflip_power(n, es, alpha) if design == "sign-flip" else t_power(n, es, alpha)


def largest_sd(design: str, n: int, delta: float, alpha: float, target: float = 0.8) -> float:
    """The largest unit sd (to 3 figures) at which the design keeps ``target`` power."""
    lo, hi = 1e-4, 10.0 * delta
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if power(design, n, delta, mid, alpha) >= target else (lo, mid)
    return lo


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", nargs="?", type=Path, default=ROOT / "studies" / "replication.toml")
    ap.add_argument("--alpha", type=float, default=0.05)
    args = ap.parse_args(argv)
    claims = tomllib.loads(args.study.read_text()).get("claim", [])
    tested = [c for c in claims if c.get("test", "none") != "none"]
    m = len(tested)
    alpha = args.alpha / m
    print(f"{m} claims with a test: Holm's first step judges at alpha / m = {alpha:.4f}\n")
    print(f"{'claim':<22} {'unit':<5} {'n':>4} {'delta':>6} {'pilot sd':>9} {'power':>6} "
          f"{'sd for 0.8':>10}")  # fmt: skip
    for c in tested:
        pw = c.get("power", {})
        design = "sign-flip" if c["unit"] == "seed" else "normal"
        n, delta, sd = int(c["n"]), float(c["delta"]), pw.get("pilot_sd")
        p = f"{power(design, n, delta, sd, alpha):.3f}" if sd else "  n/a"
        limit = largest_sd(design, n, delta, alpha)
        print(f"{c['id']:<22} {c['unit']:<5} {n:>4} {delta:>6.3f} "
              f"{(f'{sd:.3f}' if sd else 'none'):>9} {p:>6} {limit:>10.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
