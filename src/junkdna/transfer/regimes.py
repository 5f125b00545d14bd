"""The transfer regimes as small policies over one training loop.

A regime answers every question the rest of junkdna asks about it (nothing outside this module
compares a regime's name):

* as a plan: ``finetunes`` (``none`` only evaluates), ``masks`` (``"required"``, ``"never"`` or
  ``"optional"``), ``reference`` (the regime whose unpruned run normalizes this one: dense
  transfer for every fine-tuning regime, ``none`` for evaluation-only studies) and
  ``prunes_model`` (whether the model's pruned weights are zeroed before the run; Freezing keeps
  the pre-trained values and only uses the mask to say what trains);
* as a policy bound to one model: ``bind`` (before training), ``before_step`` / ``after_step``
  (what is masked after backward and re-imposed after *every* optimizer step, the last one
  included) and ``check`` (what must hold at the end; a violation raises
  :class:`InvariantError`).

Masks are kept as bool (1 byte per weight) and applied with ``torch._foreach_mul_``: one fused,
allocation-free pass per step (a per-tensor ``mul_`` by a bool tensor takes a slow type-promotion
path that costs ~40x more on CPU).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import torch
from torch import nn

from junkdna.errors import InvariantError, JunkDNAError
from junkdna.masks import MaskSet
from junkdna.registry import Registry

log = logging.getLogger(__name__)


class Regime:
    """Base policy: bound to one model (and its masks) for one run."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    masks: ClassVar[str] = "required"  # "required", "never" or "optional"
    finetunes: ClassVar[bool] = True
    reference: ClassVar[str] = "dense"  # whose unpruned run normalizes this regime's runs
    prunes_model: ClassVar[bool] = True  # pruned weights are zeroed before the run

    @classmethod
    def needs_masks(cls) -> bool:
        return cls.masks == "required"

    @classmethod
    def takes_masks(cls) -> bool:
        """Runs of this regime are planned once per pruning point."""
        return cls.masks != "never"

    @classmethod
    def is_reference(cls) -> bool:
        """Runs of this regime are planned unpruned too, as the reference of their lineage."""
        return cls.reference == cls.name

    @classmethod
    def check_masks_given(cls, given: bool) -> None:
        if cls.needs_masks() and not given:
            raise JunkDNAError(
                f"regime {cls.name!r} needs masks: pass a MaskSet (CLI: --masks DIR or pruning "
                f"options such as --sparsity 0.5)"
            )
        if cls.masks == "never" and given:
            raise JunkDNAError(
                f"regime {cls.name!r} applies no mask, but masks were given; drop them "
                f"(or choose {', '.join(n for n in regime_names() if REGIMES.get(n).takes_masks())})"
            )

    def __init__(self, model: nn.Module, masks: MaskSet | None):
        self.check_masks_given(masks is not None)
        self.model = model
        self.names: list[str] = []
        self.params: list[nn.Parameter] = []
        self.keep: list[torch.Tensor] = []  # bool, True = kept / trainable
        if masks is not None:
            params = masks.check_compatible(model)
            for n, p in params.items():
                self.names.append(n)
                self.params.append(p)
                self.keep.append(masks[n].to(p.device, non_blocking=True))
        self.bind()

    # ------------------------------------------------------------------ policy hooks
    def bind(self) -> None:
        """Prepare the model before the optimizer is built."""

    def before_step(self) -> None:
        """After backward (all accumulation micro-batches), before clipping and the step."""

    def after_step(self) -> None:
        """After every optimizer step, the last one included."""

    def check(self, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        """Invariants at the end of the run, as a JSON-able dict; raise InvariantError if broken."""
        return {"regime": self.name}

    # ------------------------------------------------------------------ shared helpers
    def _mask_grads(self) -> None:
        grads, keeps = [], []
        for p, k in zip(self.params, self.keep, strict=True):
            if p.grad is not None:
                grads.append(p.grad)
                keeps.append(k)
        if grads:
            torch._foreach_mul_(grads, keeps)

    @torch.no_grad()
    def _zero_pruned_weights(self) -> None:
        if self.params:
            torch._foreach_mul_([p.data for p in self.params], self.keep)

    @property
    def masked_total(self) -> int:
        return sum(int((~k).sum()) for k in self.keep)

    def _count_nonzero_pruned(self, tensors: list[torch.Tensor | None]) -> int:
        total = 0
        for t, k in zip(tensors, self.keep, strict=True):
            if t is not None:
                total += int(t.detach().masked_select(~k).count_nonzero())
        return total


REGIMES: Registry[type[Regime]] = Registry("transfer regime")


def register(cls: type[Regime]) -> type[Regime]:
    REGIMES.add(cls.name, cls)
    return cls


def regime_names() -> list[str]:
    return REGIMES.names()


@register
class Dense(Regime):
    name = "dense"
    masks = "never"
    description = "ordinary full fine-tuning of the pre-trained model"

    def check(self, optimizer):
        # Nothing is masked, re-imposed or frozen: every parameter the model has is optimised.
        in_opt = {id(p) for g in optimizer.param_groups for p in g["params"]}
        untouched = [n for n, p in self.model.named_parameters() if id(p) not in in_opt]
        if untouched:
            raise InvariantError(
                f"dense transfer left parameters out of the optimizer: {untouched}"
            )
        return {"regime": self.name, "masked_weights": 0, "all_parameters_trained": True}


@register
class Sparse(Regime):
    name = "sparse"
    description = "apply the mask, fine-tune with it fixed (pruned weights stay exactly 0)"

    def bind(self) -> None:
        self._zero_pruned_weights()

    def before_step(self) -> None:
        # Zero gradients never enter AdamW's moments, so exp_avg and exp_avg_sq of a pruned
        # weight stay exactly 0 and its update (and decoupled decay of 0) is exactly 0.
        self._mask_grads()

    def after_step(self) -> None:
        self._zero_pruned_weights()  # guard: exact even if an optimizer ignores the above

    def check(self, optimizer):
        states = [optimizer.state.get(p, {}) for p in self.params]
        out = {
            "regime": self.name,
            "pruned_weights": self.masked_total,
            "nonzero_pruned_weights": self._count_nonzero_pruned(self.params),
            "nonzero_pruned_grads": self._count_nonzero_pruned([p.grad for p in self.params]),
            "nonzero_pruned_exp_avg": self._count_nonzero_pruned(
                [s.get("exp_avg") for s in states]
            ),
            "nonzero_pruned_exp_avg_sq": self._count_nonzero_pruned(
                [s.get("exp_avg_sq") for s in states]
            ),
        }
        bad = {k: v for k, v in out.items() if k.startswith("nonzero") and v}
        if bad:
            raise InvariantError(f"sparse transfer leaked into pruned weights: {bad}")
        return out


@register
class Frozen(Regime):
    name = "frozen"
    description = "weights outside the mask keep their pre-trained values; the rest train"
    prunes_model = False  # the mask only says what trains

    def bind(self) -> None:
        # Store only what must be restored: the frozen values, flattened (not a full clone), and
        # one bool mask per weight (the frozen one; the keep-mask is dropped).
        self.frozen = [~k for k in self.keep]
        self.keep = []
        self.values = [
            p.detach().masked_select(f) for p, f in zip(self.params, self.frozen, strict=True)
        ]
        n = sum(v.numel() for v in self.values)
        if n and all(not bool(v.count_nonzero()) for v in self.values):
            log.warning(
                "all %d frozen weights are 0: was the model pruned already? The Freezing regime "
                "keeps the *pre-trained* values, so give it the unpruned model.",
                n,
            )

    def before_step(self) -> None:
        # No momentum builds up on frozen entries, and clipping sees only the trainable ones.
        for p, f in zip(self.params, self.frozen, strict=True):
            if p.grad is not None:
                p.grad.masked_fill_(f, 0)

    @torch.no_grad()
    def after_step(self) -> None:
        # AdamW's decoupled decay shrinks even zero-gradient weights: put the frozen values back.
        for p, f, v in zip(self.params, self.frozen, self.values, strict=True):
            p.data.masked_scatter_(f, v)

    def check(self, optimizer):
        changed = 0
        for p, f, v in zip(self.params, self.frozen, self.values, strict=True):
            changed += int((~bits_equal(p.detach().masked_select(f), v)).sum())
        frozen = sum(v.numel() for v in self.values)
        out = {
            "regime": self.name,
            "frozen_weights": frozen,
            "trainable_masked_weights": sum(p.numel() for p in self.params) - frozen,
            "changed_frozen_weights": changed,
        }
        if changed:
            raise InvariantError(f"frozen transfer changed {changed} of {frozen} frozen weights")
        return out


@register
class SparseToDense(Regime):
    name = "sparse-to-dense"
    description = "pruned weights start at 0 and are trainable (they may regrow)"

    def bind(self) -> None:
        self._zero_pruned_weights()
        if self._count_nonzero_pruned(self.params):
            raise InvariantError("sparse-to-dense: pruned weights are not 0 at the start")

    def check(self, optimizer):
        pruned = self.masked_total
        regrown = self._count_nonzero_pruned(self.params)
        return {
            "regime": self.name,
            "pruned_weights": pruned,
            "regrown_weights": regrown,
            "regrown_fraction": regrown / pruned if pruned else 0.0,
        }


@register
class NoFinetune(Regime):
    """Evaluation without fine-tuning (the paper's zero-shot and open/closed-book settings): the
    unpruned model is its own reference; with masks, the pruned model is evaluated as it is."""

    name = "none"
    masks = "optional"
    finetunes = False
    reference = "none"
    description = "no fine-tuning: evaluate the (pruned) pre-trained model directly"

    def check(self, optimizer):
        out: dict[str, Any] = {"regime": self.name}
        if self.params:
            nonzero = self._count_nonzero_pruned(self.params)
            out["pruned_nonzero"] = nonzero
            if nonzero:
                raise InvariantError(f"{nonzero} pruned weight(s) are not zero at evaluation")
        return out


def bits_equal(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Element-wise bit-for-bit equality (distinguishes -0.0 from 0.0, NaN equals itself)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        raise InvariantError(
            f"cannot compare {a.dtype}{tuple(a.shape)} to {b.dtype}{tuple(b.shape)}"
        )
    ints = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
    if a.is_floating_point():
        a, b = a.view(ints[a.element_size()]), b.view(ints[b.element_size()])
    return a == b


# The paper's section 5 as comparisons between regimes (the analysis tests them; the names live
# here with the regimes): keeping the pre-trained small weights, even frozen, beats letting the
# pruned ones regrow, which beats keeping them at 0; and how much of what pruning removed
# regrowing recovers, (recovering - pruned) / (dense - pruned), with dense = 1 once normalized.
SECTION5_COMPARISONS: tuple[tuple[str, str], ...] = (
    ("frozen", "sparse-to-dense"),
    ("sparse-to-dense", "sparse"),
)
RECOVERY: tuple[str, str] = ("sparse-to-dense", "sparse")  # (recovering, pruned)
