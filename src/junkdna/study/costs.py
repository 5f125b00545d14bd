"""GPU time a study would take on one A100-class GPU, from a cost table. An ESTIMATE, not a
measurement: ``junkdna plan`` prints it beside the measured-time estimate (which needs finished
runs) so that a study of the paper's models can be sized before anything runs.

One run costs ``load_s`` (load the weights, tokenize, build the optimizer) plus
``train_s`` x training sequences (examples x epochs, or ``max_steps`` x batch) plus ``eval_s`` x
evaluated sequences. A multiple-choice example is one sequence per choice. One mask costs
``prune_s[method]``, once per mask however many runs share it (the mask cache).

Where the numbers come from (all for bf16 autocast on one A100, 312 TFLOP/s bf16 peak):

* Encoders and mBART: the usual FLOPs estimate, 6 x N x tokens per trained sequence and
  2 x N x tokens per evaluated one, with N the parameters a token passes through (embeddings
  are a lookup; mBART's 250k-word output layer is counted on target tokens), divided by an
  achieved 90 TFLOP/s (~30% of peak, what eager PyTorch fine-tuning of BERT-sized models with
  short dynamically padded batches typically reaches). Every sequence is counted at
  ``ref_tokens`` tokens (the authors' setting-1 ``max_length``, 128; GLUE sentences are
  shorter), so these err on the high side.
* Vicuna/LLaMA-7B (evaluated, never fine-tuned here): prefill 2 x 6.7e9 x 512 prompt tokens at
  ~150 TFLOP/s plus 32 greedy tokens decoded at ~9 ms a step (13.5 GB of bf16 weights read at
  ~1.5 TB/s) shared by a batch of 16, rounded up for Hugging Face ``generate``'s overhead.
  Pruning: Sun et al. 2023 (Wanda), pruning-time table for LLaMA-7B: SparseGPT ~200 s, Wanda
  < 1 s, both without the calibration passes; we add ~30 s of calibration forward passes (128 x
  2048 tokens) and ~60 s to load the model.
* Task sizes: the rows of the Hugging Face datasets the task registry names (GLUE: Wang et al.
  2018 / ``nyu-mll/glue``; WinoGrande xl, CommonsenseQA and TriviaQA rc: their dataset cards).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from junkdna.study.plan import Plan
from junkdna.study.spec import RunSpec
from junkdna.tasks.splits import prefix_size
from junkdna.transfer.regimes import REGIMES

TABLE = "src/junkdna/study/costs.py"


@dataclass(frozen=True)
class ModelCost:
    """Seconds on one A100-class GPU. ``train_s``: one training sequence of ``ref_tokens``
    tokens, forward and backward (one example-epoch); ``eval_s``: one evaluated example (for a
    generating model: its prompt and the generated answer); ``load_s``: fixed per run;
    ``prune_s``: one mask, by method."""

    train_s: float
    eval_s: float
    load_s: float
    prune_s: Mapping[str, float]
    ref_tokens: int
    source: str


@dataclass(frozen=True)
class TaskSize:
    train: int
    validation: int
    source: str


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
    # Greedy decoding of 64 tokens, ~15 ms a step for a batch of 32 -> ~0.03 s a sentence.
    eval_s=3.0e-2,
    load_s=20.0,
    prune_s=_frozen({"magnitude": 20.0}),
    ref_tokens=128,
    source=f"{_FLOPS}; 64 source + 64 target tokens; decoding ~0.5 ms per sentence-token",
)
_LLAMA_7B = ModelCost(
    # Fine-tuning 7B with AdamW does not fit one 80 GB GPU; the number is for completeness:
    # 6 * 6.5e9 * 512 / 120e12.
    train_s=0.17,
    eval_s=0.1,
    load_s=60.0,
    prune_s=_frozen({"magnitude": 90.0, "wanda": 120.0, "sparsegpt": 300.0}),
    ref_tokens=512,
    source="prefill 2*6.7e9*512 at ~150 TFLOP/s + 32 decoded tokens at ~9 ms/step / batch 16; "
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
        "lmsys/vicuna-7b-v1.3": _LLAMA_7B,
        "lmsys/vicuna-7b-v1.5": _LLAMA_7B,
        "huggyllama/llama-7b": _LLAMA_7B,
    }
)

_GLUE = "GLUE (nyu-mll/glue), train / validation rows"
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
        # Per translation direction (4 directions): the pivot join keeps far fewer pairs than
        # OPUS-100's 1M (en-my has 25k pairs); the study's levels cap both sizes anyway.
        "opus100_pivot": TaskSize(20_000, 2_000, "tasks/translation.py opus100_pivot, capped"),
    }
)

# Difficulty settings whose effect on the data this module knows; any other -> unestimated.
_DATA_UNCHANGED = ("human_model_gap", "dense_headroom")


@dataclass
class GpuEstimate:
    seconds: float = 0.0
    runs: int = 0  # runs estimated
    masks: int = 0  # masks estimated
    unestimated: list[str] = field(default_factory=list)  # why, one line per run or mask

    @property
    def hours(self) -> float:
        return self.seconds / 3600

    def describe(self) -> str:
        extra = f"; {len(self.unestimated)} runs/masks without an entry" if self.unestimated else ""
        if not self.runs:
            return f"estimated GPU time: unknown (cost table {TABLE}: no run has an entry{extra})"
        return (
            f"estimated GPU time: {self.hours:.1f} GPU-hours (cost table {TABLE}: {self.runs} "
            f"runs and {self.masks} masks on one A100-class GPU, an estimate from throughput "
            f"and FLOP figures, not a measurement{extra})"
        )


def wants_gpu(run: RunSpec, models: Mapping[str, ModelCost] = MODEL_COSTS) -> bool:
    """A run the GPU estimate covers: it asks for a GPU, or its model is in the table."""
    return (run.resources or {}).get("num_gpus", 0) > 0 or run.model in models


def estimate_gpu(
    plan: Plan,
    models: Mapping[str, ModelCost] = MODEL_COSTS,
    tasks: Mapping[str, TaskSize] = TASK_SIZES,
) -> GpuEstimate | None:
    """The GPU seconds of every planned run that ``wants_gpu``, and of their masks (each mask
    once). None when no run does (a CPU study of the offline models)."""
    runs = [r for r in plan.runs if wants_gpu(r, models)]
    if not runs:
        return None
    est = GpuEstimate()
    masks: dict[str, RunSpec] = {}
    for run in runs:
        seconds, why = run_seconds(run, models, tasks)
        if seconds is None:
            est.unestimated.append(f"{run.describe()}: {why}")
        else:
            est.seconds += seconds
            est.runs += 1
        if run.mask_key is not None:
            masks.setdefault(run.mask_key, run)
    for run in masks.values():
        seconds = mask_seconds(run, models)
        if seconds is None:
            est.unestimated.append(f"mask {run.pruning.describe()} of {run.model}: no entry")
        else:
            est.seconds += seconds
            est.masks += 1
    return est


def mask_seconds(run: RunSpec, models: Mapping[str, ModelCost] = MODEL_COSTS) -> float | None:
    cost = models.get(run.model)
    if cost is None or run.pruning is None:
        return None
    return cost.prune_s.get(run.pruning.method)


def run_seconds(
    run: RunSpec,
    models: Mapping[str, ModelCost] = MODEL_COSTS,
    tasks: Mapping[str, TaskSize] = TASK_SIZES,
) -> tuple[float | None, str]:
    """(seconds, "") for one run, or (None, why not)."""
    cost = models.get(run.model)
    if cost is None:
        return None, f"model {run.model!r} is not in the cost table"
    if run.task.get("file") is not None or run.task_name not in tasks:
        return None, f"task {run.task_name!r} has no size in the cost table"
    size = tasks[run.task_name]
    rows = sizes(run, size)
    if rows is None:
        return None, f"difficulty {run.difficulty['setting']!r} has no cost rule"
    train_rows, eval_rows = rows
    seqs = sequences_per_example(run.task_name)
    recipe = run.recipe
    finetunes = REGIMES.get(run.regime).finetunes
    trained = 0
    evals = 1
    if finetunes:
        if recipe.max_steps is not None:
            trained = recipe.max_steps * recipe.batch_size * recipe.grad_accum
        else:
            trained = recipe.epochs * train_rows
        evals = recipe.epochs if recipe.eval_each_epoch else 1
    seconds = cost.load_s + trained * seqs * cost.train_s + evals * eval_rows * seqs * cost.eval_s
    return seconds, ""


def sizes(run: RunSpec, size: TaskSize) -> tuple[int, int] | None:
    """(training rows, evaluated rows) after the task's budget and the difficulty level."""
    train, evaluated = size.train, size.validation
    if run.task.get("train_examples"):
        train = min(train, int(run.task["train_examples"]))
    if run.task.get("max_validation"):
        evaluated = min(evaluated, int(run.task["max_validation"]))
    diff: dict[str, Any] | None = run.difficulty
    if diff is None or diff["setting"] in _DATA_UNCHANGED:
        return train, evaluated
    params = diff["params"]
    if diff["setting"] == "data_adequacy":
        return prefix_size(params.get("fraction"), params.get("examples"), train), evaluated
    if diff["setting"] == "majority_minority":
        # One level = one language group = its two directions; zero-shot trains on nothing.
        per = params.get(f"{params.get('group', 'majority')}_examples")
        rows = 0 if params.get("mode") == "zero-shot" else min(train, int(per or train))
        shown = min(evaluated, int(params.get("eval_examples") or evaluated))
        return 2 * rows, 2 * shown
    if diff["setting"] == "external_information":
        questions = params.get("questions")
        return train, evaluated if questions is None else min(evaluated, int(questions))
    return None


def sequences_per_example(task: str) -> int:
    """A multiple-choice example is encoded once per choice."""
    from junkdna.tasks.registry import get_spec

    spec = get_spec(task)
    if spec.choices_field is not None and spec.num_labels:
        return int(spec.num_labels)
    return 1
