"""A head kind says everything junkdna needs to know about one kind of task head, in one place:
its default metric, how data is subsampled, which model to load, how examples become features,
what the loss averages over, how predictions are made and how labels are compared with them.

``HEADS`` is the one registry of head kinds (``get_head`` gives did-you-mean errors). The generic
code (``transfer``: encode / train / evaluate / loss; ``models.load_model``; task specs; study
checks) looks a head up by ``TaskData.head`` and never branches on its name.

Heads import neither ``tasks`` nor ``transfer`` (both build on heads) nor ``models`` (which asks
heads how to build a model), so a ``task`` argument is a duck-typed ``tasks.base.TaskData``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from junkdna.recipe import Recipe
from junkdna.registry import Registry


class Head:
    """One head kind. Subclasses set the class attributes and override ``encode``/``predict``."""

    name: ClassVar[str]
    default_metric: ClassVar[str] = "accuracy"  # a name in junkdna.tasks.metrics.METRICS
    stratify: ClassVar[bool] = False  # data subsampling keeps the label distribution
    # What a label is: "class" (an id < num_labels), "number", "choice" (an index into the row's
    # choices), "text" (a target; a list of accepted answers for QA) or "item" (which item the
    # row belongs to, nothing to predict: text likelihood).
    labels: ClassVar[str] = "class"
    choices: ClassVar[str] = "never"  # a choices field: "never", "optional" or "required"
    # With choices, the one metric the predictions fit (a generating head scores each choice by
    # log-likelihood and predicts pairs); None: any metric of its labels.
    choices_metric: ClassVar[str | None] = None
    auto_class: ClassVar[str]  # the transformers Auto class that loads a model with this head
    # What the head supports: training needs encode(generation=False) and loss_terms, evaluation
    # encode(generation=True) and predict. Every head does both today; the study checks ask.
    can_finetune: ClassVar[bool] = True
    can_evaluate: ClassVar[bool] = True

    def model_class(self) -> type:
        import transformers  # slow to import: only when a model is built

        return getattr(transformers, self.auto_class)

    def model_kwargs(self, num_labels: int | None) -> dict[str, Any]:
        """``from_pretrained`` keywords for a task with ``num_labels`` labels (if it has them)."""
        return {}

    def encode(
        self,
        tokenizer,
        rows: list[list[Any]],
        labels: list[Any],
        recipe: Recipe,
        task,
        generation: bool,
    ) -> list[dict]:
        """Features (see ``heads.batching``), one per row, in row order.

        A row is the task's text fields, then (see ``transfer.data.row_extras``) its choices if
        ``task.choices_field`` is set, then its source/target language codes if
        ``task.lang_fields`` is, then its byte count if ``task.bytes_field`` is (text
        likelihood). ``generation`` = for evaluation: targets are not tokenized."""
        raise NotImplementedError(f"head {self.name!r} cannot encode examples")

    def loss_terms(self, batch: dict[str, torch.Tensor]) -> int:
        """The number of terms the model's loss on ``batch`` averages over (here: examples)."""
        return int(batch["labels"].shape[0])

    def predict(self, model: nn.Module, tokenizer, features: list[dict], recipe: Recipe) -> list:
        """One prediction per feature (``encode(generation=True)``), in the features' order. The
        caller holds ``batching.scoring`` (eval mode, no gradients, autocast)."""
        raise NotImplementedError(f"head {self.name!r} cannot predict")

    def scoring_labels(self, labels: Sequence[Any], task) -> list[Any]:
        """The split's raw labels in the form ``predict``'s output is compared with."""
        return list(labels)

    def supports(self, finetune: bool) -> bool:
        """Whether a regime that fine-tunes (``True``) or only evaluates (``False``) can run."""
        return self.can_finetune if finetune else self.can_evaluate


HEADS: Registry[Head] = Registry("head")


def register(cls: type[Head]) -> type[Head]:
    """Class decorator: one instance of the head kind goes into ``HEADS`` under ``cls.name``."""
    HEADS.add(cls.name, cls())
    return cls


def get_head(name: str) -> Head:
    """The head kind called ``name``; an unknown name gives a did-you-mean error."""
    return HEADS.get(name)


def is_index(y: Any, n: int) -> bool:
    """Whether label ``y`` is an int index into ``n`` classes or choices (a bool is not)."""
    return not isinstance(y, bool) and isinstance(y, int) and 0 <= y < n


def check_choices(choices: Sequence[Sequence[Any]], labels: Sequence[Any]) -> None:
    """Every row has >= 2 choices and its label is an index into them (the row is named)."""
    from junkdna.errors import JunkDNAError

    for i, (c, y) in enumerate(zip(choices, labels, strict=True)):
        if len(c) < 2:
            raise JunkDNAError(f"example {i} has {len(c)} choice(s); multiple choice needs >= 2")
        if not is_index(y, len(c)):
            raise JunkDNAError(
                f"example {i}: label {y!r} is not an index into its {len(c)} choices"
            )
