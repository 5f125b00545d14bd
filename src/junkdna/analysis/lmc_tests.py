"""Linear mode connectivity over seeds (the paper's appendix B / Figure 10): the loss barrier
between a pair's dense (alpha 0) and sparse (alpha 1) fine-tuned solutions, summarized and
tested with the SEED as the unit (one pair per fine-tuning lineage; the input is one row per pair,
``junkdna.study.lmc.load_study_lmc_records``).

* ``barrier_summary``: per pair configuration (``SUMMARY_KEYS``), the mean barrier over seeds
  with a Student-t 95% interval (``stats.t_interval``), the seed count and a ``few_seeds`` flag
  (under ``normalize.FEW_SEEDS``).
* ``lmc_tests``: the paper's claim that the barrier is larger on the harder task (QQP vs STS-B,
  QNLI vs RTE). Within a comparable group (``GROUP``: the same study experiment, model,
  difficulty setting, pruning point and regime) holding exactly two tasks/levels, the harder one is the one with the larger
  difficulty measure, which the caller supplies (``difficulty_mapping`` derives it from a study's
  results table, as the hypothesis tests do); d = barrier(harder) - barrier(easier) per shared
  seed, tested with an exact two-sided sign-flip over seeds and a Student-t interval
  (``stats.paired_units``); two sides without a shared seed compare their seeds as two groups
  (``stats.unpaired_units``, exact permutation). The prediction is d > 0.

These tests are EXPLORATORY: they are not the difficulty question the primary tests answer, and
their p-values are not adjusted for multiplicity (no Holm) across groups; read them as
descriptions of the barriers, not as confirmations. A group with one task/level has nothing to
compare and yields no row; one with more than two, no difficulty measure for a side, two equal
measures, or no seed on a side yields a "Not testable" row that says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from junkdna.analysis.normalize import FEW_SEEDS, validate_results, with_current_names
from junkdna.analysis.stats import t_interval
from junkdna.analysis.units import UnitTest, paired_units, units_needed_for, unpaired_units
from junkdna.errors import JunkDNAError

SUMMARY_KEYS = ("model", "task", "difficulty", "level", "method", "structure", "scope",
                "sparsity", "regime")  # fmt: skip
# A study's experiment is part of a group: the paper compares pairs of tasks (QQP vs STS-B, QNLI
# vs RTE), which a study names as one experiment each (studies/figure10_lmc.toml).
GROUP = ("experiment", "model", "difficulty", "method", "structure", "scope", "sparsity",
         "regime")  # fmt: skip
REQUIRED = (*SUMMARY_KEYS, "seed", "barrier")
SUMMARY_COLUMNS = [*SUMMARY_KEYS, "mean_barrier", "ci_low", "ci_high", "n_seeds", "n_pairs",
                   "few_seeds"]  # fmt: skip
TEST_COLUMNS = [*GROUP, "easier", "harder", "comparison", "estimate", "ci_low", "ci_high",
                "unit", "n_units", "test", "paired_on", "p_value", "min_p", "units_needed",
                "alpha", "verdict"]  # fmt: skip

# {(model, task, difficulty, level) | (model, task, level) | (task, level): difficulty value}
Difficulty = Mapping[tuple, float]


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise JunkDNAError(
            f"LMC records lack column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)} "
            "(junkdna.study.lmc.load_study_lmc_records)"
        )
    df = with_current_names(df.copy().reset_index(drop=True))
    if "experiment" not in df.columns:  # records of another source: one experiment
        df["experiment"] = ""
    df["experiment"] = df["experiment"].map(lambda e: "" if e is None or e != e else str(e))
    # As validate_results does for the runs table: None scope would vanish from group keys.
    df["scope"] = df["scope"].map(lambda s: "none" if s is None or s != s else str(s))
    df["sparsity"] = pd.to_numeric(df["sparsity"], errors="coerce").astype(float)
    df["seed"] = pd.to_numeric(df["seed"], errors="coerce")
    df["barrier"] = pd.to_numeric(df["barrier"], errors="coerce").astype(float)
    return df


def _per_seed(rows: pd.DataFrame) -> pd.Series:
    """One barrier per seed (the mean, should one seed have several pairs); pairs whose seed is
    unknown or whose barrier is not finite are no units."""
    known = rows[rows["seed"].notna() & np.isfinite(rows["barrier"])]
    return known.groupby(known["seed"].astype(int))["barrier"].mean()


def barrier_summary(df: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per ``SUMMARY_KEYS`` group of pairs: mean_barrier with a Student-t interval over seeds
    (``ci_low``/``ci_high``; NaN under 2 seeds), n_seeds, n_pairs (all pairs, with or without a
    known seed) and few_seeds (under ``FEW_SEEDS`` seeds: the interval rests on few units)."""
    df = _prepare(df)
    rows = []
    for key, group in df.groupby(list(SUMMARY_KEYS), sort=True, dropna=False):
        per_seed = _per_seed(group).to_numpy()
        mean, lo, hi = t_interval(per_seed, confidence)
        n = len(per_seed)
        rows.append((*key, mean, lo, hi, n, len(group), n < FEW_SEEDS))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def difficulty_mapping(results: pd.DataFrame) -> dict[tuple, float]:
    """{(model, task, difficulty, level): difficulty value} from a study's results table (the
    measure the hypothesis tests use: ``hypothesis.difficulty_points`` of each dense reference;
    larger = harder); points without a measure are left out."""
    from junkdna.analysis.hypothesis import POINT_KEYS, difficulty_points
    from junkdna.analysis.tables import references_table

    results = validate_results(results)
    points = difficulty_points(references_table(results)[list(POINT_KEYS)], results)
    return {
        tuple(r[k] for k in POINT_KEYS): float(r["difficulty_value"])
        for r in points.to_dict("records")
        if np.isfinite(r["difficulty_value"])
    }


