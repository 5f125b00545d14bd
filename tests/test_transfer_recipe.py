"""Recipe validation, optimizer groups, LR schedule, gradient accumulation, eval policies."""

from __future__ import annotations

import pytest
import torch
from test_transfer_regimes import (  # noqa: F401
    FAST,
    params,
    tiny_model,
    tiny_task,
    tiny_tokenizer,
)

from junkdna.errors import JunkDNAError
from junkdna.heads import batching
from junkdna.recipe import Recipe
from junkdna.transfer import REGIMES, finetune
from junkdna.transfer import data as tdata
from junkdna.transfer.loop import build_optimizer, linear_schedule, plan_steps, train


def test_recipe_rejects_unknown_keys_with_suggestion_and_bad_values():
    with pytest.raises(JunkDNAError, match="unknown recipe key 'learning_rate'"):
        Recipe(learning_rate=1e-3)
    with pytest.raises(JunkDNAError, match="Did you mean 'batch_size'"):
        Recipe(batchsize=8)
    with pytest.raises(JunkDNAError, match="recipe lr"):
        Recipe(lr=0)
    with pytest.raises(JunkDNAError, match="recipe precision"):
        Recipe(precision="fp16")
    with pytest.raises(JunkDNAError, match="needs eval_each_epoch"):
        Recipe(select="best")
    r = Recipe(lr="1e-3", max_steps="5")  # CLI strings are converted by the model
    assert (r.lr, r.max_steps) == (1e-3, 5)
    with pytest.raises(Exception, match="frozen"):
        r.lr = 1.0
    assert Recipe.from_dict(r.to_dict()) == r


def test_weight_decay_only_on_matrices():
    model = tiny_model("classification")
    opt = build_optimizer(model, Recipe(weight_decay=0.1))
    decay = {id(p) for g in opt.param_groups if g["weight_decay"] == 0.1 for p in g["params"]}
    for n, p in model.named_parameters():
        no_decay = n.endswith("bias") or "LayerNorm" in n
        assert (id(p) in decay) != no_decay, n
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))


def test_linear_schedule_hand_computed():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = linear_schedule(opt, total=10, warmup=2)
    lrs = []
    for _ in range(10):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0, 0.5, 1.0, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8])
    # 18 examples, batch 4 -> 5 micro-batches -> 3 steps per epoch with accumulation 2
    assert plan_steps(18, Recipe(batch_size=4, grad_accum=2, epochs=2)) == (3, 6, 1)
    assert plan_steps(18, Recipe(batch_size=4, max_steps=4, warmup_ratio=0.5)) == (5, 4, 2)


def test_gradient_accumulation_equals_one_big_batch():
    """Two micro-batches of 4 with accumulation 2 == one batch of 8 (same examples, no dropout)."""
    task, tok = tiny_task("classification"), tiny_tokenizer()

    def one_step(batch_size, accum):
        model = tiny_model("classification")
        recipe = Recipe(
            lr=1e-2,
            max_steps=1,
            batch_size=batch_size,
            grad_accum=accum,
            warmup_ratio=0,
            max_length=16,
        )
        feats, _ = tdata.encode(tok, task, "train", recipe)
        feats = [{**f, "input_ids": f["input_ids"][:6], "attention_mask": [1] * 6} for f in feats]
        bound = REGIMES.get("dense")(model, None)
        train(model, feats, bound, recipe, batching.pad_id(tok))
        return params(model)

    a, b = one_step(8, 1), one_step(4, 2)
    assert all(torch.allclose(a[n], b[n], atol=1e-6) for n in a)
    c = one_step(4, 1)
    assert not all(torch.allclose(a[n], c[n], atol=1e-6) for n in a)


def test_eval_each_epoch_best_and_last_policies():
    task, tok = tiny_task("classification", n=32), tiny_tokenizer()
    base = dict(lr=5e-3, epochs=3, batch_size=8, eval_each_epoch=True, warmup_ratio=0)
    last = finetune(tiny_model("classification"), tok, task, "dense", None, Recipe(**base))
    evals = [h["eval"] for h in last.history if "eval" in h]
    assert len(evals) == 3 and last.metrics == evals[-1]
    best = finetune(
        tiny_model("classification"), tok, task, "dense", None, Recipe(**base, select="best")
    )
    scores = [h["eval"]["accuracy"] for h in best.history if "eval" in h]
    assert best.metrics["accuracy"] == max(scores)


def test_best_policy_restores_the_best_weights(monkeypatch):
    """The weights after finetune are the ones that scored best, not the last epoch's."""
    import junkdna.transfer.api as api

    calls = iter([0.9, 0.1, 0.2])  # epoch 1 is best
    snapshots = []

    def fake_eval(model, *a, **k):
        snapshots.append({n: p.detach().clone() for n, p in model.named_parameters()})
        return api.Evaluation({"accuracy": next(calls)}, None)

    monkeypatch.setattr(api, "evaluate_items", fake_eval)
    model = tiny_model("classification")
    res = finetune(
        model,
        tiny_tokenizer(),
        tiny_task("classification"),
        "dense",
        None,
        FAST.model_copy(
            update={"max_steps": None, "epochs": 3, "eval_each_epoch": True, "select": "best"}
        ),
    )
    assert res.metrics == {"accuracy": 0.9}
    assert all(torch.equal(p, snapshots[0][n]) for n, p in model.named_parameters())
    assert not all(torch.equal(p, snapshots[2][n]) for n, p in model.named_parameters())


def test_bf16_autocast_and_gradient_checkpointing_keep_invariants():
    model = tiny_model("classification")
    from test_transfer_regimes import masks_for

    ms = masks_for(model)
    res = finetune(
        model,
        tiny_tokenizer(),
        tiny_task("classification"),
        "sparse",
        ms,
        FAST.model_copy(update={"precision": "bf16", "gradient_checkpointing": True}),
    )
    assert res.invariants["nonzero_pruned_weights"] == 0
    assert next(model.parameters()).dtype == torch.float32  # autocast: weights stay fp32
    assert getattr(model, "is_activation_checkpointing", None) or model.is_gradient_checkpointing


def test_group_by_length_batches_are_a_permutation_sorted_within_megabatches():
    import random

    rng = random.Random(0)
    n, bs = 1000, 8  # 400 indices per megabatch of 50 batches: 2.5 megabatches
    lengths = [rng.randint(1, 64) for _ in range(n)]
    plain = list(batching.batches(n, bs, torch.Generator().manual_seed(3)))
    grouped = list(batching.batches(n, bs, torch.Generator().manual_seed(3), lengths))
    flat = [i for b in grouped for i in b]
    plain_flat = [i for b in plain for i in b]
    assert sorted(flat) == list(range(n))  # every example once per epoch
    mega = bs * batching.MEGABATCH
    for s in range(0, n, mega):
        chunk = flat[s : s + mega]
        assert [lengths[i] for i in chunk] == sorted((lengths[i] for i in chunk), reverse=True)
        # the same examples as the plain shuffle's megabatch: grouping only reorders inside it
        assert set(chunk) == set(plain_flat[s : s + mega])

    def padded(bs_):
        return sum(len(b) * max(lengths[i] for i in b) for b in bs_)

    assert padded(grouped) < 0.7 * padded(plain)
    # evaluation (no generator) keeps the data order whatever the lengths
    assert list(batching.batches(5, 2, None, [5, 1, 4, 2, 3])) == [[0, 1], [2, 3], [4]]
    mc = {"input_ids": [[1, 2, 3], [1, 2, 3, 4, 5]]}
    assert batching.feature_length(mc) == 5 and batching.feature_length({"input_ids": [7, 8]}) == 2
