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

from junkdna.analysis.power import units_needed
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


def holm_floors(p: Sequence[float], min_p: Sequence[float]) -> list[float]:
    """For each test, the smallest Holm-adjusted p it can reach: its adjusted p were its own p at
    its design's smallest (``min_p``), the other tests' p as observed. It lies between min_p
    (the others all tiny: the test is ranked last) and m x min_p (the others all large: ranked
    first, Bonferroni's factor). NaN for a test without a p."""
    p = np.asarray(p, dtype=float)
    out = []
    for i, floor in enumerate(np.asarray(min_p, dtype=float)):
        if not (np.isfinite(p[i]) and np.isfinite(floor)):
            out.append(math.nan)
            continue
        q = p.copy()
        q[i] = floor
        out.append(holm(q)[i])
    return out


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
    # What a primary can reach after the adjustment, given the other primaries' p-values: "cannot
    # answer" is judged on it. The units an effect would need are sized at alpha / m, the level
    # at which Holm rejects a test whatever the others give (a design sized for less could be
    # rejected again).
    m = int(np.isfinite(tests.loc[primary, "p_value"]).sum())
    tests["n_primary"] = m
    tests["min_p_adjusted"] = math.nan
    tests.loc[primary, "min_p_adjusted"] = holm_floors(
        tests.loc[primary, "p_value"].tolist(), tests.loc[primary, "min_p"].tolist()
    )
    tests["alpha_sized"] = tests["alpha"].astype(float)
    tests.loc[primary, "alpha_sized"] = tests.loc[primary, "alpha"].astype(float) / max(m, 1)
    if "units_needed" in tests:
        tests["units_needed"] = [_resized(r) for r in tests.to_dict("records")]
    tests["verdict"] = [verdict_sentence(row) for row in tests.to_dict("records")]
    return tests


def _resized(t: dict) -> float:
    """A primary two-level test that cannot reach alpha after Holm: the units the observed effect
    needs for 80% power of its own test at ``alpha_sized``; other rows keep theirs."""
    keep = t.get("units_needed")
    keep = math.nan if keep is None else float(keep)
    if not t.get("primary") or t.get("target") != "paired normalized":
        return keep
    floor = t.get("min_p_adjusted")
    if not (floor == floor and floor >= t["alpha"]):
        return keep
    needed = units_needed(float(t.get("mean_diff", math.nan)), float(t.get("sd_units", math.nan)),
                          t["alpha_sized"], design=str(t.get("design") or "sign-flip"))  # fmt: skip
    return math.nan if needed is None else float(needed)
