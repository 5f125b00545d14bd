"""The Junk DNA hypothesis as a test: does a task's difficulty predict how much sparsity it takes?

Prediction: harder tasks (a larger difficulty measure) tolerate less sparsity, i.e. a *negative*
Spearman rank correlation between difficulty and achievable sparsity (or normalized AUC).

* Points: one per (task, level) curve of an achievable-sparsity table, within a test group
  (``TEST_KEYS``: model, difficulty setting, method, structure, scope, regime) so that one test
  never mixes difficulty measures of different settings or pruning configurations.
* Difficulty measure of a point: the ``difficulty_value`` column where the study supplies one,
  otherwise the setting's entry in ``DIFFICULTY_MEASURES`` (e.g. 1 / training fraction for
  data adequacy); a point without either has no measure and its group is "not testable".
* p-value: two-sided permutation test of Spearman's rho; exact enumeration of all n! orderings for
  n <= ``EXACT_MAX_N``, otherwise a seeded Monte Carlo estimate (1 + hits) / (1 + n_perm).
* Two points (settings 2 and 3 have two levels by nature: majority/minority, open/closed book):
  a rank correlation over 2 points is no test, so the achievable-sparsity table tests them on the
  matched runs instead (``paired_signflip``): for each pruning configuration and seed run at both
  levels, d = kept(easier) - kept(harder), kept = (score - baseline) / (dense - baseline) (the
  share of the dense model's score above the majority baseline that survives; score / dense when
  a baseline is unknown); the prediction is mean d > 0 (the harder
  level keeps less of its dense score). Pairs match on (sparsity, seed), or on sparsity with the
  seed means when the two levels share no seed. p: two-sided sign-flip test, exact over all 2^m
  sign patterns for m <= ``PAIRED_EXACT_MAX`` pairs, otherwise seeded Monte Carlo.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from junkdna.errors import JunkDNAError
from junkdna.registry import Registry

EXACT_MAX_N = 8
PAIRED_EXACT_MAX = 16
TEST_KEYS = ("model", "difficulty", "method", "structure", "scope", "regime")
POINT_KEYS = ("model", "task", "difficulty", "level")
TARGETS = {"achievable": "achievable sparsity", "auc": "area under the normalized curve"}
TIE_TOL = 1e-12

# name of a difficulty setting -> (level, dense score, human score, baseline) -> difficulty
# (larger = harder)
Measure = Callable[[str, float, float, float], float]
DIFFICULTY_MEASURES: Registry[tuple[str, Measure]] = Registry("difficulty measure")
DIFFICULTY_MEASURES.add(
    "data_adequacy", ("1 / training fraction", lambda lv, d, h, b: 1 / float(lv))
)
DIFFICULTY_MEASURES.add(
    "external_info",
    (
        "closed-book (1) vs open-book (0)",
        lambda lv, d, h, b: {"open-book": 0.0, "closed-book": 1.0}[lv],
    ),
)
DIFFICULTY_MEASURES.add(
    "across_tasks",
    (
        "normalized human-model gap (%)",
        lambda lv, d, h, b: (h - d) / h * 100 if h else math.nan,
    ),
)
DIFFICULTY_MEASURES.add(
    "dense_headroom",
    (
        "dense error above the baseline (%)",
        lambda lv, d, h, b: (1 - d) / (1 - b) * 100 if b < 1 else math.nan,
    ),
)


@dataclass(frozen=True)
class Correlation:
    rho: float
    p_value: float
    n: int
    test: str  # "exact", "monte-carlo" or "undefined"
    n_permutations: int
    min_p: float  # the smallest p-value this test could report at this n (exact method only)
    ties_x: int  # number of values sharing a rank with another value
    ties_y: int


def _n_tied(v: np.ndarray) -> int:
    _, counts = np.unique(np.round(v / TIE_TOL) * TIE_TOL, return_counts=True)
    return int(counts[counts > 1].sum())


def _rho_rows(rx: np.ndarray, ry_perms: np.ndarray) -> np.ndarray:
    """Pearson correlation of ranks ``rx`` (n,) with each row of ``ry_perms`` (m, n)."""
    a = rx - rx.mean()
    b = ry_perms - ry_perms.mean(axis=1, keepdims=True)
    return (b @ a) / (np.sqrt((a * a).sum()) * np.sqrt((b * b).sum(axis=1)))


def spearman_permutation(
    x, y, *, n_perm: int = 9999, seed: int = 0, exact_max_n: int = EXACT_MAX_N
) -> Correlation:
    """Spearman's rho (average ranks for ties) with a two-sided permutation p-value."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise JunkDNAError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise JunkDNAError("x and y must be finite")
    n = len(x)
    ties = (_n_tied(x), _n_tied(y)) if n else (0, 0)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(math.nan, math.nan, n, "undefined", 0, math.nan, *ties)
    rx, ry = rankdata(x), rankdata(y)
    rho = float(_rho_rows(rx, ry[None, :])[0])
    if n <= exact_max_n:
        perms = np.array(list(itertools.permutations(range(n))))  # (n!, n)
        null = np.abs(_rho_rows(rx, ry[perms]))
        p = float(np.mean(null >= abs(rho) - TIE_TOL))
        min_p = float(np.mean(null >= null.max() - TIE_TOL))
        return Correlation(rho, p, n, "exact", len(perms), min_p, *ties)
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(ry, (n_perm, 1)), axis=1)  # (n_perm, n)
    hits = int(np.sum(np.abs(_rho_rows(rx, perms)) >= abs(rho) - TIE_TOL))
    p = (1 + hits) / (1 + n_perm)
    return Correlation(rho, p, n, "monte-carlo", n_perm, 1 / (1 + n_perm), *ties)