def _difficulty_of(difficulty: Difficulty | None, where: dict, task, level) -> float:
    """The most specific key of ``difficulty`` that names this point, else NaN."""
    if not difficulty:
        return math.nan
    model, setting = where.get("model"), where.get("difficulty")
    for key in ((model, task, setting, level), (model, task, level), (task, level)):
        value = difficulty.get(key)
        if value is not None and np.isfinite(value):
            return float(value)
    return math.nan


def _name(task, level) -> str:
    return str(task) if level in (None, "none") or level != level else f"{task} [{level}]"


def lmc_tests(
    df: pd.DataFrame,
    difficulty: Difficulty | None = None,
    *,
    alpha: float = 0.05,
    n_perm: int = 9999,
    seed: int = 0,
) -> pd.DataFrame:
    """The exploratory test "the loss barrier is larger on the harder task" (module docstring),
    one row per ``GROUP`` with at least two tasks/levels (``TEST_COLUMNS``).

    ``df``: one row per pair (``load_study_lmc_records``). ``difficulty``: {point: difficulty
    value} (larger = harder), a point being (model, task, difficulty, level), (model, task,
    level) or (task, level), the most specific key winning (``difficulty_mapping`` builds one
    from a results table); without it every row is "not testable". ``estimate``: mean over
    seeds of barrier(harder) - barrier(easier), with its interval, the two-sided p, the smallest
    p the design can reach (``min_p``) and about how many seeds the observed effect needs
    (``units_needed``). No Holm adjustment: these rows are exploratory."""
    df = _prepare(df)
    df["_group"] = df.groupby(list(GROUP), sort=True, dropna=False).ngroup()
    df["_point"] = df.groupby([*GROUP, "task", "level"], sort=True, dropna=False).ngroup()
    known = df[df["seed"].notna() & np.isfinite(df["barrier"])]
    # One barrier per seed and point (the mean, should one seed have several pairs); pairs whose
    # seed is unknown or whose barrier is not finite are no units.
    by_seed: dict[int, dict[int, float]] = {}
    per = known.groupby(["_point", known["seed"].astype(int)])["barrier"].mean()
    for (point, s), b in per.items():
        by_seed.setdefault(point, {})[s] = b
    firsts = df.drop_duplicates("_point")
    rows = []
    for _, group in firsts.groupby("_group", sort=True):
        where = {k: group[k].iloc[0] for k in GROUP}
        points = sorted(group[["task", "level", "_point"]].itertuples(index=False, name=None),
                        key=lambda p: (str(p[0]), str(p[1])))  # fmt: skip
        if len(points) < 2:
            continue  # nothing to compare
        base = {**where, "alpha": alpha}
        names = [_name(task, level) for task, level, _ in points]
        if len(points) > 2:
            why = f"{len(points)} tasks/levels ({', '.join(names)}); this test compares exactly two"
            rows.append(_untestable(base, why, ", ".join(names)))
            continue
        values = [_difficulty_of(difficulty, where, task, level) for task, level, _ in points]
        if not all(np.isfinite(values)):
            lacking = " and ".join(n for n, v in zip(names, values, strict=True) if v != v)
            why = f"no difficulty measure for {lacking}"
            rows.append(_untestable(base, why, " vs ".join(names)))
            continue
        if values[0] == values[1]:
            why = f"{names[0]} and {names[1]} have the same difficulty measure ({values[0]:g})"
            rows.append(_untestable(base, why, " vs ".join(names)))
            continue
        (_, easy, e_name), (_, hard, h_name) = sorted(zip(values, points, names, strict=True))
        comparison = f"loss barrier: {h_name} (harder) minus {e_name} (easier)"
        base |= {"easier": e_name, "harder": h_name, "comparison": comparison}
        e, h = by_seed.get(easy[2], {}), by_seed.get(hard[2], {})
        if not e or not h:
            why = (
                f"the records of {e_name if not e else h_name} do not say their seeds (report "
                "from the study file, whose runs name them)"
            )
            rows.append(_untestable(base, why, comparison))
            continue
        res, paired_on = _compare(e, h, n_perm=n_perm, seed=seed)
        row = {**base, "estimate": res.estimate, "ci_low": res.ci_low, "ci_high": res.ci_high,
               "unit": res.unit, "n_units": res.n_units, "test": res.method,
               "paired_on": paired_on, "p_value": res.p_value, "min_p": res.min_p,
               "units_needed": units_needed_for(res, alpha)}  # fmt: skip
        row["verdict"] = _verdict(row)
        rows.append(row)
    out = pd.DataFrame(rows, columns=TEST_COLUMNS)
    out["n_units"] = out["n_units"].astype(int)
    out["units_needed"] = out["units_needed"].astype(float)  # NaN: no effect to size
    return out


