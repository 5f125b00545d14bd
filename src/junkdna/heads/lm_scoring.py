"""Causal-LM scoring engine: choices by log-likelihood (prompt KV cache shared by the choices)
and perplexity over non-overlapping windows. ``heads.causal_lm`` predicts with it.

Choice scoring runs the prompts of a batch of questions once, copies each question's KV cache to
its choices, and runs only the choice tokens on top. A question with k choices of a few tokens
after a 200-token prompt costs about one prompt forward, not k. Prompts are left-padded, with
explicit position ids so that padding shifts nothing; questions are grouped by prompt length so
that little is padded. Questions whose prompts share a long prefix (open-book questions about one
passage) run that prefix once and only their own rest on copies of its cache; logits are computed
only where they are read; a choice's tail runs with choices of similar length (one long answer
would otherwise pad every row), and its last token, which predicts nothing, is not run.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.heads.batching import device_of, pad

MIN_SHARED = 16  # prompts sharing at least this many leading tokens share one prefix forward


@torch.inference_mode()
def choice_logprobs(
    model: nn.Module,
    prompts: Sequence[list[int]],
    choices: Sequence[Sequence[list[int]]],
    pad_id: int,
    batch_size: int = 16,
    min_shared: int | None = MIN_SHARED,
) -> list[list[tuple[float, int]]]:
    """For each question, (sum of log p(choice tokens | prompt), number of tokens) per choice.

    Prompts that start with the same ``min_shared`` or more tokens (open-book questions about one
    passage) are grouped: their common prefix runs once, then each question's rest on a copy of
    its cache. ``min_shared=None`` turns grouping off."""
    if any(not p for p in prompts):
        raise JunkDNAError("an empty prompt cannot be scored (nothing predicts the first token)")
    out: list[list[tuple[float, int]]] = [[] for _ in prompts]
    groups = shared_prefixes(prompts, min_shared) if min_shared is not None else []
    grouped = {i for _, members in groups for i in members}
    singles = sorted(
        (i for i in range(len(prompts)) if i not in grouped), key=lambda i: len(prompts[i])
    )
    for start in range(0, len(singles), batch_size):
        idx = singles[start : start + batch_size]
        scored = _score_batch(model, [prompts[i] for i in idx], [choices[i] for i in idx], pad_id)
        for i, sc in zip(idx, scored, strict=True):
            out[i] = sc
    for chunk in _chunks(groups, batch_size):
        idx = [i for _, members in chunk for i in members]
        prefix = _prefix_cache(model, [prompts[m[0]][:n] for n, m in chunk], pad_id)
        owner = [g for g, (_, members) in enumerate(chunk) for _ in members]
        cut = [n for n, members in chunk for _ in members]
        rests = [prompts[i][c:] for i, c in zip(idx, cut, strict=True)]
        scored = _score_batch(model, rests, [choices[i] for i in idx], pad_id, (*prefix, owner))
        for i, sc in zip(idx, scored, strict=True):
            out[i] = sc
    return out


def shared_prefixes(prompts: Sequence[list[int]], min_shared: int) -> list[tuple[int, list[int]]]:
    """Groups of >= 2 prompts with a common prefix of >= ``min_shared`` tokens, as (prefix
    length, member indices). Prompts are sorted, so a group is a run of neighbours; a run is cut
    where the common prefix would shrink below half of what it was (another passage that merely
    starts alike). Every member keeps >= 1 token of its own after the prefix."""
    order = sorted(range(len(prompts)), key=lambda i: prompts[i])
    runs: list[tuple[int, list[int]]] = []
    for i in order:
        p = prompts[i]
        if runs:
            n, members = runs[-1]
            q = prompts[members[-1]]
            common = min(n, len(p) - 1, _lcp(p, q))
            if common >= max(min_shared, n // 2 if len(members) > 1 else 0):
                runs[-1] = (common, [*members, i])
                continue
        runs.append((len(p) - 1, [i]))
    return [(n, m) for n, m in runs if len(m) > 1 and n >= min_shared]


def _lcp(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _chunks(groups, batch_size):
    """Whole groups, about ``batch_size`` questions per chunk (a larger group goes alone)."""
    chunk, size = [], 0
    for g in sorted(groups, key=lambda g: g[0]):  # similar prefix lengths pad little
        if chunk and size + len(g[1]) > batch_size:
            yield chunk
            chunk, size = [], 0
        chunk.append(g)
        size += len(g[1])
    if chunk:
        yield chunk


def _prefix_cache(model, prefixes: list[list[int]], pad_id: int):
    """Run the shared prefixes (left-padded): their KV cache and attention mask (G, P)."""
    device = device_of(model)
    ids = pad(prefixes, pad_id, left=True).to(device)  # (G, P)
    mask = _left_mask(ids.shape[1], [len(p) for p in prefixes], device)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    out = _forward(model, ids, mask, pos, None, keep=1)
    return out.past_key_values, mask


def _left_mask(width: int, lengths: list[int], device) -> torch.Tensor:
    n = torch.tensor(lengths, device=device)
    return (torch.arange(width, device=device)[None] >= (width - n)[:, None]).long()


def _forward(model, ids, mask, pos, cache, keep: int = 0):
    """One forward; ``keep`` > 0 computes logits for the last ``keep`` positions only (the LM
    head over 49k words costs a fifth of a small model's forward per position)."""
    kw = {"attention_mask": mask, "position_ids": pos, "use_cache": True}
    if cache is not None:
        kw.update(_cache_kw(model, cache))
    if keep and _accepts(model, "logits_to_keep"):
        kw["logits_to_keep"] = keep
    return model(input_ids=ids, **kw)


def _score_batch(model, prompts, choices, pad_id, prefix=None) -> list[list[tuple[float, int]]]:
    """Score the choices of a batch of questions. ``prompts`` are whole prompts, or with
    ``prefix`` = (cache, mask (G, P), owner) what follows prefix ``owner[b]`` of that cache."""
    device = device_of(model)
    ids = pad(list(prompts), pad_id, left=True).to(device)  # (B, S)
    mask = _left_mask(ids.shape[1], [len(p) for p in prompts], device)
    cache = None
    if prefix is not None:  # left padding between prefix and rest: masked out, positions skip it
        cache, pmask, owner = prefix
        rows = torch.tensor(owner, device=device)
        cache.batch_select_indices(rows)
        mask = torch.cat([pmask[rows], mask], dim=1)  # (B, P + S)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)[:, -ids.shape[1] :]
    out = _forward(model, ids, mask, pos, cache, keep=1)
    first = out.logits[:, -1].float().log_softmax(-1)  # (B, V): log p(choice token 0 | prompt)
    owner = [b for b, cs in enumerate(choices) for _ in cs]  # question of each flat choice
    flat = [c for cs in choices for c in cs]
    heads = torch.tensor([c[0] for c in flat], device=device)
    sums = first[torch.tensor(owner, device=device), heads].tolist()  # log p(token 0 | prompt)
    buckets = _length_buckets([len(c) for c in flat])
    cache = out.past_key_values
    for k, bucket in enumerate(buckets):  # tokens 1.. of the longer choices, on cache copies
        rows = torch.tensor([owner[j] for j in bucket], device=device)
        sub = cache if k == len(buckets) - 1 else copy.deepcopy(cache)
        rest = _rest_logprobs(model, sub, mask, rows, [flat[j] for j in bucket], pad_id)
        for j, lp in zip(bucket, rest, strict=True):
            sums[j] += lp
    res: list[list[tuple[float, int]]] = [[] for _ in prompts]
    for b, sc, c in zip(owner, sums, flat, strict=True):
        res[b].append((sc, len(c)))
    return res


def _length_buckets(lens: list[int]) -> list[list[int]]:
    """Choices of >= 2 tokens by length, a new bucket where the length more than doubles: the
    padding to a bucket's longest choice stays under half of its tokens (answers vary from 1 to
    20+ tokens; one long answer would otherwise pad every row)."""
    buckets: list[list[int]] = []
    for j in sorted((j for j, n in enumerate(lens) if n > 1), key=lens.__getitem__):
        if buckets and lens[j] - 1 <= 2 * (lens[buckets[-1][0]] - 1):
            buckets[-1].append(j)
        else:
            buckets.append([j])
    return buckets


def _rest_logprobs(model, cache, mask, rows, options, pad_id) -> list[float]:
    """Sum of log p(tokens 1.. | prompt, token 0) of each option (>= 2 tokens), the option's
    prompt being cache row ``rows[j]`` (mask: (B, T) of the cache). The last token of an
    option predicts nothing, so it is not run. Consumes ``cache``."""
    device = mask.device
    inp = pad([o[:-1] for o in options], pad_id, left=False).to(device)  # (N, O-1)
    tgt = pad([o[1:] for o in options], pad_id, left=False).to(device)  # (N, O-1)
    n = torch.tensor([len(o) - 1 for o in options], device=device)
    valid = torch.arange(inp.shape[1], device=device)[None] < n[:, None]  # (N, O-1)
    cache.batch_select_indices(rows)
    ext_mask = torch.cat([mask[rows], valid.long()], dim=1)  # (N, T + O-1)
    ext_pos = mask.sum(-1)[rows][:, None] + torch.arange(inp.shape[1], device=device)[None]
    logits = _forward(model, inp, ext_mask, ext_pos, cache).logits.float()  # (N, O-1, V)
    lp = logits.log_softmax(-1).gather(2, tgt[..., None]).squeeze(2)
    return (lp * valid).sum(-1).tolist()


def _cache_kw(model, cache) -> dict:
    """Newer transformers name the forward's cache argument ``cache`` (``past_key_values`` is
    deprecated there); older ones only know ``past_key_values``."""
    return {"cache": cache} if _accepts(model, "cache") else {"past_key_values": cache}


def _accepts(model, name: str) -> bool:
    import inspect

    return name in inspect.signature(model.forward).parameters


def pick(scores: list[tuple[float, int]]) -> list[int]:
    """[argmax of the summed log-prob, argmax of the per-token mean]; ties go to the first."""
    total = max(range(len(scores)), key=lambda i: scores[i][0])
    mean = max(range(len(scores)), key=lambda i: scores[i][0] / scores[i][1])
    return [total, mean]


@torch.inference_mode()
def perplexity(
    model: nn.Module, tokenizer, texts: Sequence[str], window: int = 512, batch_size: int = 8
) -> dict[str, float]:
    """Perplexity of the joined texts over non-overlapping windows of ``window`` tokens.

    The texts are joined with blank lines (WikiText-style), tokenized once and cut into windows;
    within a window every token but the first is predicted from those before it, so the score
    is exp(total NLL / predicted tokens). The last, shorter window is kept.
    """
    if window < 2:
        raise JunkDNAError(f"perplexity window must be >= 2 tokens, got {window}")
    ids = tokenizer("\n\n".join(texts), add_special_tokens=False)["input_ids"]
    chunks = [ids[i : i + window] for i in range(0, len(ids), window)]
    chunks = [c for c in chunks if len(c) >= 2]
    if not chunks:
        raise JunkDNAError("perplexity: the text has fewer than 2 tokens")
    device = device_of(model)
    nll, count = 0.0, 0
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(chunks), batch_size):
            part = chunks[start : start + batch_size]
            tok = pad(part, 0, left=False).to(device)  # (B, W)
            valid = (
                torch.arange(tok.shape[1], device=device)[None]
                < torch.tensor([len(c) for c in part], device=device)[:, None]
            )
            logits = model(input_ids=tok, attention_mask=valid.long()).logits[:, :-1].float()
            lp = logits.log_softmax(-1).gather(2, tok[:, 1:, None]).squeeze(2)  # (B, W-1)
            target_ok = valid[:, 1:]
            nll -= float((lp * target_ok).sum())
            count += int(target_ok.sum())
    finally:
        model.train(was_training)
    return {"perplexity": math.exp(nll / count), "nll": nll / count, "tokens": count}
