"""Pruning configurations, settings and regimes in words, for the figures, the tables and the
report alike (no plotting here: a table does not need matplotlib to say "2:4 semi-structured").
"""

from __future__ import annotations

import re

NM = re.compile(r"^(\d+):(\d+)$")

SETTINGS = {
    "data_adequacy": "data adequacy",
    "majority_minority": "majority vs minority domain",
    "external_information": "open vs closed book",
    "human_model_gap": "human-model gap across tasks",
    "dense_headroom": "dense headroom across tasks",
}
METHODS = {"magnitude": "magnitude pruning", "wanda": "Wanda", "sparsegpt": "SparseGPT"}
REGIMES = {
    "dense": "dense transfer",
    "sparse": "sparse transfer",
    "frozen": "dense transfer with freezing",
    "sparse-to-dense": "sparse-to-dense transfer",
    "none": "no fine-tuning",
}


def is_nm(structure: str) -> bool:
    return bool(NM.match(str(structure)))


def nm_keep(structure: str) -> tuple[int, int]:
    """(N, M) of an "N:M" structure: N weights kept of every M."""
    n, m = map(int, NM.match(str(structure)).groups())
    return n, m


def setting_words(name: object) -> str:
    return SETTINGS.get(str(name), str(name).replace("_", " "))


def regime_words(name: object) -> str:
    return REGIMES.get(str(name), f"{name} regime")


def method_words(method: object) -> str:
    return METHODS.get(str(method), str(method))


def pruning_words(method: object, structure: object, scope: object = None) -> str:
    """Words for a pruning configuration: "magnitude pruning, global unstructured"."""
    shape = f"{structure} semi-structured" if is_nm(structure) else str(structure)
    if scope is not None and scope == scope and str(scope) not in ("", "none", "None"):
        shape = f"{scope} {shape}" if str(scope) != "layer" else f"layer-wise {shape}"
    return f"{method_words(method)}, {shape}"
