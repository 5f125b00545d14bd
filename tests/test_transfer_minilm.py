"""The regimes on the shipped MiniLM for a few steps: invariants bit-exact on a real model."""

from __future__ import annotations

import copy

import pytest
import torch

from junkdna.models import load_model, load_tokenizer
from junkdna.pruning import prune
from junkdna.recipe import Recipe
from junkdna.tasks.base import TaskData
from junkdna.transfer import REGIMES, finetune
from junkdna.transfer import data as tdata
from junkdna.transfer.loop import train

pytestmark = pytest.mark.slow
RECIPE = Recipe(lr=1e-3, max_steps=2, batch_size=4, max_length=24, warmup_ratio=0)


@pytest.fixture(scope="module")
def minilm():
    torch.manual_seed(0)
    return load_model("minilm", head="classification", num_labels=2), load_tokenizer("minilm")


def sentiment_task() -> TaskData:
    from datasets import Dataset

    good = [
        "a wonderful film",
        "I loved every minute",
        "great acting and a fine story",
        "truly delightful",
        "the best meal I have had",
    ]
    bad = [
        "a dreadful film",
        "I hated every minute",
        "poor acting and a dull story",
        "truly awful",
        "the worst meal I have had",
    ]
    rows = [{"text": t, "label": 1} for t in good] + [{"text": t, "label": 0} for t in bad]
    ds = Dataset.from_list(rows)
    return TaskData("sentiment", "classification", ds, ds, ("text",), "label", "accuracy", 2)


def test_sparse_and_frozen_invariants_on_minilm(minilm):
    base, tok = minilm
    task = sentiment_task()
    masks = prune(copy.deepcopy(base), "magnitude", 0.5)

    sparse = copy.deepcopy(base)
    feats, _ = tdata.encode(tok, task, "train", RECIPE)
    opt, _, _ = train(sparse, feats, REGIMES.get("sparse")(sparse, masks), RECIPE, tok.pad_token_id)
    p = dict(sparse.named_parameters())
    for n, keep in masks.items():
        assert bool((p[n][~keep] == 0).all()) and bool((p[n].grad[~keep] == 0).all())
        assert not opt.state[p[n]]["exp_avg"][~keep].any()
        assert not opt.state[p[n]]["exp_avg_sq"][~keep].any()

    frozen = copy.deepcopy(base)
    res = finetune(frozen, tok, task, "frozen", masks, RECIPE)
    p, p0 = dict(frozen.named_parameters()), dict(base.named_parameters())
    moved = 0
    for n, keep in masks.items():
        w, w0 = p[n].detach().view(torch.int32), p0[n].detach().view(torch.int32)
        assert torch.equal(w[~keep], w0[~keep])
        moved += int((w[keep] != w0[keep]).sum())
    assert moved > 0.9 * masks.kept and res.invariants["changed_frozen_weights"] == 0


def test_sparse_to_dense_regrows_on_minilm(minilm):
    base, tok = minilm
    model = copy.deepcopy(base)
    masks = prune(copy.deepcopy(base), "magnitude", 0.5)
    res = finetune(model, tok, sentiment_task(), "sparse-to-dense", masks, RECIPE)
    assert res.invariants["regrown_fraction"] > 0.9  # lr 1e-3, 2 steps: nearly all move off 0
    assert 0.0 <= res.metrics["accuracy"] <= 1.0
