"""Measured dense scores of the offline tasks, with the recipe and command that measured them.

A task (or a data level) on which the dense model learns nothing proves nothing about pruning, so
every offline task shows its majority-class baseline (computed when the task is prepared, in its
meta.json) next to what dense MiniLM reaches. Numbers here are measured, never guessed; a task
without an entry has not been measured yet.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    task: str
    model: str
    score: float  # primary metric on the validation split
    recipe: str
    command: str
    date: str


MEASURED: dict[tuple[str, str], Measured] = {}


def measured(task: str, model: str = "minilm") -> Measured | None:
    return MEASURED.get((task, model))


# Setting 3, offline QA (squad_mc v2): smollm2-135m without fine-tuning, log-likelihood over 4
# choices (chance 0.25; distractors of the same answer kind from other articles), 200 fixed
# validation questions, evidence cut to 128 words. (v1, distractors from the same passage:
# open 0.385, closed 0.275 - closed book at chance.)
_QA_CMD = "python benchmarks/bench_qa.py --questions 200 --evidence-words 128 --threads 1"
for _mode, _score in (("open-book", 0.895), ("closed-book", 0.62)):
    MEASURED[(f"squad_mc[{_mode}]", "smollm2-135m")] = Measured(
        f"squad_mc[{_mode}]",
        "smollm2-135m",
        _score,
        f"no fine-tuning; ExternalInformation('{_mode}', 128, 200); accuracy by summed log-prob",
        _QA_CMD,
        "2026-11-29",
    )

# Dense MiniLM, fine-tuned (lead's measurements on the 2-core machine, 2026-11-29). The
# quickstart's levels: MultiEmo EN with 200 examples (lr 1e-4, 6 epochs, batch 32, length 32)
# reaches 0.567 / 0.617 (seeds 1 / 2) and with 800 examples (2 epochs) 0.633 / 0.647
# (`junkdna run studies/quickstart.toml`). The entries below are single commands. VitaminC and
# MultiEmo DE/PL do NOT learn at 400 examples: they are recorded so that nobody builds a study
# level on them with that budget.
_FT = (
    "junkdna finetune minilm --task {task} --difficulty data_adequacy:examples={n} "
    "--regime dense --epochs {ep} --lr 1e-4 --batch-size 32 --max-length {len} --out DIR"
)
for _task, _score, _n, _ep, _len in (
    ("multiemo_en", 0.692, 4000, 1, 64),
    ("multiemo_de", 0.370, 400, 3, 32),  # majority 0.370: learns nothing at this budget
    ("multiemo_pl", 0.360, 400, 3, 32),  # majority 0.360: learns nothing at this budget
):
    MEASURED[(_task, "minilm")] = Measured(
        _task,
        "minilm",
        _score,
        f"{_n} training examples, lr 1e-4, {_ep} epoch(s), batch 32, max length {_len}",
        _FT.format(task=_task, n=_n, ep=_ep, len=_len),
        "2026-11-29",
    )
MEASURED[("vitaminc", "minilm")] = Measured(
    "vitaminc",
    "minilm",
    0.430,  # majority 0.489: learns nothing at this budget
    "400 training examples, lr 1e-4, 3 epochs, batch 32, max length 64 (quickstart draft)",
    "junkdna run studies/quickstart.toml (draft with an across-tasks experiment)",
    "2026-11-29",
)
