"""The Junk DNA hypothesis as a test: does a task's difficulty predict how much sparsity it takes?

Prediction: harder tasks (a larger difficulty measure) tolerate less sparsity, i.e. a *negative*
Spearman rank correlation between difficulty and achievable sparsity (or normalized AUC).

* Points: one per (task, level) curve of an achievable-sparsity table, within a test group
  (``TEST_KEYS``: model, difficulty setting, method, structure, scope, regime) so that one test
  never mixes difficulty measures of different settings or pruning configurations.
* Difficulty measure of a point: the ``difficulty_value`` column where the study supplies one
  (the study export fills it with the setting's measure where one run knows it), otherwise the
  setting's own ``measure`` (``junkdna.difficulty``) of the level its label names, given the
  dense reference's score, the human score and the baseline; a point without either has no
  measure and its group is "not testable".
* Statistics: ``analysis.stats`` (permutation test of Spearman's rho, sign-flip test); verdicts:
  ``analysis.verdict``.
* Two points (settings 2 and 3 have two levels by nature: majority/minority, open/closed book):
  a rank correlation over 2 points is no test, so the achievable-sparsity table tests them on the
  matched runs instead (``paired_signflip``): for each pruning configuration and seed run at both
  levels, d = kept(easier) - kept(harder), kept = (score - baseline) / (dense - baseline) (the
  share of the dense model's score above the majority baseline that survives; score / dense when
  a baseline is unknown); the prediction is mean d > 0 (the harder
  level keeps less of its dense score). Pairs match on (sparsity, seed), or on sparsity with the
  seed means when the two levels share no seed.

Setting names are those of ``junkdna.difficulty``; a table with an old name (``ALIASES``) is read
with a deprecation warning (``with_current_names``).
"""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pandas as pd

from junkdna.analysis.normalize import with_current_names
from junkdna.analysis.stats import paired_signflip, spearman_permutation
from junkdna.analysis.tables import POINT, references_table
from junkdna.analysis.verdict import ABOVE_BASELINE, NORMALIZED, TARGETS, verdict_sentence
from junkdna.difficulty import DIFFICULTIES, RunFacts, level_from_label
from junkdna.errors import JunkDNAError

TEST_KEYS = ("model", "difficulty", "method", "structure", "scope", "regime")
POINT_KEYS = tuple(POINT)
PAIR_KEYS = ("method", "structure", "scope", "sparsity")  # what a pair shares, besides the seed


def paired_differences(
    normalized: pd.DataFrame, easy: dict, hard: dict
) -> tuple[np.ndarray, str, str]:
    """d = kept(easy) - kept(hard) per matched run pair. ``easy``/``hard`` are column -> value
    filters of ``normalized`` (one level's runs each). Runs pair up when they share the pruning
    configuration (``PAIR_KEYS``) and the seed, or, when the two levels share no seed, the
    pruning configuration on seed means. Runs of one level that share both (e.g. two recipes)
    are averaged first.

    kept = (score - baseline) / (dense - baseline) when both levels have a baseline (and their
    dense score beats it), else score / dense: two models that both fall to their majority class
    then compare as 0 and 0, not as baseline_a/dense_a and baseline_b/dense_b. Returns (d, what the
    pairs share, which quantity)."""

    def rows(where: dict) -> pd.DataFrame:
        mask = np.ones(len(normalized), dtype=bool)
        for k, v in where.items():
            mask &= (normalized[k] == v).to_numpy()
        return normalized[mask]

    a, b = rows(easy), rows(hard)
    if a.empty or b.empty:
        return np.array([]), "no runs", NORMALIZED
    above = "baseline" in normalized.columns and all(
        bool(np.isfinite(x["baseline"].astype(float)).all()) for x in (a, b)
    )

    def kept(x: pd.DataFrame) -> pd.Series:
        if not above:
            return x["normalized"]
        base = x["baseline"].astype(float)
        head = x["dense_score"] - base
        return ((x["score"] - base) / head).where(head > 0)

    quantity = ABOVE_BASELINE if above else NORMALIZED
    on = [k for k in PAIR_KEYS if k in normalized.columns]
    # One value per (configuration, seed) and level: a level run under two recipes is averaged,
    # not paired twice. (The levels' recipes may differ: a small-data level may train longer.)
    a = a.assign(kept=kept(a)).groupby([*on, "seed"], dropna=False)["kept"].mean().reset_index()
    b = b.assign(kept=kept(b)).groupby([*on, "seed"], dropna=False)["kept"].mean().reset_index()
    by_seed = a.merge(b, on=[*on, "seed"], suffixes=("_a", "_b"))
    if len(by_seed):
        d = (by_seed["kept_a"] - by_seed["kept_b"]).to_numpy(dtype=float)
        return d[np.isfinite(d)], "pruning and seed", quantity
    ma = a.groupby(on, dropna=False)["kept"].mean()
    mb = b.groupby(on, dropna=False)["kept"].mean()
    both = ma.index.intersection(mb.index)
    d = (ma[both] - mb[both]).to_numpy(dtype=float)
    return d[np.isfinite(d)], "pruning (seed means)", quantity


def _measure(row) -> tuple[float, str]:
    """(difficulty, what it is) of one point: the given value, else its setting's measure."""
    if np.isfinite(row.difficulty_value):
        return float(row.difficulty_value), "difficulty_value"
    if row.difficulty not in DIFFICULTIES:
        return math.nan, "none"
    label = DIFFICULTIES.get(row.difficulty).measure_label
    level = level_from_label(row.difficulty, row.level)
    facts = RunFacts(dense=row.dense_score, human=row.human_score, baseline=row.baseline)
    value = None if level is None else level.measure(facts)
    return (math.nan if value is None else float(value)), label


