"""Layer budgets: how much of each transformer block one-shot pruning removes.

A budget gives every *block* (``Prunable.block``; prunable weights outside the blocks, when an
``include`` pattern adds them, form one more group after the blocks) its own sparsity, for any
method. The total stays exact: whatever the per-block sparsities, the model loses exactly
``n_to_remove(sparsity, total)`` weights.

* ``uniform`` (the default): every matrix follows the rule's sparsity, exactly as without a
  budget (same masks, bit for bit).
* a profile: one sparsity per block in forward order (``[0.3, 0.5, 0.7]``; on the command line
  ``0.3,0.5,0.7`` or a .json file holding the list). Its mean weighted by the blocks' prunable
  sizes must be the requested sparsity within ``PROFILE_TOLERANCE``.
* ``linear:D``: the sparsity grows linearly over the blocks from s - D to s + D, then is shifted
  so that its size-weighted mean is exactly s.
* ``owl`` / ``owl:M=5,lambda=0.08``: Outlier Weighed Layerwise sparsity (Yin et al., 2024):
  blocks with more outliers among their Wanda scores on the dense model keep more
  (``junkdna.pruning.owl`` measures them and holds the formula). OWL needs calibration token ids
  for the activation norms, whatever the method.

From the block sparsities, every prunable matrix gets an integer count (block sparsity x matrix
size, rescaled so the counts sum to the exact total, rounded by largest remainder); ``MaskRule``
then removes exactly that count from the matrix (scope ``layer``), or spreads it over the rows as
evenly as possible (scope ``row``). Global scope (the scores decide each layer's share) and N:M
(fixed per group) cannot follow a budget.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from junkdna.errors import JunkDNAError, did_you_mean
from junkdna.models import Prunable, parameters_by_name
from junkdna.pruning.owl import (
    DEFAULT_BATCH_SIZE,
    OWL_LAMBDA,
    OWL_M,
    activation_norms,
    outlier_ratios,
    owl_sparsities,
)
from junkdna.pruning.select import n_to_remove

OUTSIDE = "(outside blocks)"  # the group of prunable weights that lie outside every block
OWL_KEYS = ("M", "lambda")
PROFILE_TOLERANCE = 1e-4
VALID = (
    "'uniform', 'owl' (or 'owl:M=5,lambda=0.08'), 'linear:D', a list of block sparsities "
    "('0.3,0.5,0.7') or a .json file holding one"
)


def _num(x: float) -> str:
    """A number as canonical text: 7.0 -> '7', 0.1 -> '0.1' (repr: no precision lost)."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


@dataclass(frozen=True)
class Budget:
    """A parsed budget. ``kind``: uniform, profile, linear or owl."""

    kind: str = "uniform"
    profile: tuple[float, ...] = ()  # kind "profile": one sparsity per block
    delta: float = 0.0  # kind "linear": half the spread D
    m: float = OWL_M  # kind "owl": outlier threshold, in multiples of the mean score
    lam: float = OWL_LAMBDA  # kind "owl": keep ratios span [0, 2 lambda] before the shift

    @property
    def is_uniform(self) -> bool:
        return self.kind == "uniform"

    @property
    def needs_calibration(self) -> bool:
        """OWL's outlier ratios need the layers' input norms."""
        return self.kind == "owl"

    def text(self) -> str:
        """Canonical text; parsing it gives this budget back."""
        if self.kind == "profile":
            return ",".join(_num(v) for v in self.profile)
        if self.kind == "linear":
            return f"linear:{_num(self.delta)}"
        if self.kind == "owl":
            if (self.m, self.lam) == (OWL_M, OWL_LAMBDA):
                return "owl"
            return f"owl:M={_num(self.m)},lambda={_num(self.lam)}"
        return "uniform"

    def config(self) -> str | list[float]:
        """JSON-able canonical form (hash input of run ids and mask keys): the text, or the
        profile as a list of numbers."""
        return [float(v) for v in self.profile] if self.kind == "profile" else self.text()

    def label(self) -> str:
        """Short name for tables (``wanda+owl``): the text; a long profile by a digest."""
        if self.kind == "profile" and len(self.profile) > 6:
            h = hashlib.sha256(self.text().encode()).hexdigest()[:6]
            return f"profile{len(self.profile)}:{h}"
        return self.text()


UNIFORM = Budget()


# ----------------------------------------------------------------------------- parsing


