"""Task metrics, each returning a dict whose first key is the primary metric.

Conventions follow GLUE: Matthews correlation for CoLA, F1 (positive class 1) and accuracy for
QQP/MRPC, Pearson and Spearman for STS-B, accuracy elsewhere. Values are fractions (0..1, or
-1..1 for correlations), not percentages. An undefined value (no examples, constant predictions
for a correlation) is NaN, never a silent 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from junkdna.errors import JunkDNAError
from junkdna.registry import Registry

Metric = Callable[[np.ndarray, np.ndarray], dict[str, float]]
METRICS: Registry[Metric] = Registry("metric")
NAN = float("nan")


@METRICS.register("accuracy")
def accuracy(preds: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    preds, labels = np.asarray(preds), np.asarray(labels)
    return {"accuracy": float((preds == labels).mean()) if len(labels) else NAN}


@METRICS.register("matthews")
def matthews(preds: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import matthews_corrcoef

    if not len(labels):
        return {"matthews": NAN, "accuracy": NAN}
    # sklearn returns 0.0 when a row or column of the confusion matrix is empty (constant
    # predictions): that is the GLUE convention too, so we keep it.
    return {"matthews": float(matthews_corrcoef(labels, preds)), **accuracy(preds, labels)}


@METRICS.register("f1_accuracy")
def f1_accuracy(preds: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score

    if not len(labels):
        return {"f1": NAN, "accuracy": NAN}
    return {
        "f1": float(f1_score(labels, preds, pos_label=1, average="binary", zero_division=0.0)),
        **accuracy(preds, labels),
    }


@METRICS.register("pearson_spearman")
def pearson_spearman(preds: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    preds, labels = np.asarray(preds, dtype=float), np.asarray(labels, dtype=float)
    if len(labels) < 2 or np.ptp(preds) == 0 or np.ptp(labels) == 0:
        return {"pearson": NAN, "spearman": NAN}  # correlation undefined
    return {
        "pearson": float(pearsonr(preds, labels)[0]),
        "spearman": float(spearmanr(preds, labels)[0]),
    }


_NUMBER = re.compile(r"-?\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?|-?\.\d+")


def parse_number(text) -> float | None:
    """The last number in a generated answer ("... so the answer is 1,250." -> 1250.0)."""
    if isinstance(text, int | float | np.number):
        return float(text)
    found = _NUMBER.findall(str(text))
    if not found:
        return None
    try:
        return float(found[-1].replace(",", "").rstrip("."))
    except ValueError:
        return None


@METRICS.register("numeric_match")
def numeric_match(preds: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Arithmetic word problems: the last number in the answer equals the gold number (1e-4 rel)."""
    if not len(labels):
        return {"numeric_match": NAN}
    hits = 0
    for p, g in zip(preds, labels, strict=True):
        pv, gv = parse_number(p), parse_number(g)
        hits += (
            pv is not None and gv is not None and math.isclose(pv, gv, rel_tol=1e-4, abs_tol=1e-6)
        )
    return {"numeric_match": hits / len(labels)}


def compute(name: str, preds, labels) -> dict[str, float]:
    preds, labels = _as_array(preds), _as_array(labels)
    if preds.shape[0] != labels.shape[0]:
        raise JunkDNAError(f"metric {name}: {len(preds)} predictions for {len(labels)} labels")
    return METRICS.get(name)(preds, labels)


def primary(name: str, scores: dict[str, float]) -> float:
    """The primary value of a metric's result (its first key)."""
    return next(iter(scores.values()))


# ----------------------------------------------------------------------------- question answering
# SQuAD v1.1's official normalization: lower case, drop punctuation, drop the articles a/an/the,
# collapse whitespace. Gold labels may be one answer or a list of accepted answers (aliases); a
# prediction is scored against its best-matching gold answer, as the official script does.
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in str(text).lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _golds(label) -> list[str]:
    if isinstance(label, str):
        return [label]
    golds = [str(g) for g in label]
    if not golds:
        raise JunkDNAError("a QA example has an empty list of gold answers")
    return golds


def exact_match_score(pred: str, gold: str) -> float:
    return float(normalize_answer(pred) == normalize_answer(gold))


def f1_score(pred: str, gold: str) -> float:
    """Token-overlap F1 of the normalized strings (bag of tokens, counts clipped)."""
    from collections import Counter

    p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)  # both empty: 1, one empty: 0 (the official script's rule)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def containment_score(pred: str, gold: str) -> float:
    """The paper's lenient TriviaQA match: the normalized gold occurs in the normalized output
    (on token boundaries, so "1" is not found inside "1990")."""
    g = normalize_answer(gold)
    return float(bool(g) and f" {g} " in f" {normalize_answer(pred)} ")


