"""Scores that cannot be right: a run whose accuracy lies below its chance or majority-class
baseline by more than ``SE_LIMIT`` binomial standard errors is flagged.

Such a score almost always means a pipeline error (labels read as the wrong thing, predictions
compared with something they cannot equal, choices dropped), not a finding, so the run, the
study's status, its export and its report all carry the flag.

The rule. ``b`` is the run's baseline (``info["chance"]``: the mean of 1/k over the scored
questions of a choice task; else ``info["majority_baseline"]["validation"]``: the share of the
scored rows in the training majority class), ``n`` the number of scored items, ``k`` the number
answered right. A run is flagged when both

* ``k / n < b - 3 * sqrt(b * (1 - b) / n)`` (3 binomial standard errors, the margin that
  ``tasks.baselines`` also uses to say a task is learned), and
* the exact one-sided binomial tail ``P(Bin(n, b) <= k)`` is at most ``TAIL`` = 0.00135, the
  normal tail beyond 3 standard errors.

The second condition keeps the rule valid where the normal approximation is not: with ``b`` =
0.99 and 9 items the first alone flags a model as good as the baseline in 9% of runs. Under the
null that every item is answered right with probability ``b`` independently, a run is flagged
with probability at most ``TAIL``. A chance baseline averages 1/k over questions with different
numbers of choices; the count right of a guesser is then Poisson-binomial, whose lower tail below
its mean minus 1 is lighter than the binomial's (Hoeffding 1956), so the bound still holds
(``tests/test_local_choices.py`` measures it by simulation).

Only accuracies are compared (the baseline is an accuracy): the metric's ``accuracy`` key, which
every classification and choice metric reports; a task without one is not checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

SE_LIMIT = 3.0
TAIL = 0.00135  # P(Z < -3) for a standard normal Z
SCORE_KEY = "accuracy"


@dataclass(frozen=True)
class BelowBaseline:
    """One flagged score: what was compared, and how far below the baseline it lies."""

    metric: str
    score: float
    baseline: float
    kind: str  # "chance" or "majority"
    n: int  # scored items
    standard_errors: float  # (baseline - score) / sqrt(b (1 - b) / n)
    tail: float  # exact P(Bin(n, baseline) <= round(score * n))

    def message(self) -> str:
        what = "chance" if self.kind == "chance" else "majority-class baseline"
        return (
            f"{self.metric} {self.score:.4f} is below the {what} {self.baseline:.4f} by "
            f"{self.standard_errors:.1f} standard errors over {self.n} scored items (binomial "
            f"P = {self.tail:.1e}): almost always a pipeline error (labels read as the wrong "
            "thing, predictions compared with something they cannot equal), not a finding"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message()}


def baseline_of(info: Mapping[str, Any]) -> tuple[float, str] | None:
    """The baseline a task's info records, (value, "chance" | "majority"), or None."""
    chance = info.get("chance")
    if chance is not None:
        return float(chance), "chance"
    majority = (info.get("majority_baseline") or {}).get("validation")
    if majority is not None:
        return float(majority), "majority"
    return None


def below_baseline(
    score: float, baseline: float, n: int, kind: str = "chance", metric: str = SCORE_KEY
) -> BelowBaseline | None:
    """The flag for an accuracy ``score`` over ``n`` items against ``baseline`` (None: not
    flagged, or nothing to judge: no items, a baseline of 0 or 1, a score that is not a number)."""
    from scipy.stats import binom

    if n < 1 or not 0 < baseline < 1 or not math.isfinite(score):
        return None
    se = math.sqrt(baseline * (1 - baseline) / n)
    if not score < baseline - SE_LIMIT * se:
        return None
    right = round(score * n)  # the score is a share of the n items
    tail = float(binom.cdf(right, n, baseline))
    if tail > TAIL:
        return None
    return BelowBaseline(metric, float(score), baseline, kind, n, (baseline - score) / se, tail)


def check_run(metrics: Mapping[str, float], info: Mapping[str, Any], n: int) -> list[dict]:
    """The warnings of one run (a list of ``BelowBaseline.to_dict()``; empty: nothing flagged):
    its ``accuracy`` against the baseline in its task ``info``, over ``n`` scored items."""
    base = baseline_of(info)
    score = metrics.get(SCORE_KEY)
    if base is None or score is None:
        return []
    flag = below_baseline(float(score), base[0], n, base[1])
    return [] if flag is None else [flag.to_dict()]