@dataclass(frozen=True)
class Paired:
    mean_diff: float  # mean of d = kept(easier) - kept(harder)
    p_value: float
    n_pairs: int
    test: str  # "paired exact", "paired monte-carlo" or "undefined"
    n_permutations: int
    min_p: float


def paired_signflip(d, *, n_perm: int = 9999, seed: int = 0) -> Paired:
    """Two-sided sign-flip test of mean(d) = 0 (d: paired differences)."""
    d = np.asarray(d, dtype=float)
    m = len(d)
    if m == 0 or not np.isfinite(d).all():
        return Paired(math.nan, math.nan, m, "undefined", 0, math.nan)
    observed = abs(d.mean())
    if m <= PAIRED_EXACT_MAX:
        signs = 1 - 2 * ((np.arange(2**m)[:, None] >> np.arange(m)) & 1)  # (2^m, m) of +-1
        null = np.abs(signs @ d) / m
        p = float(np.mean(null >= observed - TIE_TOL))
        min_p = float(np.mean(null >= null.max() - TIE_TOL))
        return Paired(float(d.mean()), p, m, "paired exact", len(signs), min_p)
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n_perm, m))
    hits = int(np.sum(np.abs(signs @ d) / m >= observed - TIE_TOL))
    return Paired(
        float(d.mean()),
        (1 + hits) / (1 + n_perm),
        m,
        "paired monte-carlo",
        n_perm,
        1 / (1 + n_perm),
    )


PAIR_KEYS = ("method", "structure", "scope", "sparsity")  # what a pair shares, besides the seed


ABOVE_BASELINE = "share of the dense score above the baseline kept"
NORMALIZED = "normalized score"


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