def _qa_scores(preds, labels) -> dict[str, float]:
    if not len(labels):
        return {"exact_match": NAN, "f1": NAN, "containment": NAN}
    totals = {"exact_match": 0.0, "f1": 0.0, "containment": 0.0}
    fns = {"exact_match": exact_match_score, "f1": f1_score, "containment": containment_score}
    for pred, label in zip(preds, labels, strict=True):
        golds = _golds(label)
        for key, fn in fns.items():
            totals[key] += max(fn(str(pred), g) for g in golds)
    return {k: v / len(labels) for k, v in totals.items()}


@METRICS.register("squad")
def squad(preds, labels) -> dict[str, float]:
    """SQuAD-style: exact match (primary), token F1, and containment."""
    return _qa_scores(preds, labels)


@METRICS.register("qa_containment")
def qa_containment(preds, labels) -> dict[str, float]:
    """TriviaQA as the paper scored it: containment (primary), plus exact match and F1."""
    s = _qa_scores(preds, labels)
    return {"containment": s["containment"], "exact_match": s["exact_match"], "f1": s["f1"]}


@METRICS.register("choice_accuracy")
def choice_accuracy(preds, labels) -> dict[str, float]:
    """Multiple choice scored by log-likelihood. ``preds`` is (n, 2): the choice with the highest
    summed log-probability, and the one with the highest per-token mean (length-normalized).
    A 1-D ``preds`` is one prediction per row (both keys then agree)."""
    preds, labels = np.asarray(preds), np.asarray(labels)
    if preds.ndim == 1:
        preds = np.stack([preds, preds], axis=1)
    return {
        "accuracy": accuracy(preds[:, 0], labels)["accuracy"],
        "accuracy_norm": accuracy(preds[:, 1], labels)["accuracy"],
    }


@METRICS.register("sacrebleu")
def sacrebleu_corpus(preds, labels) -> dict[str, float]:
    """Corpus BLEU with SacreBLEU's defaults (13a tokenization, exp smoothing), one reference per
    sentence. Reported on SacreBLEU's 0-100 scale (the convention every MT paper uses)."""
    import sacrebleu

    if not len(labels):
        return {"bleu": NAN, "chrf": NAN}
    hyps, refs = [str(p) for p in preds], [[str(r) for r in labels]]
    return {
        "bleu": float(sacrebleu.corpus_bleu(hyps, refs).score),
        "chrf": float(sacrebleu.corpus_chrf(hyps, refs).score),
    }


# ----------------------------------------------------------------------------- language modelling
LN2 = math.log(2.0)
LM_KEYS = ("byte_probability", "bits_per_ref_byte", "bits_per_byte", "bits_per_byte_pooled",
           "bytes_per_token")  # fmt: skip


def _text_losses(preds) -> tuple[np.ndarray, ...]:
    """(NLL in nats, UTF-8 bytes, tokens, reference bytes) per text, from ``preds`` of shape
    (n, 4); (n, 3) has no reference: the text's own bytes stand in."""
    preds = np.asarray(preds, dtype=np.float64)
    if preds.ndim != 2 or preds.shape[1] not in (3, 4):
        raise JunkDNAError(
            f"metric bits_per_byte: predictions of shape {preds.shape}; it needs one row per "
            "text of (NLL in nats, UTF-8 bytes, tokens[, reference bytes]), as the "
            "text-likelihood head gives"
        )
    nll, nbytes, tokens = preds[:, 0], preds[:, 1], preds[:, 2]
    ref = preds[:, 3] if preds.shape[1] == 4 else nbytes
    if (nbytes <= 0).any() or (tokens <= 0).any() or (ref <= 0).any():
        raise JunkDNAError("metric bits_per_byte: a text of 0 bytes or 0 tokens has no loss")
    return nll, nbytes, tokens, ref


def _byte_probability(preds, labels=None) -> np.ndarray:
    """2^-b per text, b its bits per reference byte: the geometric-mean probability per byte."""
    nll, _, _, ref = _text_losses(preds)
    return np.exp(-nll / ref)


