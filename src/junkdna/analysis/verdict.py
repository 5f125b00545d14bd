"""The verdict of a hypothesis test in one plain sentence: the finding, its evidence and its
caveats (``verdict_sentence`` on a row of ``hypothesis.test_hypothesis``)."""

from __future__ import annotations

TARGETS = {"achievable": "achievable sparsity", "auc": "area under the normalized curve"}
# What a paired test compares (``hypothesis.paired_differences`` says which one it used).
ABOVE_BASELINE = "share of the dense score above the baseline kept"
NORMALIZED = "normalized score"


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
