"""The one head registry: every head kind says everything about its kind (metric, sampling, model
class, encoding, loss terms, prediction), and an unknown kind gets a did-you-mean error."""

from __future__ import annotations

import pytest
import torch
from test_multiple_choice import mc_task, tiny_mc_bert
from test_transfer_regimes import tiny_model, tiny_task, tiny_tokenizer

import junkdna.recipe
import junkdna.transfer
from junkdna.errors import JunkDNAError
from junkdna.heads import HEADS, Head, get_head
from junkdna.heads.batching import IGNORE, collate, pad_id, scoring
from junkdna.recipe import Recipe
from junkdna.tasks.metrics import METRICS
from junkdna.transfer import data

KINDS = HEADS.names()
TRAINABLE = [k for k in KINDS if HEADS.get(k).can_finetune]  # text-likelihood only evaluates


def test_the_registry_holds_the_six_kinds():
    assert KINDS == [
        "causal-lm", "classification", "multiple-choice", "regression", "seq2seq",
        "text-likelihood",
    ]  # fmt: skip
    assert KINDS[:5] == TRAINABLE  # tests/test_udhr.py runs text-likelihood on a tiny model


@pytest.mark.parametrize("name", KINDS)
def test_every_head_provides_each_piece(name):
    head = get_head(name)
    assert head.name == name and isinstance(head, Head)
    METRICS.get(head.default_metric)  # a known metric
    assert isinstance(head.stratify, bool)
    cls = head.model_class()  # build: a transformers Auto class and its keywords
    assert cls.__name__ == head.auto_class and hasattr(cls, "from_pretrained")
    assert isinstance(head.model_kwargs(3), dict)
    for piece in ("encode", "predict"):  # no head falls back on the base's "cannot"
        assert getattr(type(head), piece) is not getattr(Head, piece), piece
    assert head.supports(finetune=True) == (name in TRAINABLE) and head.supports(finetune=False)


def _model_and_task(name):
    if name == "multiple-choice":
        return tiny_mc_bert(), mc_task(n=8, k=3)
    return tiny_model(name), tiny_task(name, n=8)


@pytest.mark.parametrize("name", TRAINABLE)
def test_encode_loss_terms_and_predict_run_on_a_tiny_model(name):
    head, tok, recipe = get_head(name), tiny_tokenizer(), Recipe(max_new_tokens=2)
    model, task = _model_and_task(name)
    train, _ = data.encode(tok, task, "train", recipe)
    batch = collate(train, pad_id(tok))
    terms = head.loss_terms(batch)
    assert isinstance(terms, int) and terms > 0
    if batch["labels"].ndim == 2:  # token targets: (batch, sequence)
        assert terms <= int((batch["labels"] != IGNORE).sum())
    else:
        assert terms == len(train)  # one term per example
    feats, labels = data.encode(tok, task, "validation", recipe, generation=True)
    with scoring(model, recipe):
        preds = head.predict(model, tokenizer=tok, features=feats, recipe=recipe)
    assert len(preds) == len(feats) == len(head.scoring_labels(labels, task))


def test_generation_heads_compare_stripped_text():
    task = tiny_task("seq2seq", n=8)
    assert get_head("seq2seq").scoring_labels([" yes ", ["a ", " b"]], task) == ["yes", ["a", "b"]]
    assert get_head("classification").scoring_labels([1, 0], task) == [1, 0]


def test_loss_terms_count_examples_or_target_tokens():
    labels = torch.tensor([[IGNORE, 5, 6], [7, IGNORE, IGNORE]])  # (batch, target length)
    assert get_head("seq2seq").loss_terms({"labels": labels}) == 3
    # causal LM: the first position predicts nothing, so token 7 is not a term
    assert get_head("causal-lm").loss_terms({"labels": labels}) == 2
    assert get_head("classification").loss_terms({"labels": torch.tensor([0, 1, 1])}) == 3


def test_unknown_head_did_you_mean():
    with pytest.raises(JunkDNAError, match="unknown head 'clasification'. Did you mean "):
        get_head("clasification")


def test_recipe_home_and_transfer_reexport():
    assert junkdna.transfer.Recipe is junkdna.recipe.Recipe
