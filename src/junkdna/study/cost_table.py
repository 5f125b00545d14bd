"""The cost table behind ``junkdna plan``'s GPU estimate (``junkdna.study.costs``): seconds
per training sequence, per evaluated example and per generated token for each paper model on
one A100-class GPU, and the rows of each task's splits. ESTIMATES, not measurements, except
where a line says measured.

Where the numbers come from (all for bf16 autocast on one A100, 312 TFLOP/s bf16 peak):

* Encoders and mBART training: the usual FLOPs estimate, 6 x N x tokens per trained sequence
  and 2 x N x tokens per evaluated one, with N the parameters a token passes through
  (embeddings are a lookup; mBART's 250k-word output layer is counted on target tokens),
  divided by an achieved 90 TFLOP/s (~30% of peak, what eager PyTorch fine-tuning of BERT-sized
  models with short dynamically padded batches typically reaches). Every sequence is counted at
  ``ref_tokens`` tokens (the authors' setting-1 ``max_length``, 128; GLUE sentences are
  shorter), so these err on the high side.
* mBART decoding: measured, in the authors' Figure 2 logs (VITA-Group/Junk_DNA_Hypothesis at
  1d2b742, ``MMT/multi_lingual/{majority,minority}_pre/*.out``: fairseq-generate, beam 5, batch
  32, fp32, one A100-40GB): the 23 test sets of 2,000 sentences that all ran to the 200-token
  limit took 428-604 s, 1.22 ms per sentence-token on average (1.07-1.50). Used for any beam
  width (greedy decoding is cheaper: errs high).
* Vicuna/LLaMA-7B (evaluated, never fine-tuned here): prefill 2 x 6.7e9 x 512 prompt tokens at
  ~150 TFLOP/s, rounded up to 0.05 s, plus greedy tokens at ~9 ms a step (13.5 GB of bf16
  weights read at ~1.5 TB/s) shared by a batch of 16, rounded up to 1.6 ms a token per example
  for Hugging Face ``generate``'s overhead (0.1 s an example at 32 tokens).
  Pruning: Sun et al. 2023 (Wanda), pruning-time table for LLaMA-7B: SparseGPT ~200 s, Wanda
  < 1 s, both without the calibration passes; we add ~30 s of calibration forward passes (128 x
  2048 tokens) and ~60 s to load the model.
* Task sizes: the rows of the Hugging Face datasets the task registry names (GLUE: Wang et al.
  2018 / ``nyu-mll/glue``; WinoGrande xl, CommonsenseQA and TriviaQA rc: their dataset cards).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

TABLE = "src/junkdna/study/cost_table.py"


@dataclass(frozen=True)
class ModelCost:
    """Seconds on one A100-class GPU. ``train_s``: one training sequence of ``ref_tokens``
    tokens, forward and backward (one example-epoch); ``eval_s``: one evaluated example (for a
    generating model: its prompt and the generated answer); ``load_s``: fixed per run;
    ``prune_s``: one mask, by method. ``decode_s``: one generated token of one example (None:
    ``eval_s`` is the whole evaluation, as for a model that only scores)."""

    train_s: float
    eval_s: float
    load_s: float
    prune_s: Mapping[str, float]
    ref_tokens: int
    source: str
    decode_s: float | None = None


@dataclass(frozen=True)
class TaskSize:
    """Rows of the training split and of the scored split; for a multi-domain task, also per
    domain (``domains``: domain -> (train, scored)), which a language-group level selects."""

    train: int
    validation: int
    source: str
    domains: Mapping[str, tuple[int, int]] | None = None


def _frozen(d: dict) -> Mapping:
    return MappingProxyType(d)


_FLOPS = "6*N*tokens (train) / 2*N*tokens (eval) at 90 TFLOP/s achieved"
_ROBERTA_BASE = ModelCost(
    # N = 85M (12 layers x 12 d^2, d = 768): 6 * 85e6 * 128 / 90e12 = 7.3e-4 s
    train_s=7.3e-4,
    eval_s=2.4e-4,
    load_s=10.0,
    prune_s=_frozen({"magnitude": 10.0}),
    ref_tokens=128,
    source=f"{_FLOPS}; N = 85M non-embedding parameters",
)
_ROBERTA_LARGE = ModelCost(
    # N = 302M (24 layers x 12 d^2, d = 1024): 6 * 302e6 * 128 / 90e12 = 2.6e-3 s
    train_s=2.6e-3,
    eval_s=8.6e-4,
    load_s=15.0,
    prune_s=_frozen({"magnitude": 15.0}),
    ref_tokens=128,
    source=f"{_FLOPS}; N = 302M non-embedding parameters",
)
_MBART = ModelCost(
    # 64 source tokens through the encoder (N = 151M), 64 target tokens through the decoder and
    # the tied 250k x 1024 output layer (N = 201M + 256M): 6 * (151e6 + 457e6) * 64 / 90e12.
    train_s=2.6e-3,
    # The encoder pass of one source sentence; the decoding is decode_s per token.
    eval_s=2.0e-3,
    decode_s=1.22e-3,
    load_s=20.0,
    prune_s=_frozen({"magnitude": 20.0}),
    ref_tokens=128,
    source=f"{_FLOPS}; 64 source + 64 target tokens; decoding 1.22 ms per sentence-token at "
    "beam 5 (measured: the authors' Figure 2 logs, A100-40GB)",
)
_LLAMA_7B = ModelCost(
    # Fine-tuning 7B with AdamW does not fit one 80 GB GPU; the number is for completeness:
    # 6 * 6.5e9 * 512 / 120e12.
    train_s=0.17,
    eval_s=0.05,
    decode_s=1.6e-3,
    load_s=60.0,
    prune_s=_frozen({"magnitude": 90.0, "wanda": 120.0, "sparsegpt": 300.0}),
    ref_tokens=512,
    source="prefill 2*6.7e9*512 at ~150 TFLOP/s + decoded tokens at ~9 ms/step / batch 16; "
    "pruning from Sun et al. 2023 (Wanda) plus calibration passes and loading",
)

# Hub ids (and the spellings the hub redirects) -> cost. The paper's models only.
MODEL_COSTS: Mapping[str, ModelCost] = _frozen(
    {
        "roberta-base": _ROBERTA_BASE,
        "FacebookAI/roberta-base": _ROBERTA_BASE,
        "roberta-large": _ROBERTA_LARGE,
        "FacebookAI/roberta-large": _ROBERTA_LARGE,
        "facebook/mbart-large-cc25": _MBART,
        # mBART-50 (Tang et al. 2020): the same architecture, a 250,054-word vocabulary
        "facebook/mbart-large-50": _MBART,
        "facebook/mbart-large-50-many-to-many-mmt": _MBART,
        "lmsys/vicuna-7b-v1.3": _LLAMA_7B,
        "lmsys/vicuna-7b-v1.5": _LLAMA_7B,
        "huggyllama/llama-7b": _LLAMA_7B,
    }
)

_GLUE = "GLUE (nyu-mll/glue), train / validation rows"
# OPUS-100's train split per language pair (the authors' logs load all of it: 1,000,000 en-ru
# and en-vi, 318,306 en-gu, 24,594 en-my pairs) and its test split, 2,000 pairs each.
_OPUS_TRAIN = {"ru": 1_000_000, "vi": 1_000_000, "gu": 318_306, "my": 24_594}
_OPUS = "Helsinki-NLP/opus-100 train / test pairs (the authors' fairseq logs)"


def _opus_directions(both: bool) -> Mapping[str, tuple[int, int]]:
    pairs = {}
    for xx, n in _OPUS_TRAIN.items():
        if both:
            pairs[f"en-{xx}"] = (n, 2_000)
        pairs[f"{xx}-en" if both else xx] = (n, 2_000)
    return _frozen(pairs)


def _mix(domains: Mapping[str, tuple[int, int]], source: str) -> TaskSize:
    return TaskSize(
        sum(t for t, _ in domains.values()), sum(v for _, v in domains.values()), source, domains
    )


TASK_SIZES: Mapping[str, TaskSize] = _frozen(
    {
        "sst2": TaskSize(67_349, 872, _GLUE),
        "cola": TaskSize(8_551, 1_043, _GLUE),
        "qqp": TaskSize(363_846, 40_430, _GLUE),
        "stsb": TaskSize(5_749, 1_500, _GLUE),
        "qnli": TaskSize(104_743, 5_463, _GLUE),
        "rte": TaskSize(2_490, 277, _GLUE),
        "mrpc": TaskSize(3_668, 408, _GLUE),
        "mnli": TaskSize(392_702, 9_815, _GLUE + " (validation_matched)"),
        "winogrande": TaskSize(40_398, 1_267, "allenai/winogrande winogrande_xl"),
        "csqa": TaskSize(9_741, 1_221, "tau/commonsense_qa"),
        "triviaqa": TaskSize(138_384, 17_944, "mandarjoshi/trivia_qa rc"),
        "opus100_en_centric": _mix(_opus_directions(both=True), _OPUS),
        "opus100_mix": _mix(_opus_directions(both=False), _OPUS),
    }
)