@METRICS.register("bits_per_byte")
def bits_per_byte(preds, labels) -> dict[str, float]:
    """Language modelling of texts, comparable across tokenizers and scripts. ``preds`` is
    (n, 4): per text its summed negative log-likelihood in nats (every token predicted), UTF-8
    bytes, tokens and reference bytes (``heads.text_likelihood``). Per-token loss is not
    comparable across languages: a byte-level BPE cuts Gujarati into a token per byte and
    English into a token per 5. Per UTF-8 byte is not either, across scripts: a Gujarati or
    Burmese character is 3 bytes, two of them nearly certain, so the same content costs fewer
    bits per byte there. For parallel text the reference is the same item's bytes in one
    reference language, so that b = NLL / (reference bytes ln 2) is the bits the model spends
    on the same content, per byte of the reference (as Cotterell et al. 2018 and Mielke et al.
    2019 compare languages by the surprisal of the same content); without a reference it is
    the text's own bits per byte.

    Primary (higher is better, so that pruned / dense is a normalized score): byte_probability,
    the mean over texts of 2^-b, the geometric-mean probability per (reference) byte. Pruned /
    dense of one text is 2^-(b_pruned - b_dense), a likelihood ratio: it depends on the bits
    lost, not on where the dense model started (a ratio of bits per byte would favour the text
    with the higher dense loss). Also: bits_per_ref_byte (mean b), bits_per_byte (mean of the
    texts' own bits per UTF-8 byte), bits_per_byte_pooled (all bits / all own bytes) and
    bytes_per_token (the tokenizer's fertility on these texts)."""
    if not len(labels):
        return dict.fromkeys(LM_KEYS, NAN)
    nll, nbytes, tokens, ref = _text_losses(preds)
    return dict(
        zip(
            LM_KEYS,
            (
                float(np.exp(-nll / ref).mean()),
                float((nll / (ref * LN2)).mean()),
                float((nll / (nbytes * LN2)).mean()),
                float(nll.sum() / (nbytes.sum() * LN2)),
                float(nbytes.sum() / tokens.sum()),
            ),
            strict=True,
        )
    )


def _as_array(values) -> np.ndarray:
    """Like ``np.asarray``, but lists of answers (ragged, or of strings) become a 1-D object
    array with one list per example."""
    if isinstance(values, np.ndarray):
        return values
    values = list(values)
    nested = bool(values) and isinstance(values[0], list | tuple)
    if nested and (
        len({len(v) for v in values}) > 1 or any(isinstance(x, str) for v in values for x in v)
    ):
        out = np.empty(len(values), dtype=object)
        out[:] = [list(v) for v in values]
        return out
    return np.asarray(values)


# ----------------------------------------------------------------------------- item outcomes
# One number per evaluated item whose mean is an item-level metric, so that a test can treat the
# item as its unit (evaluation-only settings such as open vs closed book). A metric that is not
# a mean over items (Matthews, F1, correlations, corpus BLEU) is represented by the item-level
# metric named here (accuracy; sentence chrF for translation); regression has none.
def _correct(preds, labels) -> np.ndarray:
    preds, labels = np.asarray(preds), np.asarray(labels)
    if preds.ndim == 2:  # choice_accuracy: (summed, length-normalized); the first is primary
        preds = preds[:, 0]
    return (preds == labels).astype(np.float32)


def _qa_items(fn):
    def items(preds, labels) -> np.ndarray:
        return np.array(
            [
                max(fn(str(p), g) for g in _golds(label))
                for p, label in zip(preds, labels, strict=True)
            ],
            dtype=np.float32,
        )

    return items


def _numeric_items(preds, labels) -> np.ndarray:
    return np.array(
        [numeric_match([p], [g])["numeric_match"] for p, g in zip(preds, labels, strict=True)],
        dtype=np.float32,
    )


def _chrf_items(preds, labels) -> np.ndarray:
    import sacrebleu

    return np.array(
        [
            sacrebleu.sentence_chrf(str(p), [str(r)]).score
            for p, r in zip(preds, labels, strict=True)
        ],
        dtype=np.float32,
    )


ITEM_METRICS = {  # task metric -> (item-level metric, per-item outcomes)
    "accuracy": ("accuracy", _correct),
    "matthews": ("accuracy", _correct),
    "f1_accuracy": ("accuracy", _correct),
    "choice_accuracy": ("accuracy", _correct),
    "numeric_match": ("numeric_match", _numeric_items),
    "squad": ("exact_match", _qa_items(exact_match_score)),
    "qa_containment": ("containment", _qa_items(containment_score)),
    "sacrebleu": ("chrf_sentence", _chrf_items),
    "bits_per_byte": ("byte_probability", _byte_probability),
}
# Metrics whose rows with one label are ONE item: parallel text, where the label is the item
# (an article) and its rows are the item in several languages. The item's outcome is the mean
# over its rows, keyed by the label alone, so that two levels with other languages (majority
# vs minority) pair article by article.
BY_LABEL = frozenset({"bits_per_byte"})


