"""Text likelihood: a causal LM scores a text itself, every token of it (evaluation only).

The prediction for a row is (summed negative log-likelihood in nats, UTF-8 bytes, tokens,
reference bytes) of its text, which the ``bits_per_byte`` metric turns into bits per byte
(``tasks.metrics``). The reference bytes are the task's ``bytes_field`` of the row where it has
one (parallel text: the same item's bytes in a reference language, so that every language is
scored per unit of the same content), else the text's own UTF-8 bytes.

The first token is predicted from one document-start token (the BOS of a tokenizer that starts
every text with one, else the end-of-text token, as lm-evaluation-harness's rolling
log-likelihood does), so every byte of the text is scored. A text longer than
``recipe.max_length`` - 1 tokens is scored in rolling windows of ``max_length`` tokens: the first
window predicts all its tokens, each later one predicts what follows with the previous half
window as context, so no token is scored twice or without context (``windows``). Rows are batched by length under a token budget, since the logits of a
49k-word vocabulary are the largest tensor of the forward.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.heads.base import Head, register
from junkdna.heads.batching import device_of, pad

TOKEN_BUDGET = 4096  # tokens per forward (batch x padded length): bounds the logits' memory


@register
class TextLikelihood(Head):
    name = "text-likelihood"
    default_metric = "bits_per_byte"
    labels = "item"  # the label names the item a row belongs to (nothing is predicted)
    auto_class = "AutoModelForCausalLM"
    can_finetune = False  # a probe of the pre-trained (or pruned) model

    def encode(self, tokenizer, rows, labels, recipe, task, generation):
        if not generation:
            raise JunkDNAError(f"head {self.name!r} only evaluates (regime 'none')")
        given = bool(getattr(task, "bytes_field", None))  # the row ends with its byte count
        texts = ["\n".join(str(t) for t in (r[:-1] if given else r)) for r in rows]
        ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
        start = document_start(tokenizer)
        out = []
        for i, (text, t, row) in enumerate(zip(texts, ids, rows, strict=True)):
            if not t:
                raise JunkDNAError(f"row {i} has an empty text: nothing to score")
            own = len(text.encode("utf-8"))
            ref = row[-1] if given else own
            if not isinstance(ref, numbers.Integral) or isinstance(ref, bool) or ref < 1:
                raise JunkDNAError(f"row {i}: {task.bytes_field} is {ref!r}, not a byte count")
            out.append({"input_ids": t, "start": start, "bytes": own, "ref_bytes": ref})
        return out

    def predict(self, model, tokenizer, features, recipe):
        nll = text_nll(
            model,
            [f["input_ids"] for f in features],
            features[0]["start"] if features else 0,
            recipe.max_length,
            recipe.resolved_eval_batch_size,
        )
        return [
            [n, f["bytes"], len(f["input_ids"]), f["ref_bytes"]]
            for n, f in zip(nll, features, strict=True)
        ]


def document_start(tokenizer) -> int:
    """The token a text is predicted after: the BOS of a tokenizer that starts every text with
    one, else the end of the previous document (EOS), as lm-evaluation-harness does."""
    first = (tokenizer.bos_token_id,) if getattr(tokenizer, "add_bos_token", False) else ()
    for tok in (*first, tokenizer.eos_token_id, tokenizer.bos_token_id):
        if tok is not None:
            return tok
    raise JunkDNAError("the tokenizer has neither a BOS nor an EOS token to start a text after")


def windows(n: int, window: int) -> list[tuple[int, int]]:
    """Pieces (end, k) that score the tokens 1..n of a sequence [start] + n tokens once each:
    each piece's input is the ``window`` (or fewer) tokens ending before position ``end`` and it
    scores its last ``k`` positions. The first piece scores up to ``window`` - 1 tokens from the
    start; each later one ``window`` - ``window // 2`` new tokens after ``window // 2`` of
    context."""
    if window < 2:
        raise JunkDNAError(f"max_length must be >= 2 tokens to score a text, got {window}")
    first = min(n + 1, window)
    out = [(first, first - 1)]
    step = window - window // 2
    end = first
    while end < n + 1:
        nxt = min(end + step, n + 1)
        out.append((nxt, nxt - end))
        end = nxt
    return out


@torch.inference_mode()
def text_nll(
    model: nn.Module, texts: Sequence[list[int]], start: int, window: int, batch_size: int = 8
) -> list[float]:
    """Summed NLL (nats) of every token of each text (``windows``), the first token predicted
    from ``start``; at most ``batch_size`` windows and ``TOKEN_BUDGET`` tokens per forward."""
    pieces = []  # (text, input ids, positions scored at the end)
    for i, ids in enumerate(texts):
        full = [start, *ids]
        for end, k in windows(len(ids), window):
            pieces.append((i, full[max(0, end - window) : end], k))
    pieces.sort(key=lambda p: len(p[1]))
    out = [0.0] * len(texts)
    device = device_of(model)
    b = 0
    while b < len(pieces):
        size = max(1, min(batch_size, TOKEN_BUDGET // len(pieces[b][1])))
        batch = pieces[b : b + size]  # sorted by length: the last is the longest
        while len(batch) > 1 and len(batch) * len(batch[-1][1]) > TOKEN_BUDGET:
            batch = batch[:-1]
        b += len(batch)
        ids = pad([p[1] for p in batch], 0, left=False).to(device)  # (B, L)
        lengths = torch.tensor([len(p[1]) for p in batch], device=device)
        mask = (torch.arange(ids.shape[1], device=device)[None] < lengths[:, None]).long()
        logits = model(input_ids=ids, attention_mask=mask).logits  # (B, L, V)
        for j, (i, inp, k) in enumerate(batch):  # row by row: one more (L, V) at a time
            n = len(inp)
            lp = logits[j, n - 1 - k : n - 1].float().log_softmax(-1)  # (k, V): predict the last k
            out[i] -= float(lp.gather(1, ids[j, n - k : n, None]).sum())
    return out
