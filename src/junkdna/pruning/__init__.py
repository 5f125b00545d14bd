"""One-shot pruning: ``prune(model, method, sparsity, structure, scope, calibration) -> MaskSet``.

The model is pruned in place (pruned weights set to 0; SparseGPT also updates the kept ones) and
the returned MaskSet records exactly which weights were kept and how the masks were made.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from junkdna import __version__
from junkdna.errors import JunkDNAError
from junkdna.masks import MaskSet
from junkdna.models import Prunable, model_id, parameters_by_name, prunable_weights
from junkdna.pruning import magnitude as _magnitude  # noqa: F401  (registers the criterion)
from junkdna.pruning import sparsegpt as _sparsegpt  # noqa: F401
from junkdna.pruning import wanda as _wanda  # noqa: F401
from junkdna.pruning.base import METHODS, Criterion
from junkdna.pruning.select import (
    SAMPLE_STRIDE,
    MaskRule,
    Structure,
    check_sparsity,
    select_smallest,
)

__all__ = ["prune", "prune_calibrated", "METHODS", "MaskRule", "Structure", "methods"]


def methods() -> list[str]:
    return METHODS.names()


def __getattr__(name: str):
    if name == "CRITERIA":  # the registry's name before "method" became the one word
        from junkdna.errors import deprecated

        deprecated("junkdna.pruning.CRITERIA", "junkdna.pruning.METHODS")
        return METHODS
    raise AttributeError(name)


def resolve_rule(
    crit: type[Criterion], sparsity: float | None, structure: str | Structure | None, scope
) -> MaskRule:
    st = Structure.parse(structure)
    if st.is_nm:
        if scope not in (None, "layer"):
            raise JunkDNAError(f"scope {scope!r} does not apply to N:M structure {st}; omit it")
        return MaskRule(st.sparsity if sparsity is None else check_sparsity(sparsity), st, "layer")
    if sparsity is None:
        raise JunkDNAError("unstructured pruning needs a sparsity in [0, 1)")
    scope = scope or crit.default_scope
    if scope not in crit.scopes:
        raise JunkDNAError(
            f"method {crit.name!r} does not support scope {scope!r}; valid: {', '.join(crit.scopes)}"
        )
    return MaskRule(check_sparsity(sparsity), st, scope)


def prune(
    model: nn.Module,
    method: str = "magnitude",
    sparsity: float | None = None,
    structure: str | Structure | None = "unstructured",
    scope: str | None = None,
    calibration: Any = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    device: str | torch.device | None = None,
    **options: Any,
) -> MaskSet:
    """Prune ``model`` in place and return its MaskSet.

    ``calibration`` (Wanda, SparseGPT): a LongTensor of token ids ``(nsamples, seqlen)`` or an
    iterable of such batches. ``device``: where calibration blocks run (default: the model's).
    """
    crit_cls = METHODS.get(method)
    rule = resolve_rule(crit_cls, sparsity, structure, scope)
    crit = crit_cls(**options)
    if crit.needs_calibration and calibration is None:
        raise JunkDNAError(
            f"method {method!r} needs calibration data (token ids of shape (nsamples, seqlen))"
        )
    prunables = prunable_weights(model, include, exclude)
    start = time.perf_counter()
    if crit.needs_calibration:
        from junkdna.pruning.sequential import prune_sequential

        masks, calib_info = prune_sequential(model, crit, prunables, rule, calibration, device)
    else:
        masks = _prune_static(model, crit, prunables, rule)
        calib_info = None
    elapsed = time.perf_counter() - start
    metadata = {
        "method": method,
        "sparsity": rule.sparsity,
        "structure": str(rule.structure),
        "scope": rule.scope,
        "include": list(include),
        "exclude": list(exclude),
        "options": crit.options,
        "updates_weights": crit.updates_weights,
        "calibration": calib_info,
        "model": model_id(model),
        "junkdna_version": __version__,
        "time_s": round(elapsed, 4),
    }
    maskset = MaskSet(masks, metadata)
    maskset.apply(model)
    maskset.warn_collapse()
    return maskset


def prune_calibrated(
    model: nn.Module,
    tokenizer,
    method: str,
    calibration: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> MaskSet:
    """``prune`` with calibration given as settings, for the study runner and the CLI alike:
    ``calibration`` = {source, nsamples, seqlen, seed} (source: "default" or a text file; the
    defaults are ``junkdna.study.config.Calibration``'s); the windows are drawn and tokenized
    here, only for methods that need them."""
    windows = None
    if METHODS.get(method).needs_calibration:
        from junkdna.pruning.calibration import calibration_from_source

        if not calibration:
            raise JunkDNAError(f"method {method!r} needs calibration settings")
        cal = calibration
        windows = calibration_from_source(
            tokenizer, str(cal["source"]), cal["nsamples"], cal["seqlen"], cal["seed"]
        )
    return prune(model, method=method, calibration=windows, **kwargs)


def _prune_static(
    model: nn.Module, crit: Criterion, prunables: dict[str, Prunable], rule: MaskRule
) -> dict[str, torch.Tensor]:
    """Criteria without calibration: scores from the weights alone."""
    params = parameters_by_name(model)

    def scorer(p: Prunable):
        return lambda: crit.score(p.matrix(params[p.name].detach()).float())

    if rule.scope == "global" and not rule.structure.is_nm:
        scores = {n: scorer(p) for n, p in prunables.items()}
        samples = sizes = None
        if crit.elementwise:
            # The score of a weight depends on that weight alone: score a strided sample of
            # the weights directly instead of scoring everything once more.
            samples = {n: _sampler(crit, params[n]) for n in prunables}
            sizes = {n: params[n].numel() for n in prunables}
        canon = select_smallest(scores, sparsity=rule.sparsity, samples=samples, sizes=sizes)
    else:
        canon = {n: rule.select(scorer(p)(), n) for n, p in prunables.items()}
    # Masks are stored in each parameter's own layout.
    return {n: prunables[n].matrix(m).contiguous() for n, m in canon.items()}


def _sampler(crit: Criterion, weight: torch.Tensor):
    return lambda: crit.score(weight.detach().reshape(-1)[::SAMPLE_STRIDE].float())
