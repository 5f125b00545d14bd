"""Multiple choice with a seq2seq model (T5, BART): the prompt goes to the encoder, and each
choice is scored by the log-likelihood of its target sequence in the decoder, the end-of-sequence
token included (what fine-tuning teaches the decoder to produce for the gold choice: training on
a choice task is training on prompt -> gold choice text). The most likely choice is the answer.

Each batch of questions runs the encoder once; its states are repeated for the question's
choices, which run through the decoder together (teacher forcing, one forward).
"""

from __future__ import annotations

import torch

from junkdna.errors import JunkDNAError
from junkdna.heads.base import check_choices
from junkdna.heads.batching import IGNORE, device_of, features_of, pad, prompts


def encode_choices(tokenizer, rows, labels, recipe, task, generation: bool) -> list[dict]:
    """Rows are (*text fields, choices). Training: prompt -> gold choice, like any seq2seq
    target. Evaluation: the prompt's encoder features and each choice's target ids."""
    if task is not None and task.lang_fields:
        raise JunkDNAError(
            f"task {task.name!r}: choices with per-row language codes (lang_fields) are not "
            "supported; give one or the other"
        )
    texts, choices = prompts([r[:-1] for r in rows]), [[str(c) for c in r[-1]] for r in rows]
    check_choices(choices, labels)
    enc = tokenizer(texts, truncation=True, max_length=recipe.max_length)
    if not generation:
        gold = [c[y] for c, y in zip(choices, labels, strict=True)]
        tgt = tokenizer(text_target=gold, truncation=True, max_length=recipe.target_max_length)
        return features_of(enc, tgt["input_ids"])
    feats = features_of(enc, [None] * len(rows))
    for f, c in zip(feats, choices, strict=True):
        ids = tokenizer(text_target=c, truncation=True, max_length=recipe.target_max_length)
        f["choice_ids"] = ids["input_ids"]
        del f["labels"]
    return feats


@torch.inference_mode()
def choice_logprobs(model, features, pad_id: int, batch_size: int) -> list[list[tuple[float, int]]]:
    """For each question, (sum of log p(choice target tokens | prompt), number of tokens) per
    choice. ``features``: ``encode_choices(generation=True)``."""
    from transformers.modeling_outputs import BaseModelOutput

    device = device_of(model)
    out: list[list[tuple[float, int]]] = []
    for start in range(0, len(features), batch_size):
        feats = features[start : start + batch_size]
        ids = pad([f["input_ids"] for f in feats], pad_id, left=False).to(device)  # (B, S)
        mask = pad([f["attention_mask"] for f in feats], 0, left=False).to(device)
        states = model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
        owner = torch.tensor([b for b, f in enumerate(feats) for _ in f["choice_ids"]])
        flat = [c for f in feats for c in f["choice_ids"]]
        if any(not c for c in flat):
            raise JunkDNAError("a choice has no target tokens; it cannot be scored")
        labels = pad(flat, IGNORE, left=False).to(device)  # (N, T): N choices of the batch
        owner = owner.to(device)
        res = model(
            encoder_outputs=BaseModelOutput(last_hidden_state=states[owner]),
            attention_mask=mask[owner],
            labels=labels,  # shifted right into the decoder inputs by the model
        )
        valid = labels != IGNORE
        lp = res.logits.float().log_softmax(-1)  # (N, T, V)
        tok = lp.gather(2, labels.clamp(min=0)[..., None]).squeeze(2)  # (N, T)
        sums = (tok * valid).sum(-1).tolist()
        counts = valid.sum(-1).tolist()
        scored: list[list[tuple[float, int]]] = [[] for _ in feats]
        for b, s, n in zip(owner.tolist(), sums, counts, strict=True):
            scored[b].append((s, n))
        out.extend(scored)
    return out
