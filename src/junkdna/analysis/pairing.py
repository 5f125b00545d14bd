"""Which seeds and configurations a two-sided comparison over seeds uses, for real (unbalanced)
designs: a failed run, a sparsity added for one seed, a resumed grid.

Each side (a level, a regime) gives one value per (configuration, seed). The seed is the unit,
so the design keeps seeds before configurations:

* **Paired** (the sides share seeds): the compared configurations are those that more than half
  of the seeds ran on both sides (if no configuration has such a majority, those run by the most
  seeds). Each seed's difference is its mean of (a - b) over the compared configurations IT ran
  on both sides: a seed with a failed run keeps its other runs, and since both sides of a seed
  average the same configurations, a missing run cannot invent a difference. A configuration that
  few seeds ran is left out rather than a seed.
* **Unpaired** (no shared seed): each seed is summarized on its own side, so every kept seed must
  have every compared configuration (averaging different configurations on the two sides would
  invent a difference); the compared configurations are those more than half of each side's
  seeds ran, and a seed lacking one is left out.

Everything left out is named (``Pairing.left_out``: seeds and configurations with the reason) and
every seed summarized over fewer configurations too (``Pairing.partial``), for the verdict and
the JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Real

import numpy as np
import pandas as pd

Cells = dict  # {(*config, seed): value}: one side's value per configuration and seed


@dataclass(frozen=True)
class Pairing:
    paired: bool
    configs: list  # the compared configurations (tuples of the config keys)
    d: pd.Series  # paired: per seed, mean of a - b over its compared configurations
    a: pd.Series  # per seed: mean of side a over the same configurations
    b: pd.Series
    unshared: int = 0  # seeds only one side ran (paired designs)
    left_out: list = field(default_factory=list)  # [{"seed" | "configuration": ..., "why": ...}]
    partial: list = field(default_factory=list)  # [{"seed": s, "lacks": [labels], "over": k}]


def label(config: tuple, keys) -> str:
    """A configuration in words: its values, or "sparsity 0.5" when that is all it has."""
    values = [f"{v:g}" if isinstance(v, float) else str(v) for v in config]
    if list(keys) == ["sparsity"]:
        return f"sparsity {values[0]}"
    return " ".join(v for v in values if v not in ("", "nan", "None"))


def cells(columns: list, values) -> Cells:
    """{(*config, seed): mean of the finite ``values`` of that cell} from parallel lists
    (``columns``: the config keys' values then the seed's, one list each); a missing key value
    is spelled "none" so that it stays one configuration."""
    sums: dict[tuple, list] = {}
    for key, v in zip(zip(*columns, strict=True), values, strict=True):
        v = float(v)
        if math.isfinite(v):
            key = tuple("none" if k is None or k != k else k for k in key)
            acc = sums.setdefault(key, [0.0, 0])
            acc[0] += v
            acc[1] += 1
    return {k: total / n for k, (total, n) in sums.items()}


def _by_config(side: Cells) -> dict[tuple, set]:
    """{config: seeds that have it}."""
    out: dict[tuple, set] = {}
    for *config, seed in side:
        out.setdefault(tuple(config), set()).add(seed)
    return out


def _seeds(side: Cells) -> set:
    return {key[-1] for key in side}


def _order(items) -> list:
    """Seeds in order: numbers by value, then anything else by its text."""
    return sorted(items, key=lambda x: (0, float(x), "") if isinstance(x, Real) else (1, 0, str(x)))


def _majority(counts: dict[tuple, float], total: float) -> list:
    """Configurations run by more than half of ``total`` seeds, else those run by the most."""
    if not counts:
        return []
    kept = [c for c, n in counts.items() if n > total / 2]
    if not kept:
        top = max(counts.values())
        kept = [c for c, n in counts.items() if n == top]
    return sorted(kept, key=str)


def pair_seeds(a: Cells, b: Cells, keys, names=("a", "b")) -> Pairing:
    """The comparison design of sides ``a`` and ``b`` ({(*keys, seed): value}, ``cells``)
    (module docstring). ``names`` say the sides in words ("the easier level", ...)."""
    seeds_a, seeds_b = _seeds(a), _seeds(b)
    configs_a, configs_b = _by_config(a), _by_config(b)
    left_out = [
        {"configuration": label(c, keys), "why": f"run only on {names[0 if c in configs_a else 1]}"}
        for c in sorted(set(configs_a) ^ set(configs_b), key=str)
    ]
    if not seeds_a & seeds_b:
        return _unpaired(a, b, keys, names, left_out)
    only_a, only_b = _order(seeds_a - seeds_b), _order(seeds_b - seeds_a)
    left_out += [{"seed": s, "why": f"run only on {names[0]}"} for s in only_a]
    left_out += [{"seed": s, "why": f"run only on {names[1]}"} for s in only_b]
    return _paired(a, b, keys, left_out, len(only_a) + len(only_b), seeds_a & seeds_b)


def _paired(a: Cells, b: Cells, keys, left_out, unshared, shared: set) -> Pairing:
    both = {k: (a[k], b[k]) for k in a if k in b}  # cells both sides ran
    seeds = _order(_seeds(both))
    for s in _order(shared - set(seeds)):
        left_out.append({"seed": s, "why": "ran no configuration on both sides"})
    by_config = _by_config(both)
    kept = _majority({c: len(s) for c, s in by_config.items()}, len(seeds))
    for c in sorted(set(by_config) - set(kept), key=str):
        why = f"run on both sides by {len(by_config[c])} of {len(seeds)} seeds"
        left_out.append({"configuration": label(c, keys), "why": why})
    partial, rows = [], []
    for s in seeds:
        mine = [c for c in kept if s in by_config[c]]
        if not mine:
            left_out.append(
                {"seed": s, "why": "ran none of the compared configurations on both sides"}
            )
            continue
        if len(mine) < len(kept):
            lacks = [label(c, keys) for c in kept if c not in mine]
            partial.append({"seed": s, "lacks": lacks, "over": len(mine)})
        pairs = np.array([both[(*c, s)] for c in mine])  # (configs, 2)
        rows.append((s, *pairs.mean(axis=0)))
    index = [r[0] for r in rows]
    ma = pd.Series([r[1] for r in rows], index=index, dtype=float)
    mb = pd.Series([r[2] for r in rows], index=index, dtype=float)
    return Pairing(True, kept, (ma - mb).rename("d"), ma, mb, unshared, left_out, partial)


def _unpaired(a: Cells, b: Cells, keys, names, left_out) -> Pairing:
    configs_a, configs_b = _by_config(a), _by_config(b)
    common = set(configs_a) & set(configs_b)
    n_a, n_b = len(_seeds(a)), len(_seeds(b))
    # a configuration needs a majority of the seeds on each side; otherwise the best-covered
    share = {c: min(len(configs_a[c]) / n_a, len(configs_b[c]) / n_b) for c in common}
    kept = sorted(c for c, v in share.items() if v > 0.5) or _majority(share, 2)
    for c in sorted(common - set(kept), key=str):
        why = f"run by {len(configs_a[c])} of {n_a} and {len(configs_b[c])} of {n_b} seeds"
        left_out.append({"configuration": label(c, keys), "why": why})
    sides = []
    for side, name in ((a, names[0]), (b, names[1])):
        per_seed = {}
        for s in _order(_seeds(side)):
            if kept and all((*c, s) in side for c in kept):
                per_seed[s] = float(np.mean([side[(*c, s)] for c in kept]))
            else:
                why = (f"lacks a compared configuration on {name} (unpaired seeds must cover the "
                       "same configurations)")  # fmt: skip
                left_out.append({"seed": s, "why": why})
        sides.append(pd.Series(per_seed, dtype=float))
    return Pairing(False, kept, pd.Series(dtype=float), sides[0], sides[1], 0, left_out, [])


def left_out_words(entries, n_configs: int, unit: str = "seed") -> str:
    """One clause naming what a design left out (``Pairing.left_out``) and the seeds it
    summarized over fewer configurations (``Pairing.partial``); "" when nothing."""
    parts = []
    seeds = [x for x in entries if "seed" in x and "lacks" not in x]
    configs = [x for x in entries if "configuration" in x]
    if seeds:
        parts.append("left out " + "; ".join(f"{unit} {x['seed']} ({x['why']})" for x in seeds))
    if configs:
        parts.append("left out " + "; ".join(f"{x['configuration']} ({x['why']})" for x in configs))
    for x in entries:
        if "lacks" in x:
            parts.append(f"{unit} {x['seed']} over {x['over']} of {n_configs} configurations "
                         f"(no {', '.join(x['lacks'])} on both sides)")  # fmt: skip
    return "; ".join(parts)