@dataclass(frozen=True)
class ItemOutcomes:
    """Per-item outcomes of one evaluation: ``values[i]`` for item ``keys[i]``.

    ``keys`` identify items across runs: a hash of the item's position in the evaluated split and
    its gold label, so that two runs scored the same questions in the same order (open and closed
    book, the dense and the pruned model) carry the same keys, and runs on different items do not.
    For a metric in ``BY_LABEL`` (parallel text) an item is a label: the hash of the label alone.
    """

    metric: str
    keys: np.ndarray  # uint64
    values: np.ndarray  # float32; mean = the item-level metric

    def __post_init__(self):
        if len(self.keys) != len(self.values):
            raise JunkDNAError(f"{len(self.keys)} item keys for {len(self.values)} outcomes")

    def __len__(self) -> int:
        return len(self.values)

    def to_bytes(self) -> tuple[bytes, bytes]:
        return (np.asarray(self.keys, "<u8").tobytes(), np.asarray(self.values, "<f4").tobytes())

    @classmethod
    def from_bytes(cls, metric: str, keys: bytes, values: bytes) -> ItemOutcomes:
        return cls(metric, np.frombuffer(keys, "<u8").copy(), np.frombuffer(values, "<f4").copy())


def item_keys(labels) -> np.ndarray:
    import hashlib

    out = np.empty(len(labels), dtype=np.uint64)
    for i, label in enumerate(labels):
        if isinstance(label, np.ndarray):
            label = label.tolist()
        digest = hashlib.blake2b(f"{i}\x1f{label!r}".encode(), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "little")
    return out


def item_outcomes(name: str, preds, labels) -> ItemOutcomes | None:
    """The items of one evaluation under metric ``name`` (None for a metric without an item-level
    form, e.g. regression's correlations)."""
    if name not in ITEM_METRICS:
        return None
    item_metric, fn = ITEM_METRICS[name]
    preds, labels = _as_array(preds), _as_array(labels)
    values = fn(preds, labels)
    if name in BY_LABEL:
        return _by_label(item_metric, labels, values)
    return ItemOutcomes(item_metric, item_keys(labels), values)


def _by_label(metric: str, labels: np.ndarray, values: np.ndarray) -> ItemOutcomes:
    """One item per distinct label (sorted), its outcome the mean of its rows' values."""
    import hashlib

    ids = sorted(set(labels.tolist()))
    index = {y: i for i, y in enumerate(ids)}
    where = np.array([index[y] for y in labels.tolist()], dtype=np.int64)
    sums = np.bincount(where, weights=np.asarray(values, dtype=np.float64), minlength=len(ids))
    means = sums / np.bincount(where, minlength=len(ids))
    keys = np.array(
        [
            int.from_bytes(hashlib.blake2b(f"item\x1f{y!r}".encode(), digest_size=8).digest(),
                           "little")
            for y in ids
        ],
        dtype=np.uint64,
    )  # fmt: skip
    return ItemOutcomes(metric, keys, means.astype(np.float32))


ITEM_COLUMNS = ["run_id", "item", "key", "metric", "outcome"]


def items_to_frame(items):
    """{run id: ItemOutcomes} -> a long table (ITEM_COLUMNS), one row per run and item; keys
    as decimal strings (CSV readers would round a uint64)."""
    import pandas as pd

    parts = [
        pd.DataFrame(
            {
                "run_id": run_id,
                "item": np.arange(len(res)),
                "key": [str(int(k)) for k in res.keys],
                "metric": res.metric,
                "outcome": res.values.astype(float),
            }
        )
        for run_id, res in sorted(items.items())
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ITEM_COLUMNS)


def items_from_frame(df, source: str = "items table") -> dict[str, ItemOutcomes]:
    """The inverse of ``items_to_frame`` (rows of a run in ``item`` order)."""
    missing = [c for c in ITEM_COLUMNS if c not in df.columns]
    if missing:
        raise JunkDNAError(
            f"{source} lacks column(s) {', '.join(missing)}; it needs {', '.join(ITEM_COLUMNS)} "
            "(as `junkdna export --items` writes)"
        )
    out = {}
    for run_id, rows in df.sort_values(["run_id", "item"]).groupby("run_id", sort=True):
        try:
            keys = np.array([int(str(k)) for k in rows["key"]], dtype=np.uint64)
            values = rows["outcome"].to_numpy(dtype=np.float32)
        except (ValueError, OverflowError) as e:
            raise JunkDNAError(
                f"{source}: run {run_id} has an unreadable key or outcome ({e})"
            ) from None
        metrics = set(rows["metric"])
        if len(metrics) != 1 or not np.isfinite(values).all():
            raise JunkDNAError(f"{source}: run {run_id} mixes metrics or has a missing outcome")
        out[str(run_id)] = ItemOutcomes(str(metrics.pop()), keys, values)
    return out
