"""Every test and every curve point of an analysis as plain JSON (``junkdna report --json``), so
that a result can be quoted, checked or plotted elsewhere without reading the HTML.

``{"tests": [{setting, primary, unit, n_units, method, estimate, ci: [lo, hi], p, p_adjusted,
min_p, verdict, ...}], "curves": [{model, task, difficulty, level, method, structure, scope,
regime, sparsity, mean, ci: [lo, hi], n_units}]}``; a test's ``method`` is its statistical
method (the pruning it covers is under ``pruning``); ``setting`` is the table's ``difficulty``
value, ``mean`` the normalized score. A two-level test's ``estimate`` is the easier minus the
harder level (positive: the hypothesis's direction), a rank test's is Spearman's rho between
difficulty and achievable sparsity (negative: the hypothesis's direction); ``estimate_is``
says which, in words. ``min_p`` is the smallest p the design can report, ``min_p_adjusted``
the smallest Holm-adjusted p a primary can reach given the other primaries' p, and
``units_needed`` (where the design cannot reach alpha) about how many units the observed effect
would need for 80% power of its own test at ``alpha_sized``. ``left_out`` names every seed and
configuration an unbalanced design left out (``{"seed": s, "why": ...}``, ``{"configuration":
..., "why": ...}``) and every seed summarized over fewer configurations (``{"seed": s, "lacks":
[...], "over": k}``). A value that does not exist (an interval from one unit, the adjusted p of
an exploratory test) is ``null``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from junkdna.analysis.verdict import TARGETS

CURVE_KEYS = ("model", "task", "difficulty", "level", "method", "structure", "scope", "regime")


def _num(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _plain(x: Any) -> Any:
    """A JSON-able copy: numpy scalars as Python numbers, NaN as None."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, str) or x is None:
        return x
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    return _num(x) if isinstance(x, float | np.floating) else str(x)


def _left_out(t: dict) -> list:
    entries = t.get("left_out")
    return _plain(list(entries)) if isinstance(entries, list | tuple) else []


def _int(x: Any) -> int | None:
    return None if _num(x) is None else int(float(x))


def _test(t: dict) -> dict[str, Any]:
    two_level = t.get("target") == "paired normalized"
    if two_level:
        unit, n, method, estimate = t["unit"], t["n_units"], t["method_p"], t["mean_diff"]
        ci = [_num(t.get("ci_low")), _num(t.get("ci_high"))]
        meaning = (
            f"{t.get('easier')} (easier) minus {t.get('harder')} (harder), {t.get('quantity')}"
        )
    else:  # a rank correlation across task/level points: no interval for rho
        unit, n, estimate, ci = "task/level point", t["n"], t["rho"], [None, None]
        method = f"Spearman rho, permutation ({t['test']})"
        what = TARGETS.get(str(t.get("target")), t.get("target"))
        meaning = f"Spearman rho between the difficulty measure and the {what}"
    return {
        "setting": t["difficulty"],
        "primary": bool(t.get("primary", False)),
        "unit": unit,
        "n_units": None if _num(n) is None else int(n),
        "method": method,
        "estimate": _num(estimate),
        "ci": ci,
        "p": _num(t["p_value"]),
        "p_adjusted": _num(t.get("p_adjusted")),
        "min_p": _num(t.get("min_p")),
        "verdict": t["verdict"],
        "target": t["target"],
        "model": t.get("model"),
        "regime": t.get("regime"),
        "pruning": {k: t.get(k) for k in ("method", "structure", "scope")},
        "estimate_is": meaning,
        "min_p_adjusted": _num(t.get("min_p_adjusted")),
        "units_needed": _int(t.get("units_needed")),
        "alpha_sized": _num(t.get("alpha_sized", t.get("alpha"))),
        "left_out": _left_out(t),
    }


def _exploratory(t: dict, method: str, labels: tuple[str, ...], pruning: tuple[str, ...]):
    """A section-5 or LMC test (a ``comparison`` over seeds; never primary, never adjusted)."""
    return {
        "setting": t["difficulty"],
        "primary": False,
        "unit": t["unit"],
        "n_units": int(t["n_units"]),
        "method": method,
        "estimate": _num(t["estimate"]),
        "ci": [_num(t["ci_low"]), _num(t["ci_high"])],
        "p": _num(t["p_value"]),
        "p_adjusted": None,
        "min_p": _num(t["min_p"]),
        "verdict": t["verdict"],
        "target": t["comparison"],
        **{k: t.get(k) for k in labels},
        "pruning": {k: t.get(k) for k in pruning},
        "estimate_is": t["comparison"],
        "units_needed": _int(t.get("units_needed")),
        "left_out": _left_out(t),
    }


def _section5(t: dict) -> dict[str, Any]:
    method = "sign-flip over seeds" if _num(t["p_value"]) is not None else "t interval"
    return _exploratory(t, method, ("model", "task", "level"), ("method", "structure", "scope"))


def _lmc(t: dict) -> dict[str, Any]:
    return _exploratory(
        t, t["test"], ("model", "regime"), ("method", "structure", "scope", "sparsity")
    )


def analysis_json(
    tests: pd.DataFrame,
    summary: pd.DataFrame,
    regime_tests: pd.DataFrame | None = None,
    lmc_tests: pd.DataFrame | None = None,
) -> dict[str, list[dict]]:
    out_tests = [_test(t) for t in tests.to_dict("records")]
    if regime_tests is not None and not regime_tests.empty:  # the paper's section 5, exploratory
        out_tests += [_section5(t) for t in regime_tests.to_dict("records")]
    if lmc_tests is not None and not lmc_tests.empty:  # appendix B's barriers, exploratory
        out_tests += [_lmc(t) for t in lmc_tests.to_dict("records")]
    curves = []
    for row in summary.to_dict("records"):
        curves.append(
            {
                **{k: row[k] for k in CURVE_KEYS},
                "sparsity": float(row["sparsity"]),
                "mean": _num(row["mean"]),
                "ci": [_num(row["ci_low"]), _num(row["ci_high"])],
                "n_units": int(row["n_seeds"]),
            }
        )
    return {"tests": out_tests, "curves": curves}
