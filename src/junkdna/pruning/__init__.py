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

from junkdna.errors import JunkDNAError
from junkdna.masks import MaskSet
from junkdna.models import Prunable, model_id, parameters_by_name, prunable_weights
from junkdna.pruning import magnitude as _magnitude  # noqa: F401  (registers the criterion)
from junkdna.pruning import sparsegpt as _sparsegpt  # noqa: F401
from junkdna.pruning import taskaware as _taskaware  # noqa: F401
from junkdna.pruning import wanda as _wanda  # noqa: F401
from junkdna.pruning.base import METHODS, Criterion
from junkdna.pruning.select import (
    SAMPLE_STRIDE,
    MaskRule,
    Structure,
    check_sparsity,
    select_smallest,
)
from junkdna.version import __version__

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
    crit: type[Criterion],
    sparsity: float | None,
    structure: str | Structure | None,
    scope,
    budget: Any = None,
) -> MaskRule:
    """The checked MaskRule of a method's settings. With a non-uniform ``budget``
    (``junkdna.pruning.budgets``) N:M and global scope are errors, and a method whose default
    scope is global (magnitude) defaults to scope ``layer`` instead."""
    from junkdna.pruning.budgets import check_budget

    st = Structure.parse(structure)
    bud = check_budget(budget, st.is_nm, scope)
    if not bud.is_uniform and scope is None and crit.default_scope == "global":
        scope = "layer"  # a budget sets each block's share: the matrices follow their counts
    if st.is_nm:
        if scope not in (None, "layer"):
            raise JunkDNAError(f"scope {scope!r} does not apply to N:M structure {st}; omit it")
        return MaskRule(st.sparsity if sparsity is None else check_sparsity(sparsity), st, "layer")
    if sparsity is None:
        raise JunkDNAError("unstructured pruning needs a sparsity in [0, 1)")
    scope = scope or crit.default_scope
    check_budget(bud, False, scope)
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
    budget: Any = None,
    task: Any = None,
    tokenizer: Any = None,
    **options: Any,
) -> MaskSet:
    """Prune ``model`` in place and return its MaskSet.

    ``calibration`` (Wanda, SparseGPT, and the ``owl`` budget): a LongTensor of token ids
    ``(nsamples, seqlen)`` or an iterable of such batches. ``device``: where calibration blocks
    run (default: the model's). ``budget``: each block's share of the sparsity
    (``junkdna.pruning.budgets``; None or "uniform" = every matrix at ``sparsity``); a
    non-uniform budget removes exactly ``n_to_remove(sparsity, total)`` weights and is recorded
    in ``metadata["budget"]``.

    ``task`` (a ``tasks.base.TaskData``) and ``tokenizer``: for the task-aware methods
    (``taylor``, ``fisher``; ``Criterion.needs_task``), whose scores are gradients of the task's
    training loss on its labelled examples (``junkdna.pruning.importance``); the model must carry
    the task's head. Their options (``nsamples``, ``seed``, ``batch_size``, ...) are keywords.
    """
    from junkdna.pruning.budgets import parse_budget, plan_for_model

    crit_cls = METHODS.get(method)
    bud = parse_budget(budget)
    rule = resolve_rule(crit_cls, sparsity, structure, scope, bud)
    crit = crit_cls(**options)
    if crit.needs_task and task is None:
        raise JunkDNAError(
            f"method {method!r} scores weights with a task's labelled examples; give a task "
            "(--task NAME, or run it in a study)"
        )
    if crit.needs_calibration and calibration is None:
        raise JunkDNAError(
            f"method {method!r} needs calibration data (token ids of shape (nsamples, seqlen))"
        )
    if bud.needs_calibration and calibration is None:
        raise JunkDNAError(
            f"budget {bud.text()!r} needs calibration data (token ids of shape (nsamples, "
            f"seqlen)) for its outlier ratios, also with method {method!r}"
        )
    prunables = prunable_weights(model, include, exclude)
    start = time.perf_counter()
    budget_info = None
    if not bud.is_uniform:
        batch = getattr(crit, "options", {}).get("batch_size", 8)
        plan = plan_for_model(model, prunables, rule.sparsity, bud, calibration, batch)
        params = parameters_by_name(model)
        rule = rule.with_counts(plan.counts, {n: params[n].numel() for n in prunables})
        budget_info = plan.info
    if crit.needs_task:
        masks, calib_info = _prune_task_aware(model, crit, prunables, rule, task, tokenizer, device)
    elif crit.needs_calibration:
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
    if budget_info is not None:  # absent = uniform (metadata of uniform masks as before)
        metadata["budget"] = budget_info
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
    here, only for methods that need them (and for the ``owl`` budget's outlier ratios).

    Source ``"task"`` (give ``task=``, a ``TaskData``): the windows come from the task's own
    training inputs as its head encodes them (``calibration.calibration_from_task``). For the
    task-aware methods (taylor, fisher) the settings {source: "task", nsamples, seed} choose the
    labelled examples (any other source is an error; none means the method's defaults), and
    ``tokenizer`` encodes them."""
    from junkdna.pruning.budgets import parse_budget

    windows = None
    crit = METHODS.get(method)
    owl = parse_budget(kwargs.get("budget")).needs_calibration
    if crit.needs_task:
        source = (calibration or {}).get("source", "task")
        if source != "task":
            raise JunkDNAError(
                f"method {method!r} scores weights with the task's own labelled examples: its "
                f"calibration source must be 'task', not {source!r}"
            )
        for key in ("nsamples", "seed"):
            if calibration and calibration.get(key) is not None and key not in kwargs:
                kwargs[key] = calibration[key]
        kwargs.setdefault("tokenizer", tokenizer)
    if crit.needs_calibration or owl:
        from junkdna.pruning.calibration import calibration_from_source, calibration_from_task

        if not calibration:
            needs = f"method {method!r}" if not owl else f"budget {kwargs['budget']!r}"
            raise JunkDNAError(f"{needs} needs calibration settings")
        cal = calibration
        if str(cal["source"]) == "task":
            if kwargs.get("task") is None:
                raise JunkDNAError(
                    "calibration source 'task' draws the calibration windows from a task's "
                    "training inputs; give a task (--task NAME, or run it in a study)"
                )
            windows = calibration_from_task(
                tokenizer, kwargs["task"], cal["nsamples"], cal["seqlen"], cal["seed"]
            )
        else:
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


def _prune_task_aware(model, crit, prunables, rule: MaskRule, task, tokenizer, device):
    """Scores from the task's labelled examples (one gradient computation for all weights, kept
    in a ScoreStore), then the same selection as every method: one threshold over all scores
    for global scope, else each matrix by the rule. Returns the masks (parameters' own layouts)
    and what the scores were computed from."""
    if tokenizer is None:
        src = getattr(model, "junkdna_source", None)
        if src is None:
            raise JunkDNAError(
                f"method {crit.name!r} encodes the task's examples: give the tokenizer "
                "(prune(..., tokenizer=...))"
            )
        from junkdna.models import load_tokenizer

        tokenizer = load_tokenizer(src.name)
    with crit.task_scores(model, tokenizer, task, prunables, device) as store:
        if rule.scope == "global" and not rule.structure.is_nm:
            canon = select_smallest(store.fns(), sparsity=rule.sparsity)
        else:
            canon = {n: rule.select(store.load(n), n) for n in store.names()}
        info = {**store.info, "task": task.name}
    return {n: prunables[n].matrix(m).contiguous() for n, m in canon.items()}, info
