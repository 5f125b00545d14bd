"""Where the junk lives: a per-task atlas of which small-magnitude weights each task needs.

``compute`` scores each task's weights with its own labelled data and counts, per layer and module
type, how many of its important weights lie among the globally smallest magnitudes and how much
tasks overlap; ``tables`` derives every figure from those counts; ``stats`` tests whether harder
tasks need more small weights (unit: the task) and predicts achievable sparsity from the atlas
(leave-one-task-out); ``plots`` draws the heat maps; ``study`` connects it to a study file's
``[atlas]`` table and to the report.
"""

from junkdna.atlas.compute import AtlasTask, compute_atlas
from junkdna.atlas.tables import Atlas

__all__ = ["Atlas", "AtlasTask", "compute_atlas"]
