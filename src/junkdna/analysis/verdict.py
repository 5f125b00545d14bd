"""The verdict of a hypothesis test in one plain sentence: the finding, its evidence and its
caveats (``verdict_sentence`` on a row of ``hypothesis.test_hypothesis``)."""

from __future__ import annotations

from junkdna.analysis.pairing import left_out_words
from junkdna.analysis.stats import spearman_min_p
from junkdna.transfer.regimes import REGIMES

TARGETS = {"achievable": "achievable sparsity", "auc": "area under the normalized curve"}
# What a two-level test compares (``hypothesis.compare_levels``: normalized by default).
ABOVE_BASELINE = "share of the dense score above the baseline kept"
NORMALIZED = "normalized score"


def _attainable(t: dict) -> float:
    """The smallest p the test can reach: for a primary test, the Holm-adjusted p it would get at
    its own smallest p, the other primaries' p as observed (``primary.holm_floors``)."""
    adjusted = t.get("min_p_adjusted")
    return adjusted if t.get("primary") and adjusted == adjusted else t["min_p"]


def _sized_at(t: dict) -> str:
    """At which level a "units needed" figure was sized."""
    level = t.get("alpha_sized", t["alpha"])
    if t.get("primary") and t.get("n_primary", 1) > 1:
        return (
            f"alpha {level:.3g} (the level Holm guarantees across {int(t['n_primary'])} primaries)"
        )
    return f"alpha {level:.3g}"


def _holm_words(t: dict) -> str:
    if not t.get("primary") or t.get("n_primary", 1) <= 1:
        return ""
    return f", after Holm across {int(t['n_primary'])} primaries, the others' p as observed"


def _same_everywhere(t: dict) -> bool:
    """Every unit gave the same difference: the interval is missing for want of spread."""
    return t.get("sd_units") == 0 and (t.get("n_units") or 0) > 1


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
            else "the two levels share no pruning configuration that a seed ran at both levels"
        )
        return f"Not testable ({context}): {why}{tail}"
    interval = (
        f", 95% CI [{t['ci_low']:+.3f}, {t['ci_high']:+.3f}]"
        if t["ci_low"] == t["ci_low"]  # not NaN
        else ""
    )
    how = (
        f"{t['paired_on']}; the mean over {int(t['n_configs'])} pruning configuration(s)"
        if t.get("unit") == "item"
        else f"{t['paired_on']}, each {t['unit']} the mean of {int(t['n_configs'])} pruning "
        "configuration(s)"
    )
    # One sign everywhere: easier minus harder, positive = the hypothesis's direction (as in the
    # report's table and the JSON's estimate).
    evidence = (
        f"{t['easier']} (easier) minus {t['harder']} (harder): {quantity} "
        f"{t['mean_diff']:+.3f} on average{interval} over {int(t['n_units'])} {t['unit']}(s) "
        f"({how}), two-sided {t['method_p']} p = {t['p_value']:.3g}"
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
    if not paired and t["test"] in ("exact", "monte-carlo") and _attainable(t) >= t["alpha"]:
        level = t.get("alpha_sized", t["alpha"])
        enough = next((n for n in range(3, 20) if spearman_min_p(n) < level), 20)
        out.append(
            f"with {t['n']} points no ordering can reach p < {t['alpha']:g} (smallest attainable "
            f"p = {_attainable(t):.2g}{_holm_words(t)}); {enough} distinct points could reach "
            f"p < {level:.3g}"
        )
    if paired and t["n_units"] and _attainable(t) >= t["alpha"]:
        need = t.get("units_needed")
        more = (
            f"; the observed effect would need about {int(need)} {t['unit']}s for 80% power of "
            f"this exact test at {_sized_at(t)}"
            if need == need and need
            else ""
        )
        out.append(
            f"{int(t['n_units'])} {t['unit']}(s) cannot reach p < {t['alpha']:g} (smallest "
            f"attainable p = {_attainable(t):.2g}{_holm_words(t)}){more}"
        )
    if paired and _same_everywhere(t):
        out.append(
            f"every {t['unit']} gave the same difference, so there is no spread between "
            f"{t['unit']}s to build an interval from"
        )
    if paired and t.get("left_out"):
        out.append(left_out_words(t["left_out"], int(t.get("n_configs") or 0), t["unit"]))
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
    elif _attainable(t) >= t["alpha"]:
        head = "Cannot answer with this design (too few task/level points for any p below alpha)"
    else:
        head = f"Not significant: no evidence that difficulty predicts the {what}"
    return f"{head} ({context}; {evidence}){tail}"
