"""Scores -> masks, for every structure, in one place.

Every function here removes the *lowest* scores and is exact under ties: a comparison group of
size G at sparsity s loses exactly ``round_half_up(s * G)`` weights. Among equal scores, the one
that comes first (layer order, then row-major position in the (out, in) matrix) is removed first,
so identical inputs always give identical masks.

Scores must be finite and non-negative (|W|, |W|*||X||, w^2/d^2 all are).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import torch

from junkdna.errors import JunkDNAError
from junkdna.memory import Releaser

SCOPES = ("global", "layer", "row")


@dataclass(frozen=True)
class Structure:
    """``unstructured`` or N:M (N weights *kept* in every M consecutive inputs)."""

    n: int | None = None
    m: int | None = None

    @classmethod
    def parse(cls, text: str | Structure | None) -> Structure:
        if isinstance(text, Structure):
            return text
        if text is None or text == "unstructured":
            return cls()
        try:
            n_s, m_s = text.split(":")
            n, m = int(n_s), int(m_s)
        except ValueError:
            raise JunkDNAError(
                f"structure {text!r} is neither 'unstructured' nor N:M (e.g. '2:4', '4:8')"
            ) from None
        if m < 2 or not 1 <= n < m:
            raise JunkDNAError(
                f"structure {text!r}: N:M needs 1 <= N < M (N is the number kept in every M)"
            )
        return cls(n, m)

    @property
    def is_nm(self) -> bool:
        return self.m is not None

    @property
    def sparsity(self) -> float | None:
        return 1 - self.n / self.m if self.is_nm else None

    def __str__(self) -> str:
        return f"{self.n}:{self.m}" if self.is_nm else "unstructured"


def n_to_remove(sparsity: float, size: int) -> int:
    """round(sparsity * size), halves rounded up (documented, platform independent)."""
    return min(size, math.floor(sparsity * size + 0.5))


def check_sparsity(sparsity: float) -> float:
    if not isinstance(sparsity, int | float) or not 0.0 <= float(sparsity) < 1.0:
        raise JunkDNAError(f"sparsity must be a number in [0, 1), got {sparsity!r}")
    return float(sparsity)


def _bits(scores: torch.Tensor, name: str) -> torch.Tensor:
    """Float32 bit patterns as int32: for non-negative floats they sort like the values."""
    s = scores.detach().to(torch.float32).contiguous().view(-1)
    bits = s.view(torch.int32)
    if bits.numel() == 0:
        return bits
    lo, hi = torch.aminmax(bits)
    if int(lo) < 0 or int(hi) >= 0x7F800000:  # a negative, infinite or NaN value (or -0.0)
        if not bool((torch.isfinite(s) & (s >= 0)).all()):
            raise JunkDNAError(f"scores of {name!r} contain negative, NaN or infinite values")
        bits = bits & 0x7FFFFFFF  # only -0.0 was there: count it as 0.0
    return bits


# ----------------------------------------------------------------------------- unstructured


ScoreFn = Callable[[], torch.Tensor]


def select_smallest(
    scores: Mapping[str, ScoreFn],
    k: int | None = None,
    sparsity: float | None = None,
    samples: Mapping[str, ScoreFn] | None = None,
    sizes: Mapping[str, int] | None = None,
) -> dict[str, torch.Tensor]:
    """Keep-masks that remove exactly the ``k`` (or ``round(sparsity * total)``) lowest scores
    across all tensors; ties go in order (tensor order, then row-major).

    ``scores`` maps names to *functions* returning a score tensor, so that callers never hold
    all scores (4 bytes each) at once; nothing is sorted or concatenated. The threshold is found
    by a counting pass over a narrow value bracket estimated from a strided sample (``samples``
    and ``sizes`` give cheap sample functions and the tensor sizes; otherwise one extra pass
    takes the sample), with an exact two-level radix select over the float bit patterns as the
    fallback when the bracket misses. Then one pass builds the masks. Peak extra memory: the
    masks (1 byte per weight), the bracket's values (at most a few percent of the scores) and
    one layer's temporaries.
    """
    names = list(scores)
    sample_parts, total = [], 0
    for n in names:
        if samples is None or sizes is None:
            full = scores[n]()
            part, size = full.reshape(-1)[::SAMPLE_STRIDE], full.numel()
        else:
            part, size = samples[n]().reshape(-1), sizes[n]
        _bits(part, n)  # validates the sample early; every full tensor is checked later
        sample_parts.append(part.float().clone())  # a copy: a view would pin the whole tensor
        total += size
    if k is None:
        k = n_to_remove(check_sparsity(sparsity), total)
    if not 0 <= k <= total:
        raise JunkDNAError(f"cannot remove {k} of {total} weights")
    if k == 0:
        return {n: torch.ones_like(scores[n](), dtype=torch.bool) for n in names}
    masks = _select_in_one_pass(scores, k, total, torch.cat(sample_parts))
    if masks is None:
        masks = _masks(scores, total, *_threshold_by_radix(scores, k))
    return masks


def _slices(total: int):
    """All masks live in one bool buffer allocated up front. Allocating them one by one between
    each layer's temporaries fragments the heap: the freed temporaries, pinned between live
    masks, would stay resident (measured: +1.5 bytes per weight of peak RSS)."""
    buffer = torch.empty(total, dtype=torch.bool)
    offset = 0

    def take(numel: int) -> torch.Tensor:
        nonlocal offset
        out = buffer[offset : offset + numel]
        offset += numel
        return out

    return take


# A prime stride: a power of two would keep hitting the same columns of every row (weights
# have strong per-column structure), which biases the sample.
SAMPLE_STRIDE = 61  # ~1.7M samples for 100M weights
MAX_BRACKET_FRACTION = 0.05  # collect at most ~5% of the scores (4 bytes each)


def _select_in_one_pass(scores, k: int, total: int, sample: torch.Tensor):
    """Masks from ONE pass over the scores, or None if the sample's bracket misses.

    The k/total quantile of the sample, widened by 8 binomial standard deviations, gives a
    bracket [lo, hi] that holds the k-th lowest score with overwhelming probability. Scores above
    hi are kept and scores below lo go right away; only the few inside the bracket are collected
    (with their positions) and decided once the exact k-th value among them is known.
    """
    q, n = k / total, sample.numel()
    margin = 8 * math.sqrt(q * (1 - q) / n) + 4 / n
    lo = float(torch.kthvalue(sample, max(1, int((q - margin) * n))).values) if q > margin else -1.0
    hi = float(torch.kthvalue(sample, min(n, math.ceil((q + margin) * n) + 1)).values)
    if q + margin >= 1:
        hi = math.inf
    if int(torch.count_nonzero((sample >= lo) & (sample <= hi))) > MAX_BRACKET_FRACTION * n:
        return None  # a huge tie group or a tiny sample: collecting it would cost memory
    masks: dict[str, torch.Tensor] = {}
    pending = []  # (name, flat positions inside the bracket, their scores)
    below = 0
    take, release = _slices(total), Releaser()
    for name in scores:
        s = scores[name]()
        flat = s.reshape(-1).float()
        _bits(flat, name)
        keep = torch.gt(flat, hi, out=take(flat.numel()))
        release.step(8 * flat.numel())  # ~8 bytes of temporaries per score
        inside = ((flat >= lo) & ~keep).nonzero().squeeze(1)
        below += flat.numel() - int(torch.count_nonzero(keep)) - inside.numel()
        pending.append((name, inside, flat[inside]))
        masks[name] = keep.view(s.shape)
    n_inside = sum(v.numel() for _, _, v in pending)
    if not below < k <= below + n_inside:
        return None
    vals = torch.cat([v for _, _, v in pending])
    t = torch.kthvalue(vals, k - below).values
    ties_left = k - below - int(torch.count_nonzero(vals < t))  # equal to t that still go
    for name, inside, v in pending:
        decide = v > t
        equal = (v == t).nonzero().squeeze(1)  # in row-major order
        gone = min(equal.numel(), ties_left)
        decide[equal[gone:]] = True
        ties_left -= gone
        masks[name].view(-1)[inside] = decide
    return masks


def _threshold_by_radix(scores, k: int):
    """Exact k-th lowest score from histograms of the 16 high, then the 16 low float bits."""
    hist_hi = torch.zeros(1 << 16, dtype=torch.int64)
    for n in scores:
        bits = _bits(scores[n](), n)
        hist_hi += torch.bincount(bits >> 16, minlength=1 << 16).cpu()
    cum = hist_hi.cumsum(0)
    hi = int(torch.searchsorted(cum, torch.tensor(k)))  # first bin whose cumsum >= k
    below = int(cum[hi - 1]) if hi > 0 else 0
    # Low 16 bits of the entries in bin `hi`; the others go to an overflow bin 65536. (An
    # elementwise `where` is much faster than boolean indexing, which has to compact.)
    hist_lo = torch.zeros((1 << 16) + 1, dtype=torch.int64)
    for n in scores:
        bits = _bits(scores[n](), n)
        low = torch.where((bits >> 16) == hi, bits & 0xFFFF, 1 << 16)
        hist_lo += torch.bincount(low, minlength=(1 << 16) + 1).cpu()
    cum_lo = hist_lo[: 1 << 16].cumsum(0)
    lo = int(torch.searchsorted(cum_lo, torch.tensor(k - below)))
    strictly_below = below + (int(cum_lo[lo - 1]) if lo > 0 else 0)
    return (hi << 16) | lo, k - strictly_below, int(hist_lo[lo])


def _masks(
    scores, total: int, threshold: int, ties_left: int, n_equal: int
) -> dict[str, torch.Tensor]:
    """Keep scores above the threshold; of the ``n_equal`` equal to it, the first
    ``ties_left`` in order go."""
    masks: dict[str, torch.Tensor] = {}
    take, release = _slices(total), Releaser()
    for n in scores:
        s = scores[n]()
        bits = _bits(s, n)
        keep = take(bits.numel())
        release.step(8 * bits.numel())
        if ties_left == n_equal:  # every score equal to the threshold goes (no partial tie)
            torch.gt(bits, threshold, out=keep)
        elif ties_left == 0:  # the partial tie was resolved in earlier tensors
            torch.ge(bits, threshold, out=keep)
        else:
            torch.gt(bits, threshold, out=keep)
            eq = bits == threshold
            n_eq = int(torch.count_nonzero(eq))
            if n_eq > ties_left:
                # The tie boundary falls in this tensor: of its equal scores, the first
                # `ties_left` in row-major order go, the rest stay.
                where_eq = eq.nonzero().squeeze(1)
                keep[where_eq[ties_left:]] = True
            ties_left -= min(n_eq, ties_left)
            n_equal -= n_eq
        masks[n] = keep.view(s.shape)
    return masks


def select_global(scores: Mapping[str, ScoreFn], sparsity: float) -> dict[str, torch.Tensor]:
    """One threshold over all tensors (the paper's default for RoBERTa and mBART)."""
    return select_smallest(scores, sparsity=sparsity)


def select_layer(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Each matrix at the same sparsity."""
    return select_smallest({"layer": lambda: scores}, sparsity=sparsity)["layer"]


def select_rows(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Each output row (of an (out, in) matrix) at the same sparsity: Wanda's comparison group."""
    if scores.dim() != 2:
        raise JunkDNAError(
            f"row selection needs a 2-D (out, in) score matrix, got {scores.dim()}-D"
        )
    _bits(scores, "row scores")  # validation only
    k = n_to_remove(sparsity, scores.shape[1])
    keep = torch.ones_like(scores, dtype=torch.bool)
    if k:
        order = torch.sort(scores.float(), dim=1, stable=True).indices  # (out, in), ascending
        keep.scatter_(1, order[:, :k], False)
    return keep


def spread(k: int, n: int) -> torch.Tensor:
    """``k`` split into ``n`` integers as evenly as possible (largest remainder: the first
    ``k mod n`` get one more), as an int64 tensor (n,) summing to exactly ``k``."""
    base, extra = divmod(int(k), int(n))
    return torch.full((n,), base, dtype=torch.int64) + (torch.arange(n) < extra)


def select_row_counts(scores: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Each output row i of (out, in) scores loses exactly its own ``counts[i]`` lowest scores
    (ties in column order), so a matrix can lose an exact total that is not a multiple of its
    row count (layer budgets)."""
    if scores.dim() != 2:
        raise JunkDNAError(
            f"row selection needs a 2-D (out, in) score matrix, got {scores.dim()}-D"
        )
    _bits(scores, "row scores")  # validation only
    rows, cols = scores.shape
    counts = torch.as_tensor(counts, dtype=torch.int64).reshape(-1).to(scores.device)
    if counts.numel() != rows or bool((counts < 0).any()) or bool((counts > cols).any()):
        raise JunkDNAError(f"row counts {counts.tolist()} do not fit a {rows}x{cols} matrix")
    keep = torch.ones_like(scores, dtype=torch.bool)
    if int(counts.sum()):
        order = torch.sort(scores.float(), dim=1, stable=True).indices  # (out, in), ascending
        ranks = torch.arange(cols, device=scores.device)
        rank_kept = ranks[None, :] >= counts[:, None]  # does rank j of row i stay?
        keep.scatter_(1, order, rank_kept)
    return keep


# ----------------------------------------------------------------------------- N:M


def select_nm(scores: torch.Tensor, n: int, m: int, name: str = "layer") -> torch.Tensor:
    """Keep the N highest scores in every M consecutive inputs of each row of (out, in) scores."""
    if scores.dim() != 2:
        raise JunkDNAError(f"N:M selection needs a 2-D (out, in) matrix for {name!r}")
    rows, cols = scores.shape
    if cols % m:
        raise JunkDNAError(
            f"{n}:{m} does not fit layer {name!r}: its input size {cols} is not a multiple of {m}"
        )
    _bits(scores, name)
    groups = scores.float().reshape(rows, cols // m, m)  # (rows, cols/M, M)
    # An entry goes when at least N others of its group beat it: a larger score, or an equal
    # score at a later position (of equal scores the earlier goes first). M pairwise
    # comparisons over the groups are ~5x faster than sorting every group.
    beaten = torch.zeros(groups.shape, dtype=torch.uint8)
    for j in range(m):
        gj = groups[..., j : j + 1]  # (rows, cols/M, 1)
        beaten[..., :j] += groups[..., :j] <= gj
        beaten[..., j + 1 :] += groups[..., j + 1 :] < gj
    return (beaten < n).reshape(rows, cols)


def is_nm(keep: torch.Tensor, n: int, m: int) -> bool:
    """True when every group of M consecutive inputs keeps exactly N (for (out, in) masks)."""
    rows, cols = keep.shape
    if cols % m:
        return False
    return bool((keep.reshape(rows, cols // m, m).sum(-1) == n).all())


# ----------------------------------------------------------------------------- rule


@dataclass(frozen=True)
class MaskRule:
    """What a per-layer selection must produce: structure, scope and sparsity, validated.

    Layer budgets (``junkdna.pruning.budgets``) give every matrix its own exact number of
    weights to remove: ``counts`` maps parameter names to ``(count, size)`` for the whole model,
    and ``for_layer(name)`` is the rule of one matrix, with ``count`` set (and ``sparsity`` =
    count / size). Without counts (the uniform budget) every matrix follows ``sparsity``.
    """

    sparsity: float
    structure: Structure = Structure()
    scope: str = "layer"
    count: int | None = None  # exact number removed from the one matrix this rule is for
    counts: Mapping[str, tuple[int, int]] | None = field(default=None, hash=False, repr=False)

    def __post_init__(self) -> None:
        check_sparsity(self.sparsity)
        if self.scope not in SCOPES:
            raise JunkDNAError(f"unknown scope {self.scope!r}; valid: {', '.join(SCOPES)}")
        if self.structure.is_nm and abs(self.sparsity - self.structure.sparsity) > 1e-9:
            raise JunkDNAError(
                f"structure {self.structure} fixes the sparsity at {self.structure.sparsity:g}, "
                f"but sparsity {self.sparsity:g} was asked for; omit the sparsity or make them match"
            )
        if self.count is not None or self.counts is not None:
            if self.structure.is_nm:
                raise JunkDNAError(
                    f"a layer budget cannot apply to N:M structure {self.structure}: N:M fixes "
                    "every group's sparsity; use the uniform budget or unstructured pruning"
                )
            if self.scope == "global":
                raise JunkDNAError(
                    "a budget sets each block's share; global scope lets the scores decide; "
                    "use scope layer or row"
                )
            if self.count is not None and (isinstance(self.count, bool) or self.count < 0):
                raise JunkDNAError(f"a layer's count must be an integer >= 0, got {self.count!r}")

    def with_counts(self, counts: Mapping[str, int], sizes: Mapping[str, int]) -> MaskRule:
        """This rule with an exact count per parameter name (``sizes``: their numel)."""
        return replace(self, counts={n: (int(k), int(sizes[n])) for n, k in counts.items()})

    def for_layer(self, name: str) -> MaskRule:
        """The rule of the one matrix ``name``: itself without counts (bit-identical uniform
        behaviour), else a rule whose ``count`` is the matrix's exact number to remove."""
        if self.counts is None:
            return self
        if name not in self.counts:
            raise JunkDNAError(f"the layer budget has no count for {name!r}")
        k, size = self.counts[name]
        # sparsity only describes the layer; ``count`` decides (kept < 1 for the check)
        sparsity = min(k / size, math.nextafter(1.0, 0.0)) if size else 0.0
        return MaskRule(sparsity, self.structure, self.scope, count=k)

    def select(self, scores: torch.Tensor, name: str = "layer") -> torch.Tensor:
        """Keep-mask for one (out, in) score matrix. ``global`` scope is not a per-layer rule."""
        if self.counts is not None:
            return self.for_layer(name).select(scores, name)
        if self.count is not None:
            if self.scope == "row":
                if scores.dim() != 2:
                    raise JunkDNAError(f"row selection needs a 2-D score matrix for {name!r}")
                return select_row_counts(scores, spread(self.count, scores.shape[0]))
            return select_smallest({name: lambda: scores}, k=self.count)[name]
        if self.structure.is_nm:
            return select_nm(scores, self.structure.n, self.structure.m, name)
        if self.scope == "row":
            return select_rows(scores, self.sparsity)
        if self.scope == "layer":
            return select_layer(scores, self.sparsity)
        raise JunkDNAError(f"scope 'global' cannot be applied to layer {name!r} on its own")
