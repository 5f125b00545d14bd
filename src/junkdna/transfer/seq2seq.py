"""Seq2seq with per-row language codes (mBART): tokenization and generation.

mBART marks languages with special tokens. The tokenizer adds the source code to the input and
the target code to the labels once ``src_lang``/``tgt_lang`` are set; rows of a multilingual
task are tokenized in groups of one language pair. At generation the target language must be
forced at the start of the decoder, and *where* depends on the tokenizer's label layout:

* mBART-50 labels are ``[tgt_code] X </s>``: decoding starts at ``</s>`` and the code is forced
  as the first generated token (``forced_bos_token_id``);
* mBART (cc25, en-ro) labels are ``X </s> [tgt_code]``, which the model shifts into the decoder
  input ``[tgt_code] X``: decoding starts at the code (``decoder_start_token_id``).

Both are read off the tokenizer, so generation matches what fine-tuning taught.
"""

from __future__ import annotations

from collections import defaultdict

from junkdna.errors import JunkDNAError
from junkdna.transfer import data


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
            texts = data._prompts([rows[i][:-2] for i in idx])
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
    from junkdna.transfer.evaluate import _generate_kwargs, device_of

    device = device_of(model)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(features):
        groups[f["tgt_lang"]].append(i)
    out: list[str] = [""] * len(features)
    pad = data.pad_id(tokenizer)
    for tgt, idx in groups.items():
        start = language_start(tokenizer, tgt)
        for b in data.batches(len(idx), recipe.resolved_eval_batch_size):
            rows = [idx[k] for k in b]
            feats = [{k: v for k, v in features[i].items() if k != "tgt_lang"} for i in rows]
            batch = data.collate(feats, pad)
            batch.pop("labels", None)
            batch = {k: v.to(device) for k, v in batch.items()}
            ids = model.generate(**batch, **_generate_kwargs(tokenizer, recipe), **start)
            texts = tokenizer.batch_decode(ids, skip_special_tokens=True)
            for i, t in zip(rows, texts, strict=True):
                out[i] = t.strip()
    return out
