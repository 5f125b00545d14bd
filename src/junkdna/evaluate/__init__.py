"""Evaluation: perplexity, zero-shot accuracy, readings, and the lm-eval bridge."""
