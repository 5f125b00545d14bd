"""Analysis of a study's results table: normalized curves, achievable sparsity, the hypothesis
test, linear mode connectivity, figures and the self-contained report."""
