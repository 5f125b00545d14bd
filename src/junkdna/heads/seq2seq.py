"""Seq2seq (T5, mBART): prompt in the encoder, target text in the decoder; greedy or beam
generation at evaluation, or with choices (``task.choices_field``) each choice scored by its
log-likelihood (``heads.seq2seq_choices``).

Tasks with per-row language codes (``lang_fields``, mBART). mBART marks languages with special
tokens. The tokenizer adds the source code to the input and the target code to the labels once
``src_lang``/``tgt_lang`` are set; rows of a multilingual task are tokenized in groups of one
language pair. At generation the target language must be forced at the start of the decoder, and
*where* depends on the tokenizer's label layout:

* mBART-50 labels are ``[tgt_code] X </s>``: decoding starts at ``</s>`` and the code is forced
  as the first generated token (``forced_bos_token_id``);
* mBART (cc25, en-ro) labels are ``X </s> [tgt_code]``, which the model shifts into the decoder
  input ``[tgt_code] X``: decoding starts at the code (``decoder_start_token_id``).

Both are read off the tokenizer, so generation matches what fine-tuning taught.
"""

from __future__ import annotations

from collections import defaultdict

from junkdna.errors import JunkDNAError
from junkdna.heads import seq2seq_choices
from junkdna.heads.base import register
from junkdna.heads.batching import IGNORE, eval_batches, features_of, pad_id, prompts
from junkdna.heads.generation import GenerationHead, decode, generate_kwargs
from junkdna.heads.lm_scoring import pick


@register
class Seq2Seq(GenerationHead):
    name = "seq2seq"
    auto_class = "AutoModelForSeq2SeqLM"

    def encode(self, tokenizer, rows, labels, recipe, task, generation):
        if task is not None and task.choices_field:  # each choice scored by log-likelihood
            return seq2seq_choices.encode_choices(tokenizer, rows, labels, recipe, task, generation)
        if task is not None and task.lang_fields:  # mBART-style language codes, per row
            return encode_with_languages(tokenizer, rows, labels, recipe, generation)
        enc = tokenizer(prompts(rows), truncation=True, max_length=recipe.max_length)
        if generation:
            return features_of(enc, [None] * len(rows))
        tgt = tokenizer(
            text_target=[str(y) for y in labels],
            truncation=True,
            max_length=recipe.target_max_length,
        )
        return features_of(enc, tgt["input_ids"])

    def loss_terms(self, batch):
        return int((batch["labels"] != IGNORE).sum())  # target tokens; labels: (batch, target)

    def predict(self, model, tokenizer, features, recipe):
        if features and "choice_ids" in features[0]:  # a task with choices: log-likelihood
            batch = recipe.resolved_eval_batch_size
            scores = seq2seq_choices.choice_logprobs(model, features, pad_id(tokenizer), batch)
            return [pick(s) for s in scores]
        if features and "tgt_lang" in features[0]:  # mBART-style: the target language is forced
            return generate_with_languages(model, tokenizer, features, recipe)
        out: list[str] = []
        for batch in eval_batches(model, tokenizer, features, recipe):
            batch.pop("token_type_ids", None)
            ids = model.generate(**batch, **generate_kwargs(tokenizer, recipe))
            out.extend(decode(tokenizer, ids))  # ids: (batch, generated), decoder side only
        return out


def _set_languages(tokenizer, src: str, tgt: str) -> None:
    if not hasattr(tokenizer, "src_lang"):
        raise JunkDNAError(
            f"{type(tokenizer).__name__} has no language codes (src_lang/tgt_lang); a task with "
            "lang_fields needs an mBART-style tokenizer"
        )
    known = set(tokenizer.get_vocab())
    for code in (src, tgt):
        if code not in known:
            raise JunkDNAError(f"language code {code!r} is not in the tokenizer's vocabulary")
    tokenizer.src_lang = src  # the setter also resets the prefix/suffix special tokens
    tokenizer.tgt_lang = tgt


def encode_with_languages(tokenizer, rows, labels, recipe, generation: bool) -> list[dict]:
    """Rows are (*text fields, src_lang, tgt_lang); features come back in row order."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[(str(r[-2]), str(r[-1]))].append(i)
    saved = (getattr(tokenizer, "src_lang", None), getattr(tokenizer, "tgt_lang", None))
    out: list[dict | None] = [None] * len(rows)
    try:
        for (src, tgt), idx in groups.items():
            _set_languages(tokenizer, src, tgt)
            texts = prompts([rows[i][:-2] for i in idx])
            enc = tokenizer(texts, truncation=True, max_length=recipe.max_length)
            if generation:
                targets = [None] * len(idx)
            else:
                targets = tokenizer(
                    text_target=[str(labels[i]) for i in idx],
                    truncation=True,
                    max_length=recipe.target_max_length,
                )["input_ids"]
            for j, (i, t) in enumerate(zip(idx, targets, strict=True)):
                f = {"input_ids": enc["input_ids"][j], "attention_mask": enc["attention_mask"][j]}
                out[i] = {**f, "labels": t, **({"tgt_lang": tgt} if generation else {})}
    finally:
        if saved[0] is not None:
            _set_languages(tokenizer, *saved)
    return out  # type: ignore[return-value]


def language_start(tokenizer, tgt: str) -> dict[str, int]:
    """generate() keywords that start the decoder in language ``tgt`` (see the module doc)."""
    code = tokenizer.convert_tokens_to_ids(tgt)
    saved = tokenizer.tgt_lang
    tokenizer.tgt_lang = tgt
    try:
        probe = tokenizer(text_target="a")["input_ids"]
    finally:
        tokenizer.tgt_lang = saved
    if probe and probe[0] == code:
        return {"forced_bos_token_id": code}
    return {"decoder_start_token_id": code}


def generate_with_languages(model, tokenizer, features, recipe) -> list[str]:
    """Greedy/beam generation, one target language per batch (rows regrouped, order restored)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(features):
        groups[f["tgt_lang"]].append(i)
    out: list[str] = [""] * len(features)
    for tgt, idx in groups.items():
        start = language_start(tokenizer, tgt)
        feats = [{k: v for k, v in features[i].items() if k != "tgt_lang"} for i in idx]
        done = 0
        for batch in eval_batches(model, tokenizer, feats, recipe):
            ids = model.generate(**batch, **generate_kwargs(tokenizer, recipe), **start)
            for t in decode(tokenizer, ids):
                out[idx[done]] = t
                done += 1
    return out
