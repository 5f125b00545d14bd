"""Tokenization and collation per head kind, with dynamic padding (each batch padded to its own
longest sequence).

A *feature* is one example as plain Python lists: ``input_ids``, ``attention_mask`` (and
``token_type_ids`` where the tokenizer makes them), plus ``labels``: an int (classification,
multiple choice), a float (regression) or a token list (seq2seq, causal LM; -100 marks positions
without loss). A multiple-choice feature holds one sequence per choice (lists of lists).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from junkdna.errors import JunkDNAError
from junkdna.registry import Registry
from junkdna.tasks.base import TaskData
from junkdna.transfer.recipe import Recipe

IGNORE = -100  # label id that the loss skips (Hugging Face convention)
SEQUENCE_KEYS = {"input_ids", "attention_mask", "token_type_ids"}

Encoder = Callable[[Any, list[list[str]], list[Any], Recipe, TaskData, bool], list[dict]]
ENCODERS: Registry[Encoder] = Registry("head kind")


def column(ds: Any, field: str, split: str) -> list[Any]:
    """A column of a datasets.Dataset, a dict of lists, or a list of row dicts."""
    try:
        if isinstance(ds, Sequence) and not hasattr(ds, "column_names"):
            return [row[field] for row in ds]
        return list(ds[field])
    except (KeyError, ValueError):
        present = getattr(ds, "column_names", None) or (list(ds[0]) if len(ds) else [])
        raise JunkDNAError(
            f"{split} split has no column {field!r}; columns present: {', '.join(present)}"
        ) from None


def encode(tokenizer, task: TaskData, split: str, recipe: Recipe, generation: bool = False):
    """Features of one split (``train`` or ``validation``) and the raw labels, in data order."""
    ds = getattr(task, split)
    if ds is None or len(ds) == 0:
        raise JunkDNAError(f"task {task.name!r} has no {split} examples")
    # Choices and language codes ride along at the end of each row (see ``row_extras``).
    texts = [column(ds, f, split) for f in (*task.text_fields, *row_extras(task))]
    rows = [list(t) for t in zip(*texts, strict=True)]  # (n, text fields + extras)
    labels = column(ds, task.label_field, split)
    return ENCODERS.get(task.head)(tokenizer, rows, labels, recipe, task, generation), labels


def row_extras(task: TaskData) -> tuple[str, ...]:
    """Fields appended after the text fields of every row: the choices, then the language codes."""
    return ((task.choices_field,) if task.choices_field else ()) + tuple(task.lang_fields or ())


def _encode_pairs(tokenizer, rows, recipe):
    if len(rows[0]) > 2:
        raise JunkDNAError(
            f"a sequence classifier takes one or two text fields, got {len(rows[0])}"
        )
    cols = list(zip(*rows, strict=True))
    return tokenizer(*[list(c) for c in cols], truncation=True, max_length=recipe.max_length)


def _features(enc, labels) -> list[dict]:
    keys = [k for k in enc if k in SEQUENCE_KEYS]
    return [{**{k: enc[k][i] for k in keys}, "labels": y} for i, y in enumerate(labels)]


@ENCODERS.register("classification")
def _classification(tokenizer, rows, labels, recipe, task, generation):
    n = task.num_labels or 2
    for y in labels:
        if isinstance(y, bool) or not isinstance(y, int) or not 0 <= y < n:
            raise JunkDNAError(
                f"task {task.name!r}: classification labels must be ints in 0..{n - 1}, got {y!r}"
            )
    return _features(_encode_pairs(tokenizer, rows, recipe), labels)


@ENCODERS.register("regression")
def _regression(tokenizer, rows, labels, recipe, task, generation):
    try:
        values = [float(y) for y in labels]
    except (TypeError, ValueError):
        raise JunkDNAError(f"task {task.name!r}: regression labels must be numbers") from None
    return _features(_encode_pairs(tokenizer, rows, recipe), values)


BLANK = "_"


def choice_texts(context: str, choice: str) -> tuple[str, ...]:
    """The sequence(s) that score one choice. A context with exactly one blank ``_`` (WinoGrande)
    is the sentence with the blank filled by the choice; any other context (a CSQA question) is
    paired with the choice as a second segment. The encoder fills blanks only when every context
    of the split has one."""
    if context.count(BLANK) == 1:
        return (context.replace(BLANK, choice),)
    return (context, choice)


@ENCODERS.register("multiple-choice")
def _multiple_choice(tokenizer, rows, labels, recipe, task, generation):
    """Each choice is encoded with its context (``choice_texts``); the model scores every
    sequence and a softmax over the choices gives the answer (AutoModelForMultipleChoice)."""
    n_text = len(task.text_fields)
    sizes = {len(r[n_text]) for r in rows if isinstance(r[n_text], list | tuple)}
    if len(sizes) != 1 or any(not isinstance(r[n_text], list | tuple) for r in rows):
        raise JunkDNAError(
            f"task {task.name!r}: every row of a multiple-choice task needs a list of choices of "
            f"the same length in {task.choices_field!r}; found lengths {sorted(sizes)}"
        )
    k = sizes.pop()
    for y in labels:
        if isinstance(y, bool) or not isinstance(y, int) or not 0 <= y < k:
            raise JunkDNAError(
                f"task {task.name!r}: multiple-choice labels must be choice indices in "
                f"0..{k - 1}, got {y!r}"
            )
    contexts = [" ".join(str(t) for t in r[:n_text]) for r in rows]
    # One form per split: fill-in-the-blank only when every context has exactly one blank (a CSQA
    # question that happens to contain one "_" must not switch its row to another form).
    fill = all(c.count(BLANK) == 1 for c in contexts)
    texts = [
        choice_texts(ctx, str(c)) if fill else (ctx, str(c))
        for ctx, r in zip(contexts, rows, strict=True)
        for c in r[n_text]
    ]
    enc = tokenizer(
        *[list(c) for c in zip(*texts, strict=True)], truncation=True, max_length=recipe.max_length
    )
    keys = [key for key in enc if key in SEQUENCE_KEYS]
    return [
        {**{key: enc[key][i * k : (i + 1) * k] for key in keys}, "labels": y}
        for i, y in enumerate(labels)
    ]


def _prompts(rows) -> list[str]:
    return ["\n".join(str(t) for t in r) for r in rows]


@ENCODERS.register("seq2seq")
def _seq2seq(tokenizer, rows, labels, recipe, task, generation):
    if task is not None and task.lang_fields:  # mBART-style language codes, per row
        from junkdna.transfer.seq2seq import encode_with_languages

        return encode_with_languages(tokenizer, rows, labels, recipe, generation)
    enc = tokenizer(_prompts(rows), truncation=True, max_length=recipe.max_length)
    if generation:
        return _features(enc, [None] * len(rows))
    tgt = tokenizer(
        text_target=[str(y) for y in labels], truncation=True, max_length=recipe.target_max_length
    )
    return _features(enc, tgt["input_ids"])


def _eos(tokenizer) -> int:
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    if eos is None:
        raise JunkDNAError("the tokenizer has no end-of-sequence token; causal-LM targets need one")
    return eos


@ENCODERS.register("causal-lm")
def _causal_lm(tokenizer, rows, labels, recipe, task, generation):
    """Prompt then target (+ EOS); only target tokens carry loss. Prompts are cut from the left
    so that the end of the prompt, next to the answer, survives truncation. With choices, a
    causal LM scores each choice by log-likelihood (``transfer.causal``)."""
    if task is not None and task.choices_field:
        from junkdna.transfer.causal import encode_choices

        return encode_choices(tokenizer, rows, labels, recipe, generation)
    # A list of accepted answers (aliases) trains on its first, canonical one.
    labels = [y[0] if isinstance(y, list | tuple) else y for y in labels]
    prompts = _prompts(rows)
    p_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    bos = [tokenizer.bos_token_id] if getattr(tokenizer, "add_bos_token", False) else []
    if generation:
        keep = recipe.max_length - len(bos)
        return [_lm_feature(bos + p[-keep:], None) for p in p_ids]
    # Join with a space unless the prompt ends in whitespace (what the generator sees too).
    targets = [
        ("" if p[-1:].isspace() else " ") + str(y) for p, y in zip(prompts, labels, strict=True)
    ]
    t_ids = tokenizer(targets, add_special_tokens=False)["input_ids"]
    eos = _eos(tokenizer)
    out = []
    for p, t in zip(p_ids, t_ids, strict=True):
        t = t[: recipe.target_max_length - 1] + [eos]
        room = max(recipe.max_length - len(t) - len(bos), 1)
        prompt = bos + p[-room:]
        out.append(_lm_feature(prompt + t, [IGNORE] * len(prompt) + t))
    return out


def _lm_feature(ids: list[int], labels) -> dict:
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}


def collate(features: list[dict], pad_id: int, left: bool = False) -> dict[str, torch.Tensor]:
    """Pad each sequence key to the batch's longest (left padding for decoder-only generation)."""
    batch: dict[str, torch.Tensor] = {}
    for key in features[0]:
        values = [f[key] for f in features]
        if key == "labels" and values[0] is None:
            continue
        if isinstance(values[0], list):
            fill = pad_id if key == "input_ids" else IGNORE if key == "labels" else 0
            if values[0] and isinstance(values[0][0], list):  # (batch, choices, sequence)
                k = len(values[0])
                flat = _pad([s for v in values for s in v], fill, left)
                batch[key] = flat.view(len(values), k, -1)
            else:
                batch[key] = _pad(values, fill, left)
        elif isinstance(values[0], float):
            batch[key] = torch.tensor(values, dtype=torch.float32)
        else:
            batch[key] = torch.tensor(values, dtype=torch.long)
    return batch