def parse_budget(value: Any, root: Path | None = None) -> Budget:
    """A budget from Python, TOML or the command line: None or ``"uniform"``; ``"owl"`` or
    ``"owl:M=7,lambda=0.1"``; ``"linear:D"``; a list of block sparsities, or the same as text
    (``"0.3,0.5,0.7"``) or as a .json file holding the list (relative to ``root``, default the
    working folder). A ``Budget`` is returned as it is."""
    if isinstance(value, Budget):
        return value
    if value is None:
        return UNIFORM
    if isinstance(value, list | tuple):
        return _profile(value, repr(list(value)))
    if not isinstance(value, str):
        raise JunkDNAError(f"budget {value!r} is neither text nor a list; valid: {VALID}")
    text = value.strip()
    if text in ("", "uniform"):
        return UNIFORM
    kind, colon, rest = text.partition(":")
    if kind == "owl":
        return _owl(text, rest if colon else "")
    if kind == "linear":
        delta = _number(rest, f"budget {text!r}: D") if colon else None
        if delta is None or delta < 0:
            raise JunkDNAError(
                f"budget {text!r}: linear needs a half-spread D >= 0, e.g. 'linear:0.1'"
            )
        return Budget("linear", delta=delta)
    if text.endswith(".json"):
        return _profile_file(text, root)
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        hint = did_you_mean(kind, ["uniform", "owl", "linear"]).split(" Valid:")[0]
        raise JunkDNAError(f"unknown budget {text!r}.{hint} Valid: {VALID}.") from None
    return _profile(values, repr(text))


