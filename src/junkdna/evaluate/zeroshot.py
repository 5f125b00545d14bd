"""Zero-shot multiple-choice accuracy as lm-evaluation-harness scores it, for a model in memory
(dense or pruned): the questions come from the task registry (``tasks.zeroshot``), each a
context and its choices (or, WinoGrande, one context per choice and a common continuation).

A (context, continuation) pair is split into tokens the way lm-evaluation-harness does
(trailing spaces of the context move to the continuation; the continuation's tokens are those
of context + continuation after the context's own; an empty context becomes the EOS token), no
BOS. We report ``acc`` (argmax of the summed log-likelihood), ``acc_norm`` (argmax of the
log-likelihood divided by the choice's length in characters, lm-eval's ``acc_norm``) and
``acc_token`` (divided by its number of tokens, the heads' ``accuracy_norm``). Ties go to the
first choice. The log-likelihoods come from the causal-LM head's scorer
(``heads.lm_scoring.choice_logprobs``: a prompt's KV cache shared by its choices).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.tasks.forms import ChoiceItem


@dataclass(frozen=True)
class EncodedItems:
    task: str
    prompts: list[list[int]]  # one per (item, context)
    choices: list[list[list[int]]]  # continuations scored after each prompt
    owners: list[tuple[int, list[int]]]  # per prompt: (item, choice index of each continuation)
    labels: list[int]
    lengths: list[tuple[int, ...]]
    ntokens: list[list[int]]  # per item: continuation tokens per choice


def encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-evaluation-harness's split of a (context, continuation) into tokens."""
    spaces = len(context) - len(context.rstrip())
    if spaces:
        continuation = context[-spaces:] + continuation
        context = context[:-spaces]
    if not context:
        end = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
        return [end], tokenizer(continuation, add_special_tokens=False)["input_ids"]
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    ctx = tokenizer(context, add_special_tokens=False)["input_ids"]
    cont = whole[len(ctx) :]
    if whole[: len(ctx)] != ctx or not cont:  # the boundary merged: encode the parts apart
        cont = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    return ctx, cont


def encode_items(tokenizer, task: str, items: Sequence[ChoiceItem]) -> EncodedItems:
    prompts, choices, owners, ntokens = [], [], [], []
    for i, item in enumerate(items):
        by_context: dict[tuple[int, ...], tuple[list[list[int]], list[int]]] = {}
        counts = []
        for j, (ctx, cont) in enumerate(item.pairs()):
            c_ids, t_ids = encode_pair(tokenizer, ctx, cont)
            if not t_ids:
                raise JunkDNAError(f"zero-shot task {task!r}: item {i} choice {j} has no tokens")
            conts, idx = by_context.setdefault(tuple(c_ids), ([], []))
            conts.append(t_ids)
            idx.append(j)
            counts.append(len(t_ids))
        for c_ids, (conts, idx) in by_context.items():
            prompts.append(list(c_ids))
            choices.append(conts)
            owners.append((i, idx))
        ntokens.append(counts)
    return EncodedItems(
        task, prompts, choices, owners, [it.label for it in items],
        [it.lengths for it in items], ntokens,
    )  # fmt: skip


@torch.inference_mode()
def score_items(
    model: nn.Module, enc: EncodedItems, pad_id: int, batch_size: int = 16
) -> dict[str, Any]:
    """acc, acc_norm (by characters, lm-eval), acc_token (by tokens), n, seconds."""
    from junkdna.heads.lm_scoring import choice_logprobs

    start = time.perf_counter()
    was_training = model.training
    model.eval()
    try:
        scored = choice_logprobs(model, enc.prompts, enc.choices, pad_id, batch_size)
    finally:
        model.train(was_training)
    ll: list[dict[int, float]] = [{} for _ in enc.labels]
    for (i, idx), sc in zip(enc.owners, scored, strict=True):
        for j, (lp, _n) in zip(idx, sc, strict=True):
            ll[i][j] = lp
    total = norm = tok = 0
    for i, label in enumerate(enc.labels):
        lls = np.array([ll[i][j] for j in range(len(ll[i]))])
        total += int(np.argmax(lls)) == label
        norm += int(np.argmax(lls / np.array(enc.lengths[i], dtype=float))) == label
        tok += int(np.argmax(lls / np.array(enc.ntokens[i], dtype=float))) == label
    n = len(enc.labels)
    return {
        "acc": total / n if n else float("nan"),
        "acc_norm": norm / n if n else float("nan"),
        "acc_token": tok / n if n else float("nan"),
        "n": n,
        "seconds": round(time.perf_counter() - start, 3),
    }
