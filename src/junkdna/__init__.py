"""junkdna: which pre-trained weights of a language model matter for which tasks."""

from junkdna.version import __version__

__all__ = ["__version__", "MaskSet", "prune", "load_model"]


def __getattr__(name):  # lazy: `import junkdna` stays cheap (no torch import for `--help`)
    if name == "prune":
        from junkdna.pruning import prune

        return prune
    if name == "MaskSet":
        from junkdna.masks import MaskSet

        return MaskSet
    if name == "load_model":
        from junkdna.models import load_model

        return load_model
    raise AttributeError(name)