def _pad(seqs: list[list[int]], fill: int, left: bool) -> torch.Tensor:
    width = max(len(s) for s in seqs)
    out = torch.full((len(seqs), width), fill, dtype=torch.long)  # (batch, longest)
    for i, s in enumerate(seqs):
        if s:
            if left:
                out[i, width - len(s) :] = torch.tensor(s)
            else:
                out[i, : len(s)] = torch.tensor(s)
    return out


MEGABATCH = 50  # batches per length-sorted group (group_by_length)


def batches(
    n: int,
    batch_size: int,
    generator: torch.Generator | None = None,
    lengths: Sequence[int] | None = None,
) -> Iterator[list[int]]:
    """Index batches: shuffled by ``generator`` (training) or in order (evaluation). With
    ``lengths`` (training only), each run of ``MEGABATCH`` batches of the shuffled order is sorted
    by length, longest first, so that a batch holds sequences of similar length."""
    order = torch.randperm(n, generator=generator).tolist() if generator is not None else range(n)
    order = list(order)
    if lengths is not None and generator is not None:
        mega = batch_size * MEGABATCH
        order = [
            i
            for s in range(0, n, mega)
            for i in sorted(order[s : s + mega], key=lambda i: -lengths[i])
        ]
    for i in range(0, n, batch_size):
        yield order[i : i + batch_size]


def feature_length(feature: dict) -> int:
    """Tokens of the longest sequence of a feature (multiple choice: of its longest choice)."""
    ids = feature["input_ids"]
    return max((len(s) for s in ids), default=0) if ids and isinstance(ids[0], list) else len(ids)


def pad_id(tokenizer) -> int:
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    return _eos(tokenizer)
