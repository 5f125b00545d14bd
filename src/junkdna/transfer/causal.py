"""Causal-LM scoring: multiple choice by log-likelihood (prompt KV cache shared by the choices)
and perplexity over non-overlapping windows.

Choice scoring runs the prompts of a batch of questions once, copies each question's KV cache to
its choices, and runs only the choice tokens on top. A question with k choices of a few tokens
after a 200-token prompt costs about one prompt forward, not k. Prompts are left-padded, with
explicit position ids so that padding shifts nothing; questions are grouped by prompt length so
that little is padded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.transfer import data


def encode_choices(tokenizer, rows, labels, recipe, generation: bool) -> list[dict]:
    """Rows are (*text fields, choices). Training: prompt + the gold choice, like any causal-LM
    target. Evaluation: the prompt's ids and each choice's ids (with a leading space)."""
    prompts, choices = [r[:-1] for r in rows], [list(r[-1]) for r in rows]
    for i, (c, y) in enumerate(zip(choices, labels, strict=True)):
        if len(c) < 2:
            raise JunkDNAError(f"example {i} has {len(c)} choice(s); multiple choice needs >= 2")
        if isinstance(y, bool) or not isinstance(y, int) or not 0 <= y < len(c):
            raise JunkDNAError(
                f"example {i}: label {y!r} is not an index into its {len(c)} choices"
            )
    if not generation:
        gold = [c[y] for c, y in zip(choices, labels, strict=True)]
        return data.ENCODERS.get("causal-lm")(tokenizer, prompts, gold, recipe, None, False)
    texts = data._prompts(prompts)
    p_ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    bos = [tokenizer.bos_token_id] if getattr(tokenizer, "add_bos_token", False) else []
    out = []
    for text, p, c in zip(texts, p_ids, choices, strict=True):
        sep = "" if text[-1:].isspace() else " "
        c_ids = tokenizer([sep + str(x) for x in c], add_special_tokens=False)["input_ids"]
        c_ids = [ids[: recipe.target_max_length] or [data._eos(tokenizer)] for ids in c_ids]
        keep = max(recipe.max_length - len(bos) - max(map(len, c_ids)), 1)
        out.append({"prompt_ids": bos + p[-keep:], "choice_ids": c_ids})
    return out


@torch.inference_mode()
def choice_logprobs(
    model: nn.Module,
    prompts: Sequence[list[int]],
    choices: Sequence[Sequence[list[int]]],
    pad_id: int,
    batch_size: int = 16,
) -> list[list[tuple[float, int]]]:
    """For each question, (sum of log p(choice tokens | prompt), number of tokens) per choice."""
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list[list[tuple[float, int]]] = [[] for _ in prompts]
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        scored = _score_batch(model, [prompts[i] for i in idx], [choices[i] for i in idx], pad_id)
        for i, s in zip(idx, scored, strict=True):
            out[i] = s
    return out


def _score_batch(model, prompts, choices, pad_id) -> list[list[tuple[float, int]]]:
    device = next(model.parameters()).device
    if any(not p for p in prompts):
        raise JunkDNAError("an empty prompt cannot be scored (nothing predicts the first token)")
    ids = data._pad(list(prompts), pad_id, left=True).to(device)  # (B, P)
    width, plen = ids.shape[1], torch.tensor([len(p) for p in prompts])
    mask = (torch.arange(width)[None] >= (width - plen)[:, None]).long().to(device)  # (B, P)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True)
    first = out.logits[:, -1].float().log_softmax(-1)  # (B, V): log p(choice token 0 | prompt)
    owner = [b for b, cs in enumerate(choices) for _ in cs]  # question of each flat choice
    flat = [c for cs in choices for c in cs]
    rep = torch.tensor(owner, device=device)
    tok = data._pad(flat, pad_id, left=False).to(device)  # (N, O) choice tokens, right-padded
    lens = torch.tensor([len(c) for c in flat], device=device)
    valid = torch.arange(tok.shape[1], device=device)[None] < lens[:, None]  # (N, O)
    logp = torch.zeros(tok.shape, device=device)
    logp[:, 0] = first[rep].gather(1, tok[:, :1]).squeeze(1)
    if tok.shape[1] > 1:  # tokens 1.. of each choice: run the choices on the copied cache
        cache = out.past_key_values
        cache.batch_select_indices(rep)
        ext_mask = torch.cat([mask[rep], valid.long()], dim=1)  # (N, P + O)
        ext_pos = mask.sum(-1)[rep][:, None] + torch.arange(tok.shape[1], device=device)[None]
        step = model(
            input_ids=tok, attention_mask=ext_mask, position_ids=ext_pos, **_cache_kw(model, cache)
        )
        lp = step.logits[:, :-1].float().log_softmax(-1)  # (N, O-1, V) predicts tokens 1..O-1
        logp[:, 1:] = lp.gather(2, tok[:, 1:, None]).squeeze(2)
    sums = (logp * valid).sum(-1).tolist()
    res: list[list[tuple[float, int]]] = [[] for _ in prompts]
    for b, s, n in zip(owner, sums, lens.tolist(), strict=True):
        res[b].append((s, n))
    return res


def _cache_kw(model, cache) -> dict:
    """Newer transformers name the forward's cache argument ``cache`` (``past_key_values`` is
    deprecated there); older ones only know ``past_key_values``."""
    import inspect

    params = inspect.signature(model.forward).parameters
    return {"cache": cache} if "cache" in params else {"past_key_values": cache}


def pick(scores: list[tuple[float, int]]) -> list[int]:
    """[argmax of the summed log-prob, argmax of the per-token mean]; ties go to the first."""
    total = max(range(len(scores)), key=lambda i: scores[i][0])
    mean = max(range(len(scores)), key=lambda i: scores[i][0] / scores[i][1])
    return [total, mean]


def predict_choices(model, tokenizer, features, recipe) -> list[list[int]]:
    scores = choice_logprobs(
        model,
        [f["prompt_ids"] for f in features],
        [f["choice_ids"] for f in features],
        data.pad_id(tokenizer),
        recipe.resolved_eval_batch_size,
    )
    return [pick(s) for s in scores]


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
    device = next(model.parameters()).device
    nll, count = 0.0, 0
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(chunks), batch_size):
            part = chunks[start : start + batch_size]
            tok = data._pad(part, 0, left=False).to(device)  # (B, W)
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
