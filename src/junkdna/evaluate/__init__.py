"""Evaluation of a model in memory (dense, pruned or fine-tuned), apart from how it was made.

* ``texts``: the perplexity texts by name (WikiText-2, C4, the offline ``boolq_wiki``, a file);
  the offline texts themselves come from the data sources (``junkdna.data.texts``).
* ``perplexity``: perplexity as the Wanda and SparseGPT repositories compute it.
* ``zeroshot``: zero-shot multiple-choice accuracy as lm-evaluation-harness scores it, on the
  registered zero-shot tasks (``junkdna.tasks.zeroshot``).
* ``readings``: peak memory and the prunable weights' sparsity that ``ppl`` and ``compare`` print.
* ``harness``: lm-evaluation-harness run on a model in memory (``compare --harness lm-eval``).

``junkdna ppl`` and ``junkdna compare`` call it (docs/yardstick.md).
"""
