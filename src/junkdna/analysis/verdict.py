"""The verdict of a hypothesis test in one plain sentence: the finding, its evidence and its
caveats (``verdict_sentence`` on a row of ``hypothesis.test_hypothesis``)."""

from __future__ import annotations

from junkdna.transfer.regimes import REGIMES

TARGETS = {"achievable": "achievable sparsity", "auc": "area under the normalized curve"}
# What a two-level test compares (``hypothesis.compare_levels``: normalized by default).
ABOVE_BASELINE = "share of the dense score above the baseline kept"
NORMALIZED = "normalized score"


def _attainable(t: dict) -> float:
    """The smallest p the test can reach, after Holm's adjustment for a primary test."""
    adjusted = t.get("min_p_adjusted")
    return adjusted if t.get("primary") and adjusted == adjusted else t["min_p"]


def _paired_verdict(t: dict, context: str, tail: str) -> str:
    quantity = t.get("quantity") or NORMALIZED
    if not REGIMES.get(str(t.get("regime"))).finetunes and t.get("unit") != "item":
        why = t.get("no_items") or "the runs recorded no item outcomes"
        return (
            f"Not testable ({context}): without fine-tuning every seed repeats the same "
            f"evaluation, so seeds are no units and the unit is the evaluated item, but {why}"
            f"{tail}"
        )
    if t["method_p"] == "undefined" or not t["n_units"]:
        why = (
            "a level's dense model scores at or below its baseline, so there is no share above "
            "the baseline to keep"
            if t.get("n_at_baseline") and quantity == ABOVE_BASELINE
            else "the two levels share no pruning configuration run on every seed"
        )
        return f"Not testable ({context}): {why}{tail}"
    interval = (
        f", 95% CI [{-t['ci_high']:+.3f}, {-t['ci_low']:+.3f}]"
        if t["ci_low"] == t["ci_low"]  # not NaN
        else ""
    )
    how = (
        f"{t['paired_on']}; the mean over {int(t['n_configs'])} pruning configuration(s)"
        if t.get("unit") == "item"
        else f"{t['paired_on']}, each {t['unit']} the mean of {int(t['n_configs'])} pruning "
        "configuration(s)"
    )
    evidence = (
        f"{t['harder']} (harder) vs {t['easier']}: {quantity} {-t['mean_diff']:+.3f} on average"
        f"{interval} over {int(t['n_units'])} {t['unit']}(s) ({how}), two-sided "
        f"{t['method_p']} p = {t['p_value']:.3g}"
    )
    p = t.get("p_decide", t["p_value"])
    if p < t["alpha"] and t["mean_diff"] > 0:
        head = "Supported: the harder level keeps less of its dense score under the same sparsity"
    elif p < t["alpha"]:
        head = "Contradicted: the harder level keeps more of its dense score"
    elif _attainable(t) >= t["alpha"]:
        head = "Cannot answer with this design (too few units for any p below alpha)"
    elif t["mean_diff"] > 0 and t["p_value"] < 1:  # p = 1: no sign pattern is less extreme
        head = (
            "Consistent but not significant: the estimate points the predicted way (the harder "
            "level keeping less)"
        )
    else:
        head = "Not significant: no evidence that the harder level keeps less of its dense score"
    return f"{head} ({context}; {evidence}){tail}"


def _caveats(t: dict) -> list[str]:
    out = []
    paired = t.get("target") == "paired normalized"
    if t["test"] == "exact" and t["min_p"] > t["alpha"]:
        out.append(
            f"with {t['n']} points no ordering can reach p < {t['alpha']:g} "
            f"(smallest attainable p = {t['min_p']:.2g})"
        )
    if paired and t["n_units"] and _attainable(t) >= t["alpha"]:
        need = t.get("units_needed")
        more = (
            f"; the observed effect would need about {int(need)} {t['unit']}s at alpha "
            f"{t['alpha']:g} before any adjustment"
            if need == need and need
            else ""
        )
        adjusted = f", Holm across {int(t['n_primary'])} settings" if t.get("primary") else ""
        out.append(
            f"{int(t['n_units'])} {t['unit']}(s) cannot reach p < {t['alpha']:g} (smallest attainable "
            f"p = {_attainable(t):.2g}{adjusted}){more}"
        )
    items = t.get("unit") == "item"
    if paired and t["n_units"] and t["n_units"] < 5 and t["method_p"] != "undefined":
        out.append(
            f"only {int(t['n_units'])} {t['unit']}(s): the Student-t interval rests on few units "
            "and assumes normal seed effects; the exact test above is the verdict"
        )
    if items and t["n_units"] and t["n_units"] < 50:
        out.append(
            f"only {int(t['n_units'])} items: the bootstrap over items is approximate with so few"
        )
    elif items:
        pass  # one evaluation per configuration: the interval is over items, not seeds
    elif t["min_seeds"] <= 1:
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
    """One sentence: the finding, its evidence, and its caveats. A row marked by
    ``primary.mark_primary`` says whether it is a primary test (decided on its Holm-adjusted p)
    or exploratory."""
    if "primary" not in t:
        return _sentence(t)
    if not t["primary"]:
        return "Exploratory. " + _sentence(t)
    adjusted = t.get("p_adjusted")
    if adjusted is None or adjusted != adjusted:  # NaN: an untestable primary
        return "Primary test. " + _sentence(t)
    sentence = _sentence({**t, "p_decide": adjusted})
    return f"Primary test (Holm-adjusted p = {adjusted:.3g} across settings). {sentence}"


def _sentence(t: dict) -> str:
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
    p = t.get("p_decide", t["p_value"])
    if p < t["alpha"] and t["rho"] < 0:
        head = "Supported: harder tasks tolerate less sparsity"
    elif p < t["alpha"]:
        head = "Contradicted: harder tasks tolerate more sparsity"
    else:
        head = f"Not significant: no evidence that difficulty predicts the {what}"
    return f"{head} ({context}; {evidence}){tail}"