def _number(text: str, what: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise JunkDNAError(f"{what} must be a number, got {text!r}") from None
    if not math.isfinite(x):
        raise JunkDNAError(f"{what} must be a finite number, got {text!r}")
    return x


def _owl(text: str, params: str) -> Budget:
    found: dict[str, float] = {}
    for item in [p.strip() for p in params.split(",") if p.strip()]:
        key, eq, val = item.partition("=")
        key = {k.lower(): k for k in OWL_KEYS}.get(key.strip().lower(), key.strip())  # m = M
        if not eq:
            raise JunkDNAError(f"budget {text!r}: {item!r} is not KEY=VALUE (keys: M, lambda)")
        if key not in OWL_KEYS:
            raise JunkDNAError(
                f"budget {text!r}: owl has no parameter {key!r}.{did_you_mean(key, OWL_KEYS)}"
            )
        if key in found:
            raise JunkDNAError(f"budget {text!r}: {key} is given twice")
        found[key] = _number(val.strip(), f"budget {text!r}: {key}")
    m, lam = found.get("M", OWL_M), found.get("lambda", OWL_LAMBDA)
    if m <= 0:
        raise JunkDNAError(f"budget {text!r}: M must be > 0 (outliers exceed M x the mean score)")
    if lam < 0:
        raise JunkDNAError(f"budget {text!r}: lambda must be >= 0 (the spread of the sparsities)")
    return Budget("owl", m=m, lam=lam)


def _profile(values: Sequence[Any], shown: str) -> Budget:
    if not values:
        raise JunkDNAError(f"budget profile {shown} is empty; give one sparsity per block")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= float(v) < 1:
            raise JunkDNAError(
                f"budget profile {shown}: {v!r} is not a sparsity in [0, 1); give one sparsity "
                "per block"
            )
        out.append(float(v))
    return Budget("profile", profile=tuple(out))


def _profile_file(text: str, root: Path | None) -> Budget:
    path = Path(text).expanduser()
    if not path.is_absolute() and root is not None:
        path = root / path
    if not path.is_file():
        raise JunkDNAError(
            f"budget file {str(path)!r} does not exist; give a .json list of sparsities"
        )
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise JunkDNAError(f"budget file {str(path)!r} is not JSON ({e})") from None
    if not isinstance(values, list):
        raise JunkDNAError(f"budget file {str(path)!r} must hold a list of block sparsities")
    return _profile(values, repr(str(path)))


def check_budget(budget: Any, structure_is_nm: bool, scope: str | None) -> Budget:
    """Parse ``budget`` and check that a non-uniform one can apply: not N:M (it fixes every
    group's sparsity), not global scope (the scores decide each layer's share there)."""
    b = parse_budget(budget)
    if b.is_uniform:
        return b
    if structure_is_nm:
        raise JunkDNAError(
            f"budget {b.text()!r} cannot apply to an N:M structure: N:M fixes every group's "
            "sparsity; use the uniform budget or unstructured pruning"
        )
    if scope == "global":
        raise JunkDNAError(
            f"budget {b.text()!r}: a budget sets each block's share; global scope lets the "
            "scores decide; use scope layer or row"
        )
    return b


# ----------------------------------------------------------------------------- block sparsities


def block_groups(prunables: Mapping[str, Prunable]) -> dict[str, list[str]]:
    """Parameter names by block, blocks in forward order; weights outside the blocks last, as
    one group named ``OUTSIDE``."""
    groups: dict[str, list[str]] = {}
    outside = []
    for name, p in prunables.items():
        if p.block is None:
            outside.append(name)
        else:
            groups.setdefault(p.block, []).append(name)
    if outside:
        groups[OUTSIDE] = outside
    return groups


def weighted_mean(values: Sequence[float], sizes: Sequence[int]) -> float:
    return math.fsum(v * s for v, s in zip(values, sizes, strict=True)) / sum(sizes)


def _shift_to(values: Sequence[float], sizes: Sequence[int], mean: float) -> list[float]:
    """``values`` shifted by one constant so that their size-weighted mean is ``mean``."""
    d = mean - weighted_mean(values, sizes)
    return [v + d for v in values]


def linear_sparsities(sizes: Sequence[int], sparsity: float, delta: float) -> list[float]:
    """s - D .. s + D in equal steps over the blocks, shifted to a size-weighted mean of s."""
    b = len(sizes)
    raw = (
        [sparsity] * b if b == 1 else [sparsity - delta + 2 * delta * i / (b - 1) for i in range(b)]
    )
    return _shift_to(raw, sizes, sparsity)


def block_sparsities(
    budget: Budget,
    names: Sequence[str],
    sizes: Sequence[int],
    sparsity: float,
    ratios: Sequence[float] | None = None,
) -> tuple[list[float], dict[str, Any]]:
    """The sparsity of each group (``names``, with prunable ``sizes``), checked to lie in
    [0, 1), and extra facts for the metadata."""
    extra: dict[str, Any] = {}
    if budget.kind == "uniform":
        values = [sparsity] * len(names)
    elif budget.kind == "profile":
        values = list(budget.profile)
        if len(values) != len(names):
            blocks = len(names) - (OUTSIDE in names)
            what = f"{blocks} blocks" + (
                " + 1 group of weights outside the blocks" if OUTSIDE in names else ""
            )
            raise JunkDNAError(
                f"budget profile has {len(values)} values, but the model has {what}; give one "
                f"sparsity per block ({len(names)} in all), in forward order"
            )
        mean = weighted_mean(values, sizes)
        if abs(mean - sparsity) > PROFILE_TOLERANCE:
            raise JunkDNAError(
                f"budget profile's mean weighted by the blocks' prunable sizes is {mean:.6f}, but "
                f"sparsity {sparsity:g} was asked for (tolerance {PROFILE_TOLERANCE:g}); shift the "
                f"profile by {sparsity - mean:+.6f} or ask for sparsity {mean:.6f}"
            )
    elif budget.kind == "linear":
        values = linear_sparsities(sizes, sparsity, budget.delta)
    elif budget.kind == "owl":
        if ratios is None or len(ratios) != len(names):
            raise JunkDNAError("budget 'owl' needs one outlier ratio per block")
        values, fallback = owl_sparsities(ratios, sizes, sparsity, budget.lam)
        extra["owl"] = {
            "M": budget.m,
            "lambda": budget.lam,
            "outlier_ratios": [float(r) for r in ratios],
            "fallback": "uniform (all outlier ratios are equal)" if fallback else None,
        }
    else:
        raise JunkDNAError(f"unknown budget kind {budget.kind!r}")
    for name, v in zip(names, values, strict=True):
        if not 0 <= v < 1:
            raise JunkDNAError(
                f"budget {budget.label()!r} at sparsity {sparsity:g} gives block {name!r} "
                f"sparsity {v:.4f}, outside [0, 1); choose a smaller spread or sparsity"
            )
    return values, extra


# ----------------------------------------------------------------------------- exact counts


def largest_remainder(
    quotas: Mapping[str, float], sizes: Mapping[str, int], total: int
) -> dict[str, int]:
    """Integers that sum to exactly ``total``, proportional to ``quotas`` and each within
    [0, size]: the quotas are rescaled to sum to ``total``, floored, and the units left go one
    each to the largest fractional parts (ties: the earlier name), as in Hamilton's method."""
    names = list(quotas)
    cap = sum(sizes[n] for n in names)
    if not 0 <= total <= cap:
        raise JunkDNAError(f"cannot remove {total} of {cap} weights")
    qsum = math.fsum(quotas.values())
    if qsum <= 0:  # nothing asked anywhere: share by size
        quotas, qsum = {n: float(sizes[n]) for n in names}, float(cap)
    scale = total / qsum if qsum else 0.0
    exact = {n: min(quotas[n] * scale, float(sizes[n])) for n in names}
    counts = {n: min(math.floor(exact[n]), sizes[n]) for n in names}
    left = total - sum(counts.values())
    order = sorted(range(len(names)), key=lambda i: (-(exact[names[i]] - counts[names[i]]), i))
    while left > 0:  # usually one round; more only when capped entries overflow
        before = left
        for i in order:
            n = names[i]
            if left and counts[n] < sizes[n]:
                counts[n] += 1
                left -= 1
        if left == before:
            raise JunkDNAError(f"cannot remove {total} weights within the matrices' sizes")
    for i in reversed(order):  # float excess (never in practice): take back from the smallest
        if left >= 0:
            break
        n = names[i]
        if counts[n] > 0:
            counts[n] -= 1
            left += 1
    return counts


@dataclass(frozen=True)
class BudgetPlan:
    """Per-matrix exact counts to remove and the JSON-able description for the metadata."""

    counts: dict[str, int]
    info: dict[str, Any]


def plan_counts(
    budget: Budget,
    prunables: Mapping[str, Prunable],
    sizes: Mapping[str, int],
    sparsity: float,
    ratios: Mapping[str, float] | None = None,
) -> BudgetPlan:
    """(prunables, their sizes, sparsity, budget) -> exact per-matrix counts summing to
    ``n_to_remove(sparsity, total)``. ``ratios``: OWL's outlier ratio per group (``owl`` only).
    Any method can follow the plan: ``rule.with_counts(plan.counts, sizes)``."""
    groups = block_groups(prunables)
    names = list(groups)
    gsizes = [sum(sizes[n] for n in groups[g]) for g in names]
    r = None if ratios is None else [ratios[g] for g in names]
    values, extra = block_sparsities(budget, names, gsizes, sparsity, r)
    total = sum(sizes[n] for n in prunables)
    target = n_to_remove(sparsity, total)
    quotas = {n: values[i] * sizes[n] for i, g in enumerate(names) for n in groups[g]}
    counts = largest_remainder(quotas, sizes, target)
    blocks = []
    for i, g in enumerate(names):
        removed = sum(counts[n] for n in groups[g])
        blocks.append({"block": g, "target": values[i], "sparsity": removed / gsizes[i],
                       "removed": removed, "weights": gsizes[i]})  # fmt: skip
    info = {
        "budget": budget.config(),
        "kind": budget.kind,
        "sparsity": sparsity,
        "removed": target,
        "total": total,
        "blocks": blocks,
        **extra,
    }
    return BudgetPlan(counts, info)


def plan_for_model(
    model: nn.Module,
    prunables: Mapping[str, Prunable],
    sparsity: float,
    budget: Any,
    calibration: Any = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> BudgetPlan:
    """``plan_counts`` for a model: its matrices' sizes, and for ``owl`` the outlier ratios of the
    dense model on ``calibration`` (token ids, as ``prune`` takes them)."""
    b = parse_budget(budget)
    params = parameters_by_name(model)
    sizes = {n: params[n].numel() for n in prunables}
    ratios, calib_info = None, None
    if b.needs_calibration:
        if calibration is None:
            raise JunkDNAError(
                f"budget {b.text()!r} needs calibration data (token ids (nsamples, seqlen)) for "
                "the activation norms of its outlier ratios, whatever the method"
            )
        norms, calib_info = activation_norms(model, prunables, calibration, batch_size)
        ratios = outlier_ratios(model, prunables, norms, b.m, block_groups(prunables))
    plan = plan_counts(b, prunables, sizes, sparsity, ratios)
    if calib_info is not None:
        plan.info["calibration"] = calib_info
    return plan
