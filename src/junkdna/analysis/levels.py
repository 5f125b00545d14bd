"""Two levels of one setting compared with the SEED as the unit (the hypothesis's test where a
rank correlation over two points is no test; ``hypothesis`` calls it).

Each level gives one value per (pruning configuration, seed): the normalized score (score / dense
score of the same lineage, the paper's measure) or, with ``quantity="above-baseline"``, the share
of the dense score above the baseline kept; runs sharing a cell (a level run under two recipes)
are averaged. ``pairing.pair_seeds`` decides which seeds and configurations enter (an unbalanced
design keeps its seeds and names what it leaves out); d = easier - harder per shared seed is
tested with an exact two-sided sign-flip over seeds and a Student-t interval
(``units.paired_units``); levels without a shared seed compare their seeds as two groups
(``units.unpaired_units``). The prediction is d > 0: the harder level keeps less.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from junkdna.analysis.pairing import Pairing, cells, pair_seeds
from junkdna.analysis.units import UnitTest, paired_units, unpaired_units
from junkdna.analysis.verdict import ABOVE_BASELINE, NORMALIZED
from junkdna.errors import JunkDNAError

PAIR_KEYS = ("method", "structure", "scope", "sparsity")  # what a pair shares, besides the seed


QUANTITIES = {"normalized": NORMALIZED, "above-baseline": ABOVE_BASELINE}


def side_values(normalized: pd.DataFrame, where: dict, quantity: str, keys) -> dict:
    """One value per (configuration, seed) of the runs of ``where`` (one level), as
    ``pairing.cells``: ``quantity``, averaged over the runs that share a cell (a level run under
    two recipes is averaged)."""
    mask = np.ones(len(normalized), dtype=bool)
    for k, v in where.items():
        mask &= normalized[k].to_numpy() == v
    x = normalized[mask]
    if quantity == "above-baseline":
        base = x["baseline"].to_numpy(dtype=float)
        head = x["dense_score"].to_numpy(dtype=float) - base
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(head > 0, (x["score"].to_numpy(dtype=float) - base) / head, np.nan)
    else:
        value = x["normalized"].to_numpy(dtype=float)
    return cells([x[k].tolist() for k in [*keys, "seed"]], value)


def shared_configs(normalized: pd.DataFrame, easy: dict, hard: dict) -> pd.DataFrame:
    """The pruning configurations (``PAIR_KEYS`` rows) that both levels ran."""
    on = [k for k in PAIR_KEYS if k in normalized.columns]

    def configs_of(where: dict) -> pd.DataFrame:
        mask = np.ones(len(normalized), dtype=bool)
        for k, v in where.items():
            mask &= (normalized[k] == v).to_numpy()
        return normalized.loc[mask, on].drop_duplicates()

    return configs_of(easy).merge(configs_of(hard), on=on)


@dataclass(frozen=True)
class LevelComparison:
    test: UnitTest
    pairing: str  # "paired", "paired; N unshared seed(s) left out" or "unpaired"
    n_configs: int  # the pruning configurations compared
    design: Pairing  # which seeds and configurations, and what was left out


def level_comparison(
    normalized: pd.DataFrame,
    easy: dict,
    hard: dict,
    *,
    quantity: str = "normalized",
    alpha: float = 0.05,
    n_perm: int = 9999,
    seed: int = 0,
) -> LevelComparison:
    """easier minus harder level, with the seed as the unit (module docstring); which seeds and
    configurations enter is ``pairing.pair_seeds``'s choice for unbalanced designs."""
    if quantity not in QUANTITIES:
        raise JunkDNAError(f"unknown quantity {quantity!r}; valid: {', '.join(QUANTITIES)}")
    keys = [k for k in PAIR_KEYS if k in normalized.columns]
    design = pair_seeds(
        side_values(normalized, easy, quantity, keys),
        side_values(normalized, hard, quantity, keys),
        keys,
        names=("the easier level", "the harder level"),
    )
    test = dict(n_perm=n_perm, seed=seed)
    n = len(design.configs)
    if design.paired:
        how = (
            f"paired; {design.unshared} unshared seed(s) left out" if design.unshared else "paired"
        )
        return LevelComparison(paired_units(design.d.to_numpy(), **test), how, n, design)
    res = unpaired_units(design.a.to_numpy(), design.b.to_numpy(), **test)
    return LevelComparison(res, "unpaired", n, design)


def compare_levels(normalized: pd.DataFrame, easy: dict, hard: dict, **options):
    """``level_comparison`` as (test, how the units pair, number of configurations compared)."""
    c = level_comparison(normalized, easy, hard, **options)
    return c.test, c.pairing, c.n_configs
