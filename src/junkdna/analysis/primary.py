"""One primary test per difficulty setting, chosen before looking at any p-value, and Holm's
adjustment across the settings of a study; every other test is exploratory.

A study file may declare its primaries (``[study] primary = [{difficulty = "...", method = ...}]``:
a setting and, optionally, the model, method, structure, scope or regime that name one test of
it). A setting without a declaration gets its default: the test that covers the most curves
(a two-level setting's test pools every pruning configuration, so it is that one), ties broken by
the order of the test keys. The p-value never enters the choice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from junkdna.analysis.verdict import verdict_sentence
from junkdna.errors import JunkDNAError
from junkdna.study.config import PRIMARY_KEYS

SELECT_KEYS = PRIMARY_KEYS  # what a declaration may name besides the setting


def holm(p: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count as a test)."""
    p = np.asarray(p, dtype=float)
    out = np.full(len(p), math.nan)
    idx = [i for i in np.argsort(p, kind="stable") if np.isfinite(p[i])]
    m, running = len(idx), 0.0
    for rank, i in enumerate(idx):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def _declared(group: pd.DataFrame, spec: Mapping[str, str]) -> int:
    mask = np.ones(len(group), dtype=bool)
    for key, value in spec.items():
        if key == "difficulty":
            continue
        if key not in SELECT_KEYS:
            raise JunkDNAError(
                f"primary test: unknown key {key!r}; valid: difficulty, {', '.join(SELECT_KEYS)}"
            )
        mask &= (group[key].astype(str) == str(value)).to_numpy()
    if not mask.any():
        raise JunkDNAError(
            f"primary test {dict(spec)} matches none of the {spec['difficulty']} tests of this "
            "study (see the report's hypothesis table for their keys)"
        )
    return int(group.index[mask][0])


def mark_primary(tests: pd.DataFrame, declared: Sequence[Mapping[str, str]] = ()) -> pd.DataFrame:
    """``tests`` with ``primary`` (bool), ``p_adjusted`` (Holm across the primaries; NaN for the
    exploratory rows) and each verdict rewritten to say which it is."""
    if tests.empty:
        return tests.assign(primary=pd.Series(dtype=bool), p_adjusted=pd.Series(dtype=float))
    tests = tests.reset_index(drop=True).copy()
    by_setting = {d["difficulty"]: d for d in declared}
    primary = np.zeros(len(tests), dtype=bool)
    for setting, group in tests.groupby("difficulty", sort=True):
        if setting in by_setting:
            primary[_declared(group, by_setting[setting])] = True
        else:
            order = group.sort_values("n_curves", ascending=False, kind="stable")
            primary[order.index[0]] = True
    tests["primary"] = primary
    adjusted = holm(tests.loc[primary, "p_value"].tolist())
    tests["p_adjusted"] = math.nan
    tests.loc[primary, "p_adjusted"] = adjusted
    # What a primary can reach after the adjustment: at best m x its smallest p (Holm's first
    # step), so "cannot answer" and the units an effect needs are judged at alpha / m.
    m = int(np.isfinite(tests.loc[primary, "p_value"]).sum())
    tests["n_primary"] = m
    tests["min_p_adjusted"] = math.nan
    tests.loc[primary, "min_p_adjusted"] = (tests.loc[primary, "min_p"] * max(m, 1)).clip(upper=1)
    tests["verdict"] = [verdict_sentence(row) for row in tests.to_dict("records")]
    return tests
