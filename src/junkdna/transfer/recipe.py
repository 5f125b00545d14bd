"""Moved to ``junkdna.recipe`` (the recipe is read by heads, transfer and studies alike)."""

from junkdna.recipe import LOWER_IS_BETTER, Recipe

__all__ = ["LOWER_IS_BETTER", "Recipe"]
