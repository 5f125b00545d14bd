"""The fine-tuning recipe: one validated, frozen config shared by every regime.

The paper's comparison is only fair if the regimes differ in nothing but the regime, so every
knob of the training run lives here, and the resolved recipe is recorded with each result.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from junkdna.errors import JunkDNAError, did_you_mean

# Primary metrics where lower is better; every other metric is maximised by the "best" policy.
LOWER_IS_BETTER = frozenset({"loss", "eval_loss", "perplexity", "mse", "rmse", "mae", "ter"})


class Recipe(BaseModel):
    """AdamW + linear warm-up/decay. ``max_steps`` (optimizer steps) overrides ``epochs``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lr: float = Field(2e-5, gt=0)
    epochs: int = Field(3, ge=1)
    max_steps: int | None = Field(None, ge=1)
    batch_size: int = Field(32, ge=1)
    eval_batch_size: int | None = Field(None, ge=1)
    grad_accum: int = Field(1, ge=1)
    max_length: int = Field(128, ge=2)
    target_max_length: int = Field(64, ge=1)  # seq2seq / causal-LM target tokens
    warmup_ratio: float = Field(0.06, ge=0, le=1)
    weight_decay: float = Field(0.01, ge=0)  # matrices only: never biases or norm scales
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = Field(1e-8, gt=0)
    max_grad_norm: float | None = Field(1.0, gt=0)
    seed: int = 0
    device: str = "cpu"  # cpu, cuda, cuda:1, mps, or "auto" (cuda when available)
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16 = autocast; weights and masks stay fp32
    gradient_checkpointing: bool = False
    # Batches of similar length (less padding): shuffled, then sorted by length within groups of
    # 50 batches, as Hugging Face's group_by_length. On CPU, training time falls with the padding.
    # With fewer examples than one group (1,600 at batch 32) every epoch sees the same batches in
    # the same order (only equal lengths are reshuffled): the seed then varies the head and
    # dropout, hardly the data order.
    group_by_length: bool = False
    eval_each_epoch: bool = False
    select: Literal["last", "best"] = "last"  # which epoch's weights the final metrics use
    max_new_tokens: int = Field(32, ge=1)  # generation heads at evaluation
    num_beams: int = Field(1, ge=1)

    def __init__(self, **data: Any) -> None:
        # Pydantic's own error is accurate but noisy; a JunkDNAError names the key and a fix.
        try:
            super().__init__(**data)
        except ValidationError as e:
            raise _recipe_error(e) from None

    @model_validator(mode="after")
    def _check(self) -> Recipe:
        if self.select == "best" and not self.eval_each_epoch:
            raise ValueError("select='best' needs eval_each_epoch=True (nothing to choose from)")
        b1, b2 = self.adam_betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"adam_betas must lie in [0, 1), got {self.adam_betas}")
        return self

    @property
    def resolved_eval_batch_size(self) -> int:
        return self.eval_batch_size or self.batch_size

    def resolved_device(self) -> str:
        import torch

        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        return cls(**data)


def _recipe_error(e: ValidationError) -> JunkDNAError:
    fields = list(Recipe.model_fields)
    lines = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "recipe"
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown recipe key {loc!r}.{did_you_mean(loc, fields)}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"recipe {loc}: {msg} (got {err.get('input')!r})")
    return JunkDNAError("; ".join(lines))
