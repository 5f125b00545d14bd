"""Causal LM (decoder-only): the prompt, then the target (+ EOS); only target tokens carry loss.
Without choices the model generates its answer (left-padded prompts); with choices
(``task.choices_field``) each choice is scored by log-likelihood (``heads.lm_scoring``) and the
most likely one is the answer.
"""

from __future__ import annotations

import logging

from junkdna.heads.base import check_choices, register
from junkdna.heads.batching import IGNORE, eos, eval_batches, pad_id, prompts
from junkdna.heads.generation import GenerationHead, decode, generate_kwargs
from junkdna.heads.lm_scoring import choice_logprobs, pick

log = logging.getLogger(__name__)


@register
class CausalLM(GenerationHead):
    name = "causal-lm"
    auto_class = "AutoModelForCausalLM"

    def encode(self, tokenizer, rows, labels, recipe, task, generation):
        if task.choices_field:
            return encode_choices(tokenizer, rows, labels, recipe, generation)
        return encode_targets(tokenizer, rows, labels, recipe, generation)

    def loss_terms(self, batch):
        # The LM loss predicts token t+1 from tokens <= t: the first label position is never a
        # term. labels: (batch, sequence)
        return int((batch["labels"][:, 1:] != IGNORE).sum())

    def predict(self, model, tokenizer, features, recipe):
        if features and "choice_ids" in features[0]:  # a task with choices: log-likelihood
            return predict_choices(model, tokenizer, features, recipe)
        out: list[str] = []
        for batch in eval_batches(model, tokenizer, features, recipe, left=True):
            width = batch["input_ids"].shape[1]
            ids = model.generate(**batch, **generate_kwargs(tokenizer, recipe))
            # (batch, generated): left padding keeps every prompt flush right
            out.extend(decode(tokenizer, ids[:, width:]))
        return out


def _bos(tokenizer) -> list[int]:
    return [tokenizer.bos_token_id] if getattr(tokenizer, "add_bos_token", False) else []


def encode_targets(tokenizer, rows, labels, recipe, generation: bool) -> list[dict]:
    """Prompt then target (+ EOS); only target tokens carry loss. Prompts are cut from the left
    so that the end of the prompt, next to the answer, survives truncation."""
    # A list of accepted answers (aliases) trains on its first, canonical one.
    labels = [y[0] if isinstance(y, list | tuple) else y for y in labels]
    texts = prompts(rows)
    p_ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    bos = _bos(tokenizer)
    if generation:
        keep = recipe.max_length - len(bos)
        return [_lm_feature(bos + p[-keep:], None) for p in p_ids]
    # Join with a space unless there is one (what the generator sees too).
    targets = [separator(p, str(y)) + str(y) for p, y in zip(texts, labels, strict=True)]
    t_ids = tokenizer(targets, add_special_tokens=False)["input_ids"]
    end = eos(tokenizer)
    out = []
    for p, t in zip(p_ids, t_ids, strict=True):
        t = t[: recipe.target_max_length - 1] + [end]
        room = max(recipe.max_length - len(t) - len(bos), 1)
        prompt = bos + p[-room:]
        out.append(_lm_feature(prompt + t, [IGNORE] * len(prompt) + t))
    return out


def separator(prompt: str, answer: str) -> str:
    """A space between prompt and answer, unless one side already has whitespace there (files
    written for lm-evaluation-harness give choices as " Paris" after "Answer:")."""
    return "" if prompt[-1:].isspace() or answer[:1].isspace() else " "


def _lm_feature(ids: list[int], labels) -> dict:
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}


def encode_choices(tokenizer, rows, labels, recipe, generation: bool) -> list[dict]:
    """Rows are (*text fields, choices). Training: prompt + the gold choice, like any causal-LM
    target. Evaluation: the prompt's ids and each choice's ids (after ``separator``)."""
    texts_rows, choices = [r[:-1] for r in rows], [list(r[-1]) for r in rows]
    check_choices(choices, labels)
    if not generation:
        gold = [c[y] for c, y in zip(choices, labels, strict=True)]
        return encode_targets(tokenizer, texts_rows, gold, recipe, False)
    texts = prompts(texts_rows)
    p_ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    bos = _bos(tokenizer)
    out, cut = [], 0
    for text, p, c in zip(texts, p_ids, choices, strict=True):
        c_ids = tokenizer([separator(text, str(x)) + str(x) for x in c], add_special_tokens=False)
        c_ids = c_ids["input_ids"]
        c_ids = [ids[: recipe.target_max_length] or [eos(tokenizer)] for ids in c_ids]
        keep = max(recipe.max_length - len(bos) - max(map(len, c_ids)), 1)
        cut += len(p) > keep
        out.append({"prompt_ids": bos + p[-keep:], "choice_ids": c_ids})
    if cut:  # an open-book passage cut from the left silently changes the evidence budget
        log.warning(
            "%d of %d prompts were cut from the left to fit max_length=%d (prompt + choice); "
            "raise the recipe's max_length to score them whole",
            cut,
            len(out),
            recipe.max_length,
        )
    return out


def predict_choices(model, tokenizer, features, recipe) -> list[list[int]]:
    """Per question: [choice with the highest summed log-prob, with the highest mean per token]."""
    scores = choice_logprobs(
        model,
        [f["prompt_ids"] for f in features],
        [f["choice_ids"] for f in features],
        pad_id(tokenizer),
        recipe.resolved_eval_batch_size,
    )
    return [pick(s) for s in scores]