def _compare(easier: dict, harder: dict, **test) -> tuple[UnitTest, str]:
    """harder minus easier ({seed: barrier} each): paired on shared seeds, else the two sides'
    seeds as groups."""
    shared = sorted(set(easier) & set(harder))
    if shared:
        unshared = len(easier) + len(harder) - 2 * len(shared)
        how = f"paired; {unshared} unshared seed(s) left out" if unshared else "paired"
        return paired_units([harder[s] - easier[s] for s in shared], **test), how
    return unpaired_units(list(harder.values()), list(easier.values()), **test), "unpaired"


def _context(t: dict) -> str:
    sparsity = t["sparsity"]
    point = f"{t['method']} {t['structure']}" + ("" if sparsity != sparsity else f" {sparsity:g}")
    return f"{t['model']}, {t['difficulty']}, {point}, {t['regime']} regime"


def _untestable(base: dict, why: str, comparison: str) -> dict:
    row = {"comparison": comparison, **base, "unit": "seed", "n_units": 0, "test": "undefined",
           "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan,
           "min_p": math.nan, "units_needed": None}  # fmt: skip
    row["verdict"] = f"Exploratory ({_context(row)}). Not testable: {why}."
    return row


def _verdict(t: dict) -> str:
    """One sentence that says no more than the test: the finding, its evidence, its caveats."""
    n, a, est = int(t["n_units"]), t["alpha"], t["estimate"]
    if t["test"] == "undefined":
        return f"Exploratory ({_context(t)}). Not testable: no seed with a barrier on both sides."
    exact = "sign-flip" if t["paired_on"].startswith("paired") else "permutation"
    interval = "" if t["ci_low"] != t["ci_low"] else f", 95% CI [{t['ci_low']:+.3g}, {t['ci_high']:+.3g}]"  # fmt: skip
    evidence = (
        f"barrier of {t['harder']} minus {t['easier']} = {est:+.3g}{interval}, n = {n} seeds "
        f"({t['paired_on']}), two-sided {t['test']} p = {t['p_value']:.3g}"
    )
    caveats = []
    if t["p_value"] < a and est > 0:
        head = "Consistent with the paper: the loss barrier is larger on the harder task"
    elif t["p_value"] < a:
        head = "Contrary to the paper: the loss barrier is smaller on the harder task"
    elif t["min_p"] >= a:
        head = "Cannot answer with this design"
        need = t["units_needed"]
        more = f"; the observed effect would need about {need} seeds" if need else ""
        caveats.append(
            f"{n} seeds cannot reach p < {a:g} with an exact {exact} (smallest attainable p = "
            f"{t['min_p']:.2g}){more}"
        )
    elif est > 0 and t["p_value"] < 1:
        head = "Not significant (the estimate points the paper's way)"
    else:
        head = "Not significant: no evidence that the barrier is larger on the harder task"
    if n < FEW_SEEDS:
        caveats.append(f"only {n} seeds: the Student-t interval rests on few units")
    tail = f"; caveats: {'; '.join(caveats)}" if caveats else ""
    return f"Exploratory ({_context(t)}). {head} ({evidence}){tail}."
