"""Every test as a row in words, one table for any kind of test (the primary and exploratory
tests of ``hypothesis``, the transfer regimes, LMC): setting, model, pruning, comparison, effect
with its interval, n and unit, p, adjusted p, the smallest reachable p and the verdict (in full,
or its finding only: ``short_verdict``). An undefined value shows as an em dash (``DASH``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import pandas as pd

from junkdna.analysis.verdict import TARGETS
from junkdna.analysis.words import pruning_words, regime_words, setting_words

DASH = "\u2014"  # what an undefined value shows


def _finite(value) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _num(value, spec: str = ".3g") -> str:
    return format(float(value), spec) if _finite(value) else DASH


def _given(value) -> bool:
    return value is not None and value == value and str(value) != ""


def _comparison(r: Mapping) -> str:
    if _given(r.get("comparison")):
        where = [f"{k} {r[k]}" for k in ("task", "level") if _given(r.get(k))]
        return "; ".join([str(r["comparison"]), ", ".join(where)] if where else [r["comparison"]])
    if _given(r.get("easier")) and _given(r.get("harder")):
        easier, harder = str(r["easier"]), str(r["harder"])
        word = "" if " [" in easier + harder else "level "
        quantity = f" ({r['quantity']})" if _given(r.get("quantity")) else ""
        return f"easier {word}{easier} minus harder {word}{harder}{quantity}"
    target = TARGETS.get(str(r.get("target")), str(r.get("target", "the target")))
    n = f", {int(r['n'])} curves" if _finite(r.get("n")) else ""
    return f"difficulty vs {target}{n}"


def _signed(x: float) -> str:
    """+0.150; a tiny value (a loss barrier) keeps its digits: +1.49e-08."""
    return f"{x:+.3f}" if x == 0 or abs(x) >= 1e-3 else f"{x:+.3g}"


def _effect(r: Mapping) -> str:
    for key in ("mean_diff", "estimate"):
        if _finite(r.get(key)):
            ci = ""
            if _finite(r.get("ci_low")) and _finite(r.get("ci_high")):
                ci = f" [{_signed(r['ci_low'])}, {_signed(r['ci_high'])}]"
            return f"{_signed(r[key])}{ci}"
    return f"rho {r['rho']:+.2f}" if _finite(r.get("rho")) else DASH


def _size(r: Mapping) -> str:
    if _given(r.get("unit")) and _finite(r.get("n_units")):
        n = int(r["n_units"])
        return f"{n} {r['unit']}{'' if n == 1 else 's'}"
    return f"{int(r['n'])} curves" if _finite(r.get("n")) else DASH


def _pruning(r: Mapping) -> str:
    method, structure = r.get("method"), r.get("structure")
    if not (_given(method) and _given(structure)):
        return DASH
    if ", " in f"{method}{structure}":  # a two-level test pools its configurations
        text = f"pooled: {method} \u00d7 {structure}"
    else:
        text = pruning_words(method, structure, r.get("scope"))
    return f"{text}, {regime_words(r['regime'])}" if _given(r.get("regime")) else text


def _reachable(r: Mapping) -> str:
    adjusted = r.get("min_p_adjusted")
    primary = _given(r.get("primary")) and bool(r["primary"])
    return _num(adjusted if primary and _finite(adjusted) else r.get("min_p"))


TEST_TABLE_COLUMNS = ("setting", "model", "pruning", "comparison", "effect [95% CI]", "n", "p",
                      "adjusted p", "smallest reachable p", "verdict")  # fmt: skip


_PREFIX = re.compile(r"^(Primary test( \([^)]*\))?|Exploratory( \([^)]*\))?)\.\s+")
_NEEDED = re.compile(r"would need about (\d+) (\w+?)s\b")


def short_verdict(text: str) -> str:
    """The finding of a verdict sentence without its context and evidence (the table's other
    columns hold those): "Supported", "Cannot answer with this design (...); about 6 seeds
    needed", "Not testable: <why>"."""
    body = _PREFIX.sub("", str(text).strip())
    if body.startswith("Not testable"):
        why = body.split("): ", 1)[1] if "): " in body else body
        return "Not testable: " + why.split("; caveats:")[0].rstrip(".")
    head = body.split(" (", 1)[0].rstrip(".")
    if body.startswith("Cannot answer"):
        head = "Cannot answer with this design"
        need = _NEEDED.search(body)
        if need:
            head += f"; about {need.group(1)} {need.group(2)}s needed"
    return head


def table_of_tests(tests: pd.DataFrame, short: bool = False) -> pd.DataFrame:
    """Tests of any kind (``hypothesis``, ``regimes``, LMC) as a table in words: setting, model,
    pruning, comparison, effect with its interval, n and unit, p, adjusted p, the smallest
    reachable p and the verdict (``short``: its finding only, ``short_verdict``). Missing columns
    show as an em dash."""
    rows = [
        {
            "setting": setting_words(r["difficulty"]) if _given(r.get("difficulty")) else DASH,
            "model": str(r["model"]) if _given(r.get("model")) else DASH,
            "pruning": _pruning(r),
            "comparison": _comparison(r),
            "effect [95% CI]": _effect(r),
            "n": _size(r),
            "p": _num(r.get("p_value")),
            "adjusted p": _num(r.get("p_adjusted")),
            "smallest reachable p": _reachable(r),
            "verdict": _verdict_cell(r, short),
        }
        for r in tests.to_dict("records")
    ]
    return pd.DataFrame(rows, columns=list(TEST_TABLE_COLUMNS))


def _verdict_cell(r: Mapping, short: bool) -> str:
    if not _given(r.get("verdict")):
        return DASH
    return short_verdict(r["verdict"]) if short else str(r["verdict"])
