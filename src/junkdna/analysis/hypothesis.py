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
* Two points (settings 2 and 3 have two levels by nature: majority/minority, open/closed book;
  and two tasks of setting 4): a rank correlation over 2 points is no test, so the levels are
  compared on the normalized score (score / dense score of the same lineage, the paper's
  measure; ``quantity="above-baseline"`` uses the share of the dense score above the majority
  baseline instead) with the SEED as the unit (``analysis.levels``): d = easier - harder per
  shared seed over the pruning configurations most seeds ran at both levels, an exact sign-flip
  over seeds. The prediction is d > 0 (the harder level keeps less). Pooling the configurations
  of one seed as if they were independent pairs would inflate false positives.
  An evaluation-only setting has one "seed" (no fine-tuning): seeds are no units there, so its
  unit is the evaluated item: the runs' recorded item outcomes go to a bootstrap over items
  (``analysis.items``); without them the verdict says it is not testable and why.

Setting names are those of ``junkdna.difficulty``; a table with an old name (``ALIASES``) is read
with a deprecation warning (``with_current_names``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict

import numpy as np
import pandas as pd

from junkdna.analysis.levels import QUANTITIES, level_comparison, shared_configs
from junkdna.analysis.normalize import with_current_names
from junkdna.analysis.stats import spearman_permutation
from junkdna.analysis.tables import POINT, references_table
from junkdna.analysis.units import units_needed_for
from junkdna.analysis.verdict import TARGETS, verdict_sentence
from junkdna.difficulty import DIFFICULTIES, RunFacts, level_from_label
from junkdna.errors import JunkDNAError
from junkdna.transfer.regimes import REGIMES

TEST_KEYS = ("model", "difficulty", "method", "structure", "scope", "regime")
POINT_KEYS = tuple(POINT)


def _measure(row) -> tuple[float, str]:
    """(difficulty, what it is) of one point: the given value, else its setting's measure."""
    if np.isfinite(row.difficulty_value):
        return float(row.difficulty_value), "difficulty_value"
    if row.difficulty not in DIFFICULTIES:
        return math.nan, "none"
    setting = DIFFICULTIES.get(row.difficulty)
    level = level_from_label(row.difficulty, row.level)
    dense = row.dense_score
    if setting.needs_human_score and np.isfinite(row.human_metric_score):
        dense = row.human_metric_score  # compared on the human score's own metric
    facts = RunFacts(dense=dense, human=row.human_score, baseline=row.baseline)
    value = None if level is None else level.measure(facts)
    return (math.nan if value is None else float(value)), setting.measure_label


def difficulty_points(achievable: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Attach a difficulty measure to each achievable-sparsity row, from the dense references of
    ``results`` (a validated table): columns dense_score, baseline, human_score, difficulty_value
    (NaN where unknown) and measure (its description)."""
    achievable, results = with_current_names(achievable), with_current_names(results)
    info = references_table(results)[
        [
            *POINT_KEYS,
            "dense_score",
            "baseline",
            "human_score",
            "human_metric_score",
            "difficulty_value",
        ]  # fmt: skip
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
    quantity: str = "normalized",
    items=None,
    n_boot: int = 2000,
) -> pd.DataFrame:
    """One test per group of ``difficulty_points`` rows; columns: the group keys, the fields of
    ``Correlation``, target, alpha, caveat counts and ``verdict`` (one plain sentence).

    With ``normalized`` (``match_references``' table), a setting with exactly two points per model
    and regime gets one paired test over all its pruning configurations instead of its
    per-configuration rows (module docstring); that row's ``test`` starts with "paired" and it
    has ``mean_diff`` with ``ci_low``/``ci_high``, ``unit``, ``n_units``, ``method_p``,
    ``units_needed``, ``easier``, ``harder`` and ``paired_on``. An evaluation-only setting is
    tested over items (``analysis.items``, ``n_boot`` resamples) with ``items`` ({run id:
    ItemOutcomes}); without them it is not testable and ``no_items`` says why."""
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
    return _pool_two_point_groups(
        tests, points, normalized, target, alpha, n_perm, seed, quantity, items, n_boot
    )


# A two-level comparison pools every pruning configuration of one model, setting and regime.
PAIRED_GROUP = ("model", "difficulty", "regime")


def _over_items(res, normalized, where, easy, hard, items, alpha, n_boot, seed, quantity):
    """(test, pairing, why not) of an evaluation-only comparison over items; without usable
    item outcomes the test is undefined and ``why not`` says what is missing."""
    from junkdna.analysis.items import NoItems, compare_levels_items

    undefined = dataclasses.replace(res, p_value=math.nan, min_p=math.nan, method="undefined",
                                    ci_low=math.nan, ci_high=math.nan)  # fmt: skip
    if quantity != "normalized":
        return undefined, "", "the item-level test compares the normalized score only"
    if not items:
        return undefined, "", "the runs recorded no item outcomes"
    e = {**where, "task": easy["task"], "level": easy["level"]}
    h = {**where, "task": hard["task"], "level": hard["level"]}
    try:
        test, pairing = compare_levels_items(
            normalized, e, h, shared_configs(normalized, e, h), items,
            n_boot=n_boot, seed=seed,
        )  # fmt: skip
    except NoItems as why:
        return undefined, "", str(why)
    return test, pairing, None


def _pool_two_point_groups(
    tests, points, normalized, target, alpha, n_perm, seed, quantity, items=None, n_boot=2000
):
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
        comparison = level_comparison(
            normalized,
            {**where, "task": easy["task"], "level": easy["level"]},
            {**where, "task": hard["task"], "level": hard["level"]},
            quantity=quantity,
            alpha=alpha,
            n_perm=n_perm,
            seed=seed,
        )
        res, pairing, n_configs = comparison.test, comparison.pairing, comparison.n_configs
        left_out = [*comparison.design.left_out, *comparison.design.partial]
        no_items = None
        if not REGIMES.get(str(where.get("regime"))).finetunes:
            # Evaluation only: every "seed" repeats one evaluation, so seeds are no units; the
            # unit is the evaluated item (analysis.items), where the runs recorded their items.
            res, pairing, no_items = _over_items(
                res, normalized, where, easy, hard, items, alpha, n_boot, seed, quantity
            )
            left_out = []  # one evaluation per configuration: no seeds to leave out
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
            "test": f"two-level, {pairing}",
            "n_permutations": 0,
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
            "mean_diff": res.estimate,
            "ci_low": res.ci_low,
            "ci_high": res.ci_high,
            "unit": res.unit,
            "n_units": res.n_units,
            "method_p": res.method,
            "units_needed": units_needed_for(res, alpha),
            "sd_units": res.sd,
            "design": res.design,
            "n_configs": n_configs,
            "left_out": left_out,
            "easier": easier,
            "harder": harder,
            "paired_on": pairing,
            "quantity": QUANTITIES[quantity],
            "no_items": no_items,
        }
        row["verdict"] = verdict_sentence(row)
        pooled.append(row)
        keep &= ~member
    if not pooled:
        return tests
    return pd.concat([tests[keep], pd.DataFrame(pooled)], ignore_index=True)


test_hypothesis.__test__ = False  # not a pytest test despite its name