def difficulty_points(achievable: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Attach a difficulty measure to each achievable-sparsity row, from the dense references of
    ``results`` (a validated table): columns dense_score, baseline, human_score, difficulty_value
    (NaN where unknown) and measure (its description)."""
    achievable, results = with_current_names(achievable), with_current_names(results)
    info = references_table(results)[
        [*POINT_KEYS, "dense_score", "baseline", "human_score", "difficulty_value"]
    ]
    points = achievable.merge(info, on=list(POINT_KEYS), how="left")
    measured = [_measure(row) for row in points.itertuples()]
    values = [v for v, _ in measured]
    measures = [m for _, m in measured]
    return points.assign(difficulty_value=values, measure=measures)


def test_hypothesis(
    points: pd.DataFrame,
    *,
    target: str = "achievable",
    alpha: float = 0.05,
    n_perm: int = 9999,
    seed: int = 0,
    normalized: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One test per group of ``difficulty_points`` rows; columns: the group keys, the fields of
    ``Correlation``, target, alpha, caveat counts and ``verdict`` (one plain sentence).

    With ``normalized`` (``match_references``' table), a setting with exactly two points per model
    and regime gets one paired test over all its pruning configurations instead of its
    per-configuration rows (module docstring); that row's ``test`` starts with "paired" and it
    has ``mean_diff``, ``n_pairs``, ``easier``, ``harder`` and ``paired_on``."""
    if target not in TARGETS:
        raise JunkDNAError(f"unknown target {target!r}; valid: {', '.join(TARGETS)}")
    keys = [k for k in TEST_KEYS if k in points.columns]
    rows = []
    for key, group in points.groupby(keys, sort=True, dropna=False):
        usable = group[np.isfinite(group["difficulty_value"]) & np.isfinite(group[target])]
        corr = spearman_permutation(
            usable["difficulty_value"], usable[target], n_perm=n_perm, seed=seed
        )
        row = dict(zip(keys, key, strict=True)) | asdict(corr)
        row |= {
            "target": target,
            "alpha": alpha,
            "measure": ", ".join(sorted(set(usable["measure"]))) or "none",
            "n_curves": len(group),
            "n_without_measure": int((~np.isfinite(group["difficulty_value"])).sum()),
            "min_seeds": int(group["n_seeds"].min()),
            "n_never_drops": int(group["never_drops"].sum()) if target == "achievable" else 0,
            "n_at_baseline": int((group["dense_score"] <= group["baseline"]).sum()),
        }
        row["verdict"] = verdict_sentence(row)
        rows.append(row)
    tests = pd.DataFrame(rows)
    if normalized is None or tests.empty:
        return tests
    return _pool_two_point_groups(tests, points, normalized, target, alpha, n_perm, seed)


# A two-level comparison pools every pruning configuration of one model, setting and regime.
PAIRED_GROUP = ("model", "difficulty", "regime")


def _pool_two_point_groups(tests, points, normalized, target, alpha, n_perm, seed):
    """Replace the (untestable) per-configuration rows of two-point settings by one paired test
    over all their pruning configurations (module docstring)."""
    keys = [k for k in PAIRED_GROUP if k in points.columns]
    usable = points[np.isfinite(points["difficulty_value"]) & np.isfinite(points[target])]
    keep = np.ones(len(tests), dtype=bool)
    pooled = []
    for key, group in usable.groupby(keys, sort=True, dropna=False):
        levels = group.drop_duplicates(["task", "level"])
        if len(levels) != 2 or np.ptp(levels["difficulty_value"]) == 0:
            continue
        where = dict(zip(keys, key, strict=True))
        member = np.ones(len(tests), dtype=bool)
        for k, v in where.items():
            member &= (tests[k] == v).to_numpy()
        if (tests.loc[member, "n"] > 2).any():
            continue  # a configuration with more points has a real correlation test
        easy, hard = (r for _, r in levels.sort_values("difficulty_value").iterrows())
        d, how, quantity = paired_differences(
            normalized,
            {**where, "task": easy["task"], "level": easy["level"]},
            {**where, "task": hard["task"], "level": hard["level"]},
        )
        res = paired_signflip(d, n_perm=n_perm, seed=seed)
        members = tests[member]

        same_task = easy["task"] == hard["task"]
        easier, harder = (
            r["level"] if same_task else f"{r['task']} [{r['level']}]" for r in (easy, hard)
        )

        row = {
            **where,
            **{
                k: ", ".join(sorted({str(v) for v in members[k]}))
                for k in ("method", "structure", "scope")
                if k in members
            },
            "rho": math.nan,
            "p_value": res.p_value,
            "n": 2,
            "test": res.test,
            "n_permutations": res.n_permutations,
            "min_p": res.min_p,
            "ties_x": 0,
            "ties_y": 0,
            "target": "paired normalized",
            "alpha": alpha,
            "measure": ", ".join(sorted(set(levels["measure"]))),
            "n_curves": int(members["n_curves"].sum()),
            "n_without_measure": int(members["n_without_measure"].sum()),
            "min_seeds": int(members["min_seeds"].min()),
            "n_never_drops": 0,
            "n_at_baseline": int((levels["dense_score"] <= levels["baseline"]).sum()),
            "mean_diff": res.mean_diff,
            "n_pairs": res.n_pairs,
            "easier": easier,
            "harder": harder,
            "paired_on": how,
            "quantity": quantity,
        }
        row["verdict"] = verdict_sentence(row)
        pooled.append(row)
        keep &= ~member
    if not pooled:
        return tests
    return pd.concat([tests[keep], pd.DataFrame(pooled)], ignore_index=True)


test_hypothesis.__test__ = False  # not a pytest test despite its name
