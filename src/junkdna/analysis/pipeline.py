"""One call from a results table to every derived table: ``analyze(results) -> Analysis``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from junkdna.analysis.achievable import achievable_sparsity
from junkdna.analysis.hypothesis import (
    PAIRED_GROUP,
    difficulty_points,
    test_hypothesis,
)
from junkdna.analysis.normalize import match_references, summarize, validate_results
from junkdna.analysis.primary import mark_primary
from junkdna.analysis.regimes import regime_tests
from junkdna.analysis.tables import references_table
from junkdna.analysis.verdict import verdict_sentence

NO_DATA = (
    "Not testable: the study has no completed sparse runs with a dense reference, so there is "
    "nothing to relate to difficulty."
)


@dataclass
class Analysis:
    results: pd.DataFrame  # validated copy of the input, with current setting names
    normalized: pd.DataFrame  # one row per normalized run (see normalize.match_references)
    unmatched: pd.DataFrame  # done runs without a usable dense reference, with a reason
    summary: pd.DataFrame  # normalized mean/CI per curve point
    score_summary: pd.DataFrame  # raw score mean/CI per curve point
    references: pd.DataFrame  # dense reference per (model, task, difficulty, level)
    achievable: pd.DataFrame  # per curve: achievable sparsity, AUC, intervals
    points: pd.DataFrame  # achievable rows with their difficulty measure
    tests: pd.DataFrame  # hypothesis tests on achievable sparsity
    auc_tests: pd.DataFrame  # the same on the normalized AUC
    regime_tests: pd.DataFrame  # the paper's section 5 (analysis.regimes), exploratory
    epsilon: float

    @property
    def failed(self) -> pd.DataFrame:
        return self.results[self.results["status"] == "failed"]

    def verdict(self) -> str:
        return headline(self.tests)


def headline(tests: pd.DataFrame) -> str:
    """The verdicts of the primary tests (one per setting, chosen without p-values, Holm-adjusted
    across settings: ``analysis.primary``), in setting order."""
    if tests is None or tests.empty:
        return NO_DATA
    primary = tests[tests["primary"]] if "primary" in tests else tests.iloc[:1]
    return " | ".join(str(v) for v in primary.sort_values("difficulty")["verdict"])


def _exploratory(tests: pd.DataFrame) -> pd.DataFrame:
    """Tests that are never primary (the AUC view of the same question)."""
    if tests.empty:
        return tests
    tests = tests.assign(primary=False, p_adjusted=float("nan"))
    tests["verdict"] = [verdict_sentence(r) for r in tests.to_dict("records")]
    return tests


def _without_paired_groups(auc_tests: pd.DataFrame, tests: pd.DataFrame) -> pd.DataFrame:
    """A two-level setting's AUC rows can only say "not testable"; its paired test (in ``tests``)
    already covers it, so those rows are dropped."""
    if auc_tests.empty or tests.empty:
        return auc_tests
    paired = tests[tests["target"] == "paired normalized"]
    keys = [k for k in PAIRED_GROUP if k in auc_tests.columns]
    covered = set(paired[keys].itertuples(index=False, name=None))
    drop = [tuple(r) in covered for r in auc_tests[keys].itertuples(index=False, name=None)]
    return auc_tests[~pd.Series(drop, index=auc_tests.index)].reset_index(drop=True)


def analyze(
    results: pd.DataFrame,
    *,
    epsilon: float = 0.01,
    rule: str = "prefix",
    confidence: float = 0.95,
    n_boot: int = 2000,
    n_perm: int = 9999,
    alpha: float = 0.05,
    seed: int = 0,
    quantity: str = "normalized",
    primary: Sequence[Mapping[str, str]] = (),
    items: Mapping | None = None,
) -> Analysis:
    """``primary``: the study's declared primary tests (``analysis.primary``); settings without
    one get the default. ``items``: {run id: ItemOutcomes} (``Store.items``), the unit of an
    evaluation-only setting's test."""
    df = validate_results(results)
    normalized, unmatched = match_references(df)
    boot = {"confidence": confidence, "n_boot": n_boot, "seed": seed}
    achievable = achievable_sparsity(normalized, epsilon=epsilon, rule=rule, **boot)
    points = difficulty_points(achievable, df)
    test = {"alpha": alpha, "n_perm": n_perm, "seed": seed}
    tests = test_hypothesis(
        points,
        target="achievable",
        normalized=normalized,
        quantity=quantity,
        items=items,
        n_boot=n_boot,
        **test,
    )
    tests = mark_primary(tests, primary)
    return Analysis(
        results=df,
        normalized=normalized,
        unmatched=unmatched,
        summary=summarize(normalized, **boot),
        score_summary=summarize(normalized, value="score", **boot),
        references=references_table(df),
        achievable=achievable,
        points=points,
        tests=tests,
        auc_tests=_exploratory(
            _without_paired_groups(test_hypothesis(points, target="auc", **test), tests)
        ),
        regime_tests=regime_tests(normalized, alpha),
        epsilon=epsilon,
    )