def difficulty_points(achievable: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Attach a difficulty measure to each achievable-sparsity row, from the dense references of
    ``results`` (a validated table): columns dense_score, baseline, human_score, difficulty_value
    (NaN where unknown) and measure (its description)."""
    from junkdna.analysis.normalize import is_reference

    refs = results[is_reference(results)]
    info = refs.groupby(list(POINT_KEYS), dropna=False).agg(
        dense_score=("score", "mean"),
        baseline=("baseline", "max"),
        human_score=("human_score", "max"),
        given_value=("difficulty_value", "max"),
    )
    points = achievable.merge(info.reset_index(), on=list(POINT_KEYS), how="left")
    values, measures = [], []
    for row in points.itertuples():
        if np.isfinite(row.given_value):
            values.append(float(row.given_value))
            measures.append("difficulty_value")
        elif row.difficulty in DIFFICULTY_MEASURES:
            name, fn = DIFFICULTY_MEASURES.get(row.difficulty)
            try:
                values.append(float(fn(row.level, row.dense_score, row.human_score, row.baseline)))
            except (KeyError, ValueError, TypeError, ZeroDivisionError):
                values.append(math.nan)
            measures.append(name)
        else:
            values.append(math.nan)
            measures.append("none")
    return points.drop(columns="given_value").assign(difficulty_value=values, measure=measures)


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


def _paired_verdict(t: dict, context: str, tail: str) -> str:
    quantity = t.get("quantity") or NORMALIZED
    if t["test"] == "undefined" or not t["n_pairs"]:
        why = (
            "a level's dense model scores at or below its baseline, so there is no share above "
            "the baseline to keep"
            if t.get("n_at_baseline")
            else "the two levels share no pruning configuration, so there is no matched run pair"
        )
        return f"Not testable ({context}): {why}{tail}"
    evidence = (
        f"{t['harder']} (harder) vs {t['easier']}: {quantity} {-t['mean_diff']:+.3f} on average "
        f"over {t['n_pairs']} run pair(s) sharing {t.get('paired_on', 'pruning')}, two-sided "
        f"sign-flip p = {t['p_value']:.3g} ({t['test']}, {t['n_permutations']} sign patterns)"
    )
    if t["p_value"] < t["alpha"] and t["mean_diff"] > 0:
        head = "Supported: the harder level keeps less of its dense score under the same sparsity"
    elif t["p_value"] < t["alpha"]:
        head = "Contradicted: the harder level keeps more of its dense score"
    elif t["mean_diff"] > 0 and t["p_value"] < 1:  # p = 1: no sign pattern is less extreme
        head = "Consistent but not significant: the harder level keeps less of its dense score"
    else:
        head = "Not significant: no evidence that the harder level keeps less of its dense score"
    return f"{head} ({context}; {evidence}){tail}"


def _caveats(t: dict) -> list[str]:
    out = []
    if t["test"] in ("exact", "paired exact") and t["min_p"] > t["alpha"]:
        what = "ordering" if t["test"] == "exact" else "sign pattern"
        n = t["n"] if t["test"] == "exact" else t["n_pairs"]
        unit = "points" if t["test"] == "exact" else "pair(s)"
        out.append(
            f"with {n} {unit} no {what} can reach p < {t['alpha']:g} "
            f"(smallest attainable p = {t['min_p']:.2g})"
        )
    if str(t["test"]).startswith("paired") and t["n_pairs"] > 1:
        out.append(
            "pairs that share a seed or a pruning configuration are not independent, so the "
            "p-value is approximate"
        )
    if t["min_seeds"] <= 1:
        out.append("a single seed per curve, so the values carry no interval")
    elif t["min_seeds"] < 3:
        out.append(f"only {t['min_seeds']} seeds per curve")
    if t["ties_y"]:
        out.append(f"{t['ties_y']} of {t['n']} {TARGETS[t['target']]} values are tied")
    if t["n_never_drops"]:
        out.append(
            f"{t['n_never_drops']} curve(s) never fell below the threshold, so their achievable "
            "sparsity is only a lower bound"
        )
    if t["n_at_baseline"]:
        out.append(f"{t['n_at_baseline']} dense model(s) score at or below their baseline")
    if t["n_without_measure"]:
        out.append(f"{t['n_without_measure']} curve(s) lack a difficulty measure")
    return out


def verdict_sentence(t: dict) -> str:
    """One sentence: the finding, its evidence, and its caveats."""
    what = TARGETS.get(t["target"], t["target"])
    context = (
        f"{t.get('model', '?')}, {t.get('difficulty', '?')}, {t.get('method', '?')} "
        f"{t.get('structure', '?')}, {t.get('regime', '?')} regime"
    )
    caveats = _caveats(t)
    tail = f"; caveats: {'; '.join(caveats)}." if caveats else "."
    if t.get("target") == "paired normalized":
        return _paired_verdict(t, context, tail)
    if t["test"] == "undefined":
        why = (
            f"only {t['n']} point(s) with a difficulty measure (at least 3 needed)"
            if t["n"] < 3
            else f"the difficulty measure or the {what} is the same for every point"
        )
        return f"Not testable ({context}): {why}{tail}"
    evidence = (
        f"Spearman rho = {t['rho']:+.2f} between difficulty ({t['measure']}) and {what} over "
        f"{t['n']} task/level points, two-sided permutation p = {t['p_value']:.3g} "
        f"({t['test']}, {t['n_permutations']} orderings)"
    )
    if t["p_value"] < t["alpha"] and t["rho"] < 0:
        head = "Supported: harder tasks tolerate less sparsity"
    elif t["p_value"] < t["alpha"]:
        head = "Contradicted: harder tasks tolerate more sparsity"
    else:
        head = f"Not significant: no evidence that difficulty predicts the {what}"
    return f"{head} ({context}; {evidence}){tail}"
