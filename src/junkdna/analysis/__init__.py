"""Analysis of a study's results table (one row per run; contract in ``normalize.REQUIRED``):
normalized curves with bootstrap intervals, achievable sparsity and AUC, the hypothesis test,
figures (Figure 10 from the LMC results that ``junkdna.study.lmc`` writes), the LMC barriers over
seeds (``barrier_summary``; the exploratory test ``junkdna.analysis.lmc_tests.lmc_tests`` is not
re-exported, as its name would hide its module) and the report.

    from junkdna.analysis import build_report
    build_report(results_df, "out/report", provenance={"study": "studies/quickstart.toml"})
"""

from junkdna.analysis.achievable import achievable_sparsity
from junkdna.analysis.hypothesis import difficulty_points, test_hypothesis
from junkdna.analysis.lmc_tests import barrier_summary
from junkdna.analysis.normalize import match_references, normalize, summarize, validate_results
from junkdna.analysis.pipeline import Analysis, analyze
from junkdna.analysis.report import build_report
from junkdna.analysis.stats import spearman_permutation

__all__ = [
    "Analysis",
    "achievable_sparsity",
    "analyze",
    "barrier_summary",
    "build_report",
    "difficulty_points",
    "match_references",
    "normalize",
    "spearman_permutation",
    "summarize",
    "test_hypothesis",
    "validate_results",
]
