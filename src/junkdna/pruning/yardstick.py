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

Zero-shot (``zero_shot``): every item is a context and its choices (or, WinoGrande, one context
per choice and a common continuation); a (context, continuation) pair is split into tokens the
way lm-evaluation-harness does (trailing spaces of the context move to the continuation; the
continuation's tokens are those of context + continuation after the context's own), no BOS. We
report ``acc`` (argmax of the summed log-likelihood), ``acc_norm`` (argmax of the log-likelihood
divided by the choice's length in characters, lm-eval's ``acc_norm``) and ``acc_token`` (divided
by its number of tokens, the heads' ``accuracy_norm``). Ties go to the first choice.

Offline text: ``newwiki`` - the SQuAD-Shifts "New Wikipedia" paragraphs (Miller et al. 2020) from
the BIG-bench archive: 1,581 paragraphs of 48 articles, none of which is among the SQuAD v1.1 dev
articles that default calibration draws from (8-gram overlap 2 in 178,553).
"""

from __future__ import annotations

import json
import math
import os
import re
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

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
    offline_hint: str = "use --dataset newwiki or a .txt/.jsonl file",
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


@DATASETS.register("newwiki")
def newwiki(archive=None) -> EvalText:
    """Offline held-out Wikipedia: SQuAD-Shifts New Wikipedia paragraphs, deduplicated, in file
    order, whitespace-normalized like the calibration paragraphs, joined with a blank line."""
    from junkdna.data.bigbench import squad_paragraphs

    texts = squad_paragraphs(NEW_WIKI, archive)
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


# ----------------------------------------------------------------------------- zero-shot


@dataclass(frozen=True)
class ChoiceItem:
    """One question. ``contexts`` has one entry (shared by the choices) or one per choice
    (WinoGrande's partial scoring); likewise ``continuations``. ``lengths``: the characters of
    each choice's text (lm-eval's ``acc_norm`` divides by them)."""

    contexts: tuple[str, ...]
    continuations: tuple[str, ...]
    label: int
    lengths: tuple[int, ...]

    @property
    def k(self) -> int:
        return max(len(self.contexts), len(self.continuations))

    def pairs(self) -> list[tuple[str, str]]:
        ctx = self.contexts * self.k if len(self.contexts) == 1 else self.contexts
        cont = self.continuations * self.k if len(self.continuations) == 1 else self.continuations
        return list(zip(ctx, cont, strict=True))


@dataclass(frozen=True)
class ZeroShotTask:
    name: str
    source: str
    load: Callable[[int | None], list[ChoiceItem]]  # limit -> items (the first ``limit``)
    chance: float | None = None
    notes: str = ""


ZEROSHOT: Registry[ZeroShotTask] = Registry("zero-shot task")


def _mc(context: str, choices: Sequence[str], label: int) -> ChoiceItem:
    """A shared context and choices continued after a space (lm-eval's target delimiter)."""
    return ChoiceItem(
        (context,),
        tuple(" " + str(c) for c in choices),
        int(label),
        tuple(len(str(c)) for c in choices),
    )


def _squad_mc(limit: int | None) -> list[ChoiceItem]:
    from junkdna.tasks.qa import build_prompt
    from junkdna.tasks.registry import load_task

    rows = load_task("squad_mc").test
    n = len(rows) if limit is None else min(limit, len(rows))
    rows = rows.select(range(n))
    return [
        _mc(build_prompt("closed-book", r["question"], r["evidence"], 0), r["choices"], r["label"])
        for r in rows
    ]


ZEROSHOT.add(
    "squad_mc",
    ZeroShotTask(
        "squad_mc",
        "bigbench-1.0.0:squad_shifts/squaddev_v1.1.json (test split of junkdna's squad_mc v2)",
        _squad_mc,
        0.25,
        "offline; closed book ('Question: ...\\nAnswer:'), 4 choices, distractors of the same "
        "answer kind from other articles",
    ),
)


def _hub_task(name, path, config, split, fmt, chance, notes="", **kw) -> None:
    def load(limit: int | None) -> list[ChoiceItem]:
        rows = _hub_rows(
            f"zero-shot task {name!r}", path, config, split, "use --zeroshot squad_mc", **kw
        )
        if limit is not None:
            rows = rows.select(range(min(limit, len(rows))))
        items = [fmt(dict(r)) for r in rows]
        return [it for it in items if it is not None]

    source = f"hub:{path}{'/' + config if config else ''}/{split}"
    ZEROSHOT.add(name, ZeroShotTask(name, source, load, chance, notes))


def _letter_label(keys: Sequence[str], key: str) -> int | None:
    keys = [str(k) for k in keys]
    return keys.index(str(key)) if str(key) in keys else None


def fmt_arc(r: dict) -> ChoiceItem | None:
    label = _letter_label(r["choices"]["label"], r["answerKey"])
    if label is None:
        return None
    return _mc(f"Question: {r['question']}\nAnswer:", r["choices"]["text"], label)


def fmt_openbookqa(r: dict) -> ChoiceItem | None:
    label = _letter_label(r["choices"]["label"], r["answerKey"])
    return None if label is None else _mc(r["question_stem"], r["choices"]["text"], label)


def fmt_piqa(r: dict) -> ChoiceItem | None:
    return _mc(f"Question: {r['goal']}\nAnswer:", [r["sol1"], r["sol2"]], int(r["label"]))


def fmt_boolq(r: dict) -> ChoiceItem | None:
    return _mc(f"{r['passage']}\nQuestion: {r['question']}?\nAnswer:", ["no", "yes"], r["label"])


def fmt_rte(r: dict) -> ChoiceItem | None:
    text = f"{r['premise']}\nQuestion: {r['hypothesis']} True or False?\nAnswer:"
    return _mc(text, ["True", "False"], int(r["label"]))


def _hellaswag_clean(text: str) -> str:
    text = text.strip().replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def fmt_hellaswag(r: dict) -> ChoiceItem | None:
    ctx = r["ctx_a"] + " " + r["ctx_b"].capitalize()
    query = _hellaswag_clean(r["activity_label"] + ": " + ctx)
    if str(r.get("label", "")) == "":
        return None
    return _mc(query, [_hellaswag_clean(e) for e in r["endings"]], int(r["label"]))


def fmt_winogrande(r: dict) -> ChoiceItem | None:
    """Partial scoring: the sentence up to the blank, filled with each option, is the context;
    the rest of the sentence is the common continuation (lm-eval's ``winogrande``)."""
    s = r["sentence"]
    if "_" not in s or str(r["answer"]) not in ("1", "2"):
        return None
    i = s.index("_")
    contexts = (s[:i] + r["option1"], s[:i] + r["option2"])
    rest = " " + s[i + 1 :].strip()
    return ChoiceItem(contexts, (rest,), int(r["answer"]) - 1, (len(rest),) * 2)


_hub_task("arc_easy", "allenai/ai2_arc", "ARC-Easy", "test", fmt_arc, None)
_hub_task("arc_challenge", "allenai/ai2_arc", "ARC-Challenge", "test", fmt_arc, None)
_hub_task("openbookqa", "allenai/openbookqa", "main", "test", fmt_openbookqa, 0.25)
_hub_task("piqa", "baber/piqa", None, "validation", fmt_piqa, 0.5)
_hub_task("boolq", "aps/super_glue", "boolq", "validation", fmt_boolq, None)
_hub_task("rte", "aps/super_glue", "rte", "validation", fmt_rte, None)
_hub_task("hellaswag", "Rowan/hellaswag", None, "validation", fmt_hellaswag, 0.25)
_hub_task("winogrande", "allenai/winogrande", "winogrande_xl", "validation", fmt_winogrande, 0.5,
          "partial scoring; acc only (acc_norm = acc, one continuation)")  # fmt: skip


def check_zero_shot(names: Sequence[str]) -> list[str]:
    return [ZEROSHOT.get(n).name for n in names]  # unknown names fail here, with did-you-mean


@dataclass(frozen=True)
class EncodedItems:
    task: str
    prompts: list[list[int]]  # one per (item, context)
    choices: list[list[list[int]]]  # continuations scored after each prompt
    owners: list[tuple[int, list[int]]]  # per prompt: (item, choice index of each continuation)
    labels: list[int]
    lengths: list[tuple[int, ...]]
    ntokens: list[list[int]]  # per item: continuation tokens per choice


def encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-evaluation-harness's split of a (context, continuation) into tokens."""
    spaces = len(context) - len(context.rstrip())
    if spaces:
        continuation = context[-spaces:] + continuation
        context = context[:-spaces]
    if not context:
        end = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
        return [end], tokenizer(continuation, add_special_tokens=False)["input_ids"]
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    ctx = tokenizer(context, add_special_tokens=False)["input_ids"]
    cont = whole[len(ctx) :]
    if whole[: len(ctx)] != ctx or not cont:  # the boundary merged: encode the parts apart
        cont = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    return ctx, cont


def encode_items(tokenizer, task: str, items: Sequence[ChoiceItem]) -> EncodedItems:
    prompts, choices, owners, ntokens = [], [], [], []
    for i, item in enumerate(items):
        by_context: dict[tuple[int, ...], tuple[list[list[int]], list[int]]] = {}
        counts = []
        for j, (ctx, cont) in enumerate(item.pairs()):
            c_ids, t_ids = encode_pair(tokenizer, ctx, cont)
            if not t_ids:
                raise JunkDNAError(f"zero-shot task {task!r}: item {i} choice {j} has no tokens")
            conts, idx = by_context.setdefault(tuple(c_ids), ([], []))
            conts.append(t_ids)
            idx.append(j)
            counts.append(len(t_ids))
        for c_ids, (conts, idx) in by_context.items():
            prompts.append(list(c_ids))
            choices.append(conts)
            owners.append((i, idx))
        ntokens.append(counts)
    return EncodedItems(
        task, prompts, choices, owners, [it.label for it in items],
        [it.lengths for it in items], ntokens,
    )  # fmt: skip


@torch.inference_mode()
def score_items(
    model: nn.Module, enc: EncodedItems, pad_id: int, batch_size: int = 16
) -> dict[str, Any]:
    """acc, acc_norm (by characters, lm-eval), acc_token (by tokens), n, seconds."""
    from junkdna.heads.lm_scoring import choice_logprobs

    start = time.perf_counter()
    was_training = model.training
    model.eval()
    try:
        scored = choice_logprobs(model, enc.prompts, enc.choices, pad_id, batch_size)
    finally:
        model.train(was_training)
    ll: list[dict[int, float]] = [{} for _ in enc.labels]
    for (i, idx), sc in zip(enc.owners, scored, strict=True):
        for j, (lp, _n) in zip(idx, sc, strict=True):
            ll[i][j] = lp
    total = norm = tok = 0
    for i, label in enumerate(enc.labels):
        lls = np.array([ll[i][j] for j in range(len(ll[i]))])
        total += int(np.argmax(lls)) == label
        norm += int(np.argmax(lls / np.array(enc.lengths[i], dtype=float))) == label
        tok += int(np.argmax(lls / np.array(enc.ntokens[i], dtype=float))) == label
    n = len(enc.labels)
    return {
        "acc": total / n if n else float("nan"),
        "acc_norm": norm / n if n else float("nan"),
        "acc_token": tok / n if n else float("nan"),
        "n": n,
        "seconds": round(time.perf_counter() - start, 3),
    }


def zero_shot_items(names: Sequence[str], limit: int | None) -> list[tuple[str, list]]:
    """(task, its first ``limit`` items) per name: the text, before any model or tokenizer."""
    out = []
    for name in names:
        task = ZEROSHOT.get(name)
        items = task.load(limit)
        if not items:
            raise JunkDNAError(f"zero-shot task {name!r} has no items")
        out.append((task.name, items))
    return out


def load_zero_shot(tokenizer, names: Sequence[str], limit: int | None) -> list[EncodedItems]:
    return [encode_items(tokenizer, t, items) for t, items in zero_shot_items(names, limit)]


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
