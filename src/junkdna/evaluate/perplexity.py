"""Perplexity of a causal LM as the Wanda and SparseGPT repositories compute it.

The evaluation text (``evaluate/texts.py``; WikiText-2: its test lines joined with "\\n\\n"; C4:
the first 1,100 validation documents with " ") is tokenized ONCE with the tokenizer's defaults (a
LLaMA tokenizer puts one BOS at the very start), and cut into ``numel // seqlen`` non-overlapping
windows; the last, partial window is dropped (``partial=True`` keeps it). In each window every
token but the first is predicted from those before it in that window only. The score is
exp(sum of the NLLs / number of predicted tokens); with full windows only this equals the
repositories' exp(mean over windows of the window's mean NLL). Windows run in batches of about
``TOKENS_PER_BATCH`` tokens, and the NLL is computed from the logits in chunks of
``LOSS_CHUNK`` positions upcast to fp32, so memory is bounded whatever the text's length.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from junkdna.errors import JunkDNAError

TOKENS_PER_BATCH = 2048  # tokens per forward: bounds the (batch, seqlen, vocab) logits
LOSS_CHUNK = 512  # positions upcast to fp32 at a time for the NLL
MAX_DEFAULT_SEQLEN = 2048  # the default window: the model's context, capped here


def token_stream(tokenizer, text: str) -> torch.Tensor:
    """The whole text tokenized once, with the tokenizer's own special tokens (as the
    repositories' ``tokenizer(text, return_tensors="pt")``): a 1-D LongTensor."""
    ids = tokenizer(text, verbose=False)["input_ids"]
    return torch.tensor(ids, dtype=torch.long)


def context_length(model: nn.Module) -> int | None:
    config = getattr(model, "config", None)
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def default_seqlen(model: nn.Module) -> int:
    """The model's context length, capped at ``MAX_DEFAULT_SEQLEN`` (2048 if it has none)."""
    ctx = context_length(model)
    return min(ctx, MAX_DEFAULT_SEQLEN) if ctx else MAX_DEFAULT_SEQLEN


def check_seqlen(seqlen: int, model: nn.Module | None = None, what: str = "--seqlen") -> int:
    if isinstance(seqlen, bool) or not isinstance(seqlen, int) or seqlen < 2:
        raise JunkDNAError(f"{what} must be an integer >= 2 (a window predicts seqlen-1 tokens), "
                           f"got {seqlen!r}")  # fmt: skip
    ctx = context_length(model) if model is not None else None
    if ctx is not None and seqlen > ctx:
        raise JunkDNAError(
            f"{what} {seqlen} exceeds the model's context length {ctx}; give --seqlen <= {ctx}"
        )
    return seqlen


@dataclass
class Perplexity:
    perplexity: float
    nll: float  # mean NLL per predicted token (nats)
    tokens: int  # predicted tokens: windows x (seqlen - 1) with full windows
    windows: int
    seqlen: int
    stream_tokens: int  # tokens of the whole text
    dropped_tokens: int  # tokens in no evaluated window (the partial tail, capped windows)
    partial: bool
    batch_size: int
    seconds: float
    window_nll: list[float] = field(default_factory=list, repr=False)  # summed NLL per window

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("window_nll")
        return out


def windows_of(
    ids: torch.Tensor, seqlen: int, max_windows: int | None = None, partial: bool = False
) -> list[torch.Tensor]:
    """``numel // seqlen`` full windows (then, with ``partial``, the rest if it has >= 2 tokens),
    the first ``max_windows`` of them."""
    check_seqlen(seqlen)
    ids = ids.reshape(-1)
    n = ids.numel() // seqlen
    out = list(ids[: n * seqlen].view(n, seqlen)) if n else []
    if partial and ids.numel() - n * seqlen >= 2:
        out.append(ids[n * seqlen :])
    if max_windows is not None:
        out = out[:max_windows]
    if not out:
        raise JunkDNAError(
            f"the text has {ids.numel()} tokens, fewer than one window of seqlen={seqlen}; give "
            "more text or a smaller --seqlen"
        )
    return out


@torch.inference_mode()
def perplexity(
    model: nn.Module,
    ids: torch.Tensor,
    seqlen: int,
    *,
    batch_size: int | None = None,
    max_windows: int | None = None,
    partial: bool = False,
    progress: bool = False,
    desc: str = "perplexity",
) -> Perplexity:
    """Perplexity of the token stream ``ids`` over non-overlapping windows of ``seqlen`` (see the
    module's docstring); ``batch_size`` windows per forward (default: ``TOKENS_PER_BATCH``
    tokens' worth)."""
    from junkdna.heads.batching import device_of

    windows = windows_of(ids, seqlen, max_windows, partial)
    batch_size = batch_size or max(1, TOKENS_PER_BATCH // seqlen)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise JunkDNAError(f"batch size must be a positive integer, got {batch_size!r}")
    device = device_of(model)
    kwargs = {"use_cache": False} if _accepts(model, "use_cache") else {}
    # Equal-length windows share a batch; a partial last window goes alone.
    groups: list[list[torch.Tensor]] = []
    for w in windows:
        if groups and len(groups[-1]) < batch_size and len(groups[-1][0]) == len(w):
            groups[-1].append(w)
        else:
            groups.append([w])
    per_window: list[float] = []
    start = time.perf_counter()
    was_training = model.training
    model.eval()
    bar = _bar(len(windows), desc, progress)
    try:
        for group in groups:
            x = torch.stack(group).to(device)  # (B, T)
            logits = model(input_ids=x, **kwargs).logits  # (B, T, V) in the model's dtype
            for b in range(x.shape[0]):
                per_window.append(_window_nll(logits[b], x[b]))
            del logits
            bar.update(len(group))
    finally:
        bar.close()
        model.train(was_training)
    seconds = time.perf_counter() - start
    tokens = sum(len(w) - 1 for w in windows)
    nll = math.fsum(per_window) / tokens
    covered = sum(len(w) for w in windows)
    return Perplexity(
        perplexity=math.exp(nll),
        nll=nll,
        tokens=tokens,
        windows=len(windows),
        seqlen=seqlen,
        stream_tokens=int(ids.numel()),
        dropped_tokens=int(ids.numel()) - covered,
        partial=partial,
        batch_size=batch_size,
        seconds=round(seconds, 3),
        window_nll=per_window,
    )


def _window_nll(logits: torch.Tensor, ids: torch.Tensor) -> float:
    """Summed NLL of tokens 1.. of one window from its logits (T, V), fp32 in chunks."""
    total = torch.zeros((), dtype=torch.float64, device=logits.device)
    n = ids.shape[0] - 1
    for s in range(0, n, LOSS_CHUNK):
        e = min(s + LOSS_CHUNK, n)
        loss = F.cross_entropy(logits[s:e].float(), ids[s + 1 : e + 1], reduction="sum")
        total += loss.double()
    return float(total)


def _accepts(model: nn.Module, name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, desc: str, on: bool):
    if not on:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="window", file=sys.stderr, leave=False)
