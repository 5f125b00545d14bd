"""Setting 3, external information: the same questions with the evidence in the prompt (open
book) or without it (closed book)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from junkdna.difficulty.base import NO_FACTS, Difficulty, RunFacts, register
from junkdna.errors import JunkDNAError
from junkdna.tasks.base import TaskData

QA_SAMPLE_SEED = 0  # fixed: every run, mode and seed of a study scores the same questions


@register
@dataclass(frozen=True)
class ExternalInformation(Difficulty):
    """Setting 3: the same questions with the evidence in the prompt (open book, cut to the first
    ``evidence_words`` words) or without it (closed book).

    The budget is in words, not model tokens, so every model sees the same evidence. Works on any
    task with ``question`` and ``evidence`` fields (tasks/qa.py); the task's text becomes one
    ``prompt`` field. ``questions`` keeps a fixed sample of that many validation questions (the
    same in both modes and for every run seed), for sweeps that cannot afford all of them.
    ``pool = "held-out"`` scores the task's training and test questions instead of its validation
    questions (evaluation only: nothing is fine-tuned on them), so a confirmatory study can use
    questions that no earlier study on the validation split has scored.
    """

    name: ClassVar[str] = "external_information"
    setting: ClassVar[int] = 3
    description: ClassVar[str] = "QA with the evidence in the prompt (open book) or without it"
    measure_label: ClassVar[str] = "closed-book (1) vs open-book (0)"
    label_param: ClassVar[str | None] = "mode"
    BOOK: ClassVar[dict[str, float]] = {"open-book": 0.0, "closed-book": 1.0}  # without = harder
    mode: str = "open-book"
    evidence_words: int = 128
    questions: int | None = None
    pool: str = "validation"

    POOLS: ClassVar[tuple[str, ...]] = ("validation", "held-out")

    def __post_init__(self):
        from junkdna.tasks.qa import PROMPTS

        PROMPTS.get(self.mode)  # unknown mode -> did-you-mean error
        if int(self.evidence_words) != self.evidence_words or self.evidence_words < 1:
            raise JunkDNAError(
                f"external_information: evidence_words must be a positive integer, "
                f"got {self.evidence_words}"
            )
        if self.questions is not None and self.questions < 1:
            raise JunkDNAError(
                f"external_information: questions must be >= 1, got {self.questions}"
            )
        if self.pool not in self.POOLS:
            raise JunkDNAError(
                f"external_information: pool must be one of {', '.join(self.POOLS)}, "
                f"got {self.pool!r}"
            )

    def params(self) -> dict:
        # The default pool is left out, so the run ids of studies written before it stay.
        out = super().params()
        if out.get("pool") == "validation":
            del out["pool"]
        return out

    def fits_regime(self, finetunes: bool) -> str | None:
        if finetunes and self.pool != "validation":
            return f"pool {self.pool!r} scores the training questions: run it under regime 'none'"
        return None

    def measure(self, facts: RunFacts = NO_FACTS) -> float | None:
        return self.BOOK.get(self.mode)

    def apply(self, task: TaskData, seed: int = 0) -> TaskData:
        from junkdna.tasks.qa import EVIDENCE, PROMPT, QUESTION, build_prompt

        if task.text_fields != (QUESTION, EVIDENCE):
            raise JunkDNAError(
                f"external_information: task {task.name!r} has text fields {task.text_fields}; "
                f"it needs ({QUESTION!r}, {EVIDENCE!r}) (a QA task, e.g. squad_mc or triviaqa)"
            )

        def prompts(ds):
            if ds is None:
                return None
            texts = [
                build_prompt(self.mode, q, e, self.evidence_words)
                for q, e in zip(ds[QUESTION], ds[EVIDENCE], strict=True)
            ]
            return ds.add_column(PROMPT, texts)

        validation = task.validation
        if self.pool == "held-out":
            from datasets import concatenate_datasets

            parts = [ds for ds in (task.train, task.test) if ds is not None and len(ds)]
            if not parts:
                raise JunkDNAError(
                    f"external_information: task {task.name!r} has no training or test "
                    "questions for pool 'held-out'"
                )
            validation = concatenate_datasets(parts)
        if self.questions is not None and self.questions < len(validation):
            import numpy as np

            pick = np.random.default_rng(QA_SAMPLE_SEED).permutation(len(validation))
            validation = validation.select(sorted(pick[: self.questions].tolist()))
        info = {"external_information": {"questions": len(validation), "pool": self.pool}}
        return self.record(
            task,
            seed,
            train=prompts(task.train),
            validation=prompts(validation),
            test=prompts(task.test),
            text_fields=(PROMPT,),
            info=info,
        )
