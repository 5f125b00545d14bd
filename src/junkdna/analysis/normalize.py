"""Normalized performance: a sparse run's metric divided by its dense reference's metric.

The results table (one row per run) is the contract with the study store; see ``REQUIRED``.

Matching rule (explicit on purpose, because a wrong denominator silently skews every figure):
a run is normalized by the one *reference* row that has

* the same ``MATCH_KEYS`` values: model, task, difficulty, level, seed (and ``recipe`` when the
  table has that column), and
* sparsity 0 and the run regime's ``reference`` (``junkdna.transfer.regimes``): ``"dense"`` for
  the fine-tuned regimes (dense transfer is the reference of sparse, frozen and sparse-to-dense
  transfer) and ``"none"`` for studies that evaluate without fine-tuning (the unpruned model,
  method ``"none"``).

Reference rows are exactly the ``status == "done"`` rows with sparsity 0 and a reference regime;
every other done row is normalized. A missing reference, two references for one key, a different
metric name or a non-positive dense score is an error naming the run (or, through
``match_references``, a row in the ``unmatched`` table with its reason).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from junkdna.analysis.stats import t_interval
from junkdna.difficulty import current_name
from junkdna.errors import JunkDNAError, unknown
from junkdna.transfer.regimes import REGIMES, regime_names

REQUIRED = (
    "run_id",
    "model",
    "task",
    "difficulty",
    "level",
    "method",
    "structure",
    "scope",
    "sparsity",
    "regime",
    "seed",
    "metric",
    "score",
    "status",
)
OPTIONAL_FLOAT = ("difficulty_value", "baseline", "human_score", "human_metric_score")
STATUSES = ("done", "failed")
MATCH_KEYS = ("model", "task", "difficulty", "level", "seed")
# One normalized curve = these keys fixed, sparsity varying, seeds as replicates.
FEW_SEEDS = 5  # fewer seeds than this: the report warns that an interval rests on few units
CURVE_KEYS = ("model", "task", "difficulty", "level", "method", "structure", "scope", "regime")


def _with_recipe(keys: Sequence[str], df: pd.DataFrame) -> list[str]:
    return [*keys, "recipe"] if "recipe" in df.columns else list(keys)


def match_keys(df: pd.DataFrame) -> list[str]:
    return _with_recipe(MATCH_KEYS, df)


def curve_keys(df: pd.DataFrame) -> list[str]:
    return _with_recipe(CURVE_KEYS, df)


def _canonical(value) -> str:
    # A recipe may arrive as a dict; compare it by its canonical JSON text.
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def validate_results(results: pd.DataFrame) -> pd.DataFrame:
    """Check the table against the contract and return a cleaned copy (types, filled optionals)."""
    if not isinstance(results, pd.DataFrame):
        raise JunkDNAError(f"results must be a pandas DataFrame, got {type(results).__name__}")
    missing = [c for c in REQUIRED if c not in results.columns]
    if missing:
        raise JunkDNAError(
            f"results table lacks column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}"
        )
    df = results.copy().reset_index(drop=True)
    bad_status = sorted(set(df["status"]) - set(STATUSES))
    if bad_status:
        raise JunkDNAError(f"unknown run status {bad_status[0]!r}; valid: {', '.join(STATUSES)}")
    for regime in sorted(set(df["regime"])):
        if regime not in REGIMES:
            raise unknown("regime", regime, regime_names())
    for col in ("run_id", "model", "task", "difficulty", "level", "method", "structure", "metric"):
        df[col] = df[col].astype(str)
    df = with_current_names(df)
    if "budget" in df.columns:
        # A layer budget makes a different method: "wanda" and "wanda+owl" get their own
        # curves and tests (uniform keeps the plain name, as in tables exported before budgets).
        budget = df["budget"].map(lambda b: "uniform" if b is None or b != b else str(b))
        other = (budget != "uniform") & (df["method"] != "none")
        df.loc[other, "method"] = df.loc[other, "method"] + "+" + budget[other]
    # None scope would vanish from pandas group keys; "none" keeps it a real group.
    df["scope"] = df["scope"].map(lambda s: "none" if s is None or s != s else str(s))
    df["sparsity"] = df["sparsity"].astype(float)
    df["seed"] = df["seed"].astype(int)
    df["score"] = pd.to_numeric(df["score"], errors="coerce").astype(float)
    if "recipe" in df.columns:
        df["recipe"] = df["recipe"].map(_canonical)
    for col in OPTIONAL_FLOAT:
        df[col] = pd.to_numeric(df[col], errors="coerce") if col in df else np.nan
    if "error" not in df:
        df["error"] = None
    if ((df["sparsity"] < 0) | (df["sparsity"] >= 1)).any():
        row = df[(df["sparsity"] < 0) | (df["sparsity"] >= 1)].iloc[0]
        raise JunkDNAError(f"run {row.run_id}: sparsity {row.sparsity} is outside [0, 1)")
    done_nan = df[(df["status"] == "done") & ~np.isfinite(df["score"])]
    if len(done_nan):
        raise JunkDNAError(f"run {done_nan.iloc[0].run_id} is done but its score is not finite")
    return df


def with_current_names(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with old setting names in its ``difficulty`` column replaced by the current ones
    (``junkdna.difficulty.ALIASES``, a deprecation warning for each), so that results tables
    exported before the rename still read."""
    if "difficulty" not in table.columns:
        return table
    names = {old: current_name(old) for old in table["difficulty"].unique()}
    if all(old == new for old, new in names.items()):
        return table
    return table.assign(difficulty=table["difficulty"].map(names))


def is_reference(df: pd.DataFrame) -> pd.Series:
    """Rows that serve as denominators: done, sparsity 0, a regime that is its own reference
    (dense transfer; ``none`` for evaluation-only studies)."""
    ref_regimes = {r for r in regime_names() if REGIMES.get(r).is_reference()}
    return (df["status"] == "done") & (df["sparsity"] == 0.0) & df["regime"].isin(ref_regimes)


def match_references(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pair every done non-reference run with its dense reference.

    Returns ``(normalized, unmatched)``: ``normalized`` has the run's columns plus
    ``dense_run_id``, ``dense_score`` and ``normalized`` (= score / dense_score); ``unmatched``
    holds the runs that could not be normalized with a ``reason`` column.
    """
    df = validate_results(results)
    keys = match_keys(df)
    refs = df[is_reference(df)]
    runs = df[(df["status"] == "done") & ~is_reference(df)].copy()
    runs["_ref_regime"] = runs["regime"].map(lambda r: REGIMES.get(r).reference)
    runs["_row"] = runs.index

    ref_cols = [*keys, "regime", "run_id", "score", "metric"]
    ref_table = refs[ref_cols].rename(
        columns={
            "regime": "_ref_regime",
            "run_id": "dense_run_id",
            "score": "dense_score",
            "metric": "_ref_metric",
        }
    )
    counts = ref_table.groupby([*keys, "_ref_regime"], dropna=False)["dense_run_id"].transform(
        "count"
    )
    ref_table = ref_table.assign(_n_refs=counts)
    merged = runs.merge(ref_table, on=[*keys, "_ref_regime"], how="left")
    # Several references for one key give one merged row each; collapse back to one per run.
    merged = merged.drop_duplicates("_row")

    reasons = pd.Series("", index=merged.index, dtype=object)
    # Checks in order; a run gets the reason of the first check it fails.
    checks = [
        (lambda m: m["dense_run_id"].isna(), lambda r: _missing_reason(r, keys)),
        (
            lambda m: m["_n_refs"] > 1,
            lambda r: "several dense references match; the study must produce exactly one",
        ),
        (
            lambda m: m["_ref_metric"] != m["metric"],
            lambda r: f"metric {r.metric!r} differs from the reference's {r._ref_metric!r}",
        ),
        (
            lambda m: m["dense_score"] <= 0,
            lambda r: (
                f"dense reference {r.dense_run_id} scored {r.dense_score:g}; "
                "normalization needs a positive dense score"
            ),
        ),
    ]
    for failing, reason in checks:
        hit = (reasons == "") & failing(merged)
        for i in merged.index[hit]:
            reasons[i] = reason(merged.loc[i])

    good = reasons == ""
    normalized = merged[good].drop(columns=["_ref_regime", "_ref_metric", "_n_refs", "_row"]).copy()
    normalized["normalized"] = normalized["score"] / normalized["dense_score"]
    unmatched = merged[~good][[*df.columns]].assign(reason=reasons[~good].to_numpy())
    return normalized.reset_index(drop=True), unmatched.reset_index(drop=True)


def _missing_reason(row: pd.Series, keys: Sequence[str]) -> str:
    where = ", ".join(f"{k}={row[k]}" for k in keys)
    return (
        f"no dense reference (status done, sparsity 0, regime {row['_ref_regime']!r}) for {where}"
    )


def normalize(results: pd.DataFrame) -> pd.DataFrame:
    """``match_references`` that raises a JunkDNAError for the first run it cannot normalize."""
    normalized, unmatched = match_references(results)
    if len(unmatched):
        row = unmatched.iloc[0]
        more = f" (and {len(unmatched) - 1} more)" if len(unmatched) > 1 else ""
        raise JunkDNAError(f"cannot normalize run {row.run_id}: {row.reason}{more}")
    return normalized


def group_rng(seed: int, key: tuple) -> np.random.Generator:
    """A generator per group, so one group's interval does not change when others are added."""
    return np.random.default_rng([seed, zlib.crc32(repr(key).encode())])


def bootstrap_mean_ci(
    values: Sequence[float],
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    rng: np.random.Generator | None = None,
) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap interval of the mean of ``values`` (resampled with
    replacement ``n_boot`` times). With one value the interval collapses to it."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise JunkDNAError("bootstrap_mean_ci needs at least one value")
    if not 0 < confidence < 1:
        raise JunkDNAError(f"confidence must be in (0, 1), got {confidence}")
    mean = float(x.mean())
    if x.size == 1:
        return mean, mean, mean
    rng = rng if rng is not None else np.random.default_rng(0)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)  # (n_boot,)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return mean, float(lo), float(hi)


def summarize(
    frame: pd.DataFrame,
    *,
    value: str = "normalized",
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean and Student-t interval over seeds of ``value`` per curve point (curve keys +
    sparsity). The seed is the unit (its runs share a fine-tuning lineage); a percentile
    bootstrap over 2-3 seeds would cover far less than it claims.

    Columns: the curve keys, sparsity, mean, ci_low, ci_high (NaN with one seed: no interval),
    n_seeds, single_seed, few_seeds (under ``FEW_SEEDS`` seeds: an interval that rests on few
    units, and a wide one). ``n_boot`` and ``seed`` are kept for callers; the interval needs
    neither."""
    keys = [*curve_keys(frame), "sparsity"]
    rows = []
    for key, group in frame.groupby(keys, sort=True, dropna=False):
        per_seed = group.groupby("seed")[value].mean().to_numpy()  # one value per unit
        mean, lo, hi = t_interval(per_seed, confidence)
        n = len(per_seed)
        rows.append((*key, mean, lo, hi, n, n == 1, n < FEW_SEEDS))
    cols = [*keys, "mean", "ci_low", "ci_high", "n_seeds", "single_seed", "few_seeds"]
    return pd.DataFrame(rows, columns=cols)
