"""The four regimes on tiny random models: bit-exact invariants, last step, optimizer state."""

from __future__ import annotations

import copy
import random

import pytest
import torch
from conftest import tiny_bert, tiny_llama, tiny_mbart, tiny_t5

from junkdna.errors import InvariantError, JunkDNAError
from junkdna.heads.batching import pad_id
from junkdna.masks import MaskSet
from junkdna.pruning import prune
from junkdna.recipe import Recipe
from junkdna.tasks.base import TaskData
from junkdna.transfer import REGIMES, NonFiniteError, finetune
from junkdna.transfer import data as tdata
from junkdna.transfer.loop import train

WORDS = [f"w{i}" for i in range(60)] + ["good", "bad", "yes", "no"]


def tiny_tokenizer():
    from conftest import word_tokenizer

    return word_tokenizer(WORDS)


def tiny_task(head: str, n: int = 24, seed: int = 0) -> TaskData:
    """Label = whether the sentence says "good" (as a class, a score, or a yes/no target)."""
    from datasets import Dataset

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        pos = rng.random() < 0.5
        words = rng.sample(WORDS[:60], 5) + ["good" if pos else "bad"]
        rng.shuffle(words)
        label = {"classification": int(pos), "regression": float(pos)}.get(
            head, "yes" if pos else "no"
        )
        rows.append({"text": " ".join(words), "label": label})
    metric = {"regression": "pearson_spearman"}.get(head, "accuracy")
    cut = n * 3 // 4
    return TaskData(
        name=f"tiny-{head}",
        head=head,
        train=Dataset.from_list(rows[:cut]),
        validation=Dataset.from_list(rows[cut:]),
        text_fields=("text",),
        label_field="label",
        metric=metric,
        num_labels=2 if head == "classification" else None,
    )


def tiny_model(kind: str):
    return {
        "classification": lambda: tiny_bert(
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
        ),
        "regression": lambda: tiny_bert(num_labels=1, problem_type="regression"),
        "causal-lm": tiny_llama,
        "seq2seq": tiny_mbart,
        "t5": tiny_t5,
    }[kind]()


HEADS = {
    "classification": "classification",
    "regression": "regression",
    "causal-lm": "causal-lm",
    "seq2seq": "seq2seq",
    "t5": "seq2seq",
}
FAST = Recipe(
    lr=1e-2, max_steps=3, batch_size=4, weight_decay=0.1, warmup_ratio=0.0, max_new_tokens=3
)


def masks_for(model, sparsity: float = 0.5) -> MaskSet:
    """Magnitude masks computed on a copy: ``model`` itself stays unpruned."""
    return prune(copy.deepcopy(model), "magnitude", sparsity)


def params(model):
    return dict(model.named_parameters(remove_duplicate=False))


def run_loop(model, task, regime, masks, recipe=FAST):
    """The training loop without evaluation, so the test can inspect the optimizer."""
    tok = tiny_tokenizer()
    features, _ = tdata.encode(tok, task, "train", recipe)
    bound = REGIMES.get(regime)(model, masks)
    opt, history, _ = train(model, features, bound, recipe, pad_id(tok))
    return bound, opt, history


# ----------------------------------------------------------------------------- Sparse


@pytest.mark.parametrize("kind", sorted(HEADS))
def test_sparse_pruned_weights_grads_and_adam_state_exactly_zero(kind):
    model = tiny_model(kind)
    before = {n: p.detach().clone() for n, p in params(model).items()}
    ms = masks_for(model)
    _, opt, history = run_loop(model, tiny_task(HEADS[kind]), "sparse", ms)
    assert len(history) == 3  # max_steps is honoured; the checks below are after the last step
    p = params(model)
    changed_kept = 0
    for n, keep in ms.items():
        w, st = p[n], opt.state[p[n]]
        assert bool((w[~keep] == 0).all()), n
        assert bool((w.grad[~keep] == 0).all()), n
        assert bool((st["exp_avg"][~keep] == 0).all()), n
        assert bool((st["exp_avg_sq"][~keep] == 0).all()), n
        changed_kept += int((w[keep] != before[n][keep]).sum())
    assert changed_kept > 0.5 * ms.kept  # training really happened on the kept weights


def test_without_grad_masking_pruned_weights_would_get_gradients():
    """The oracle for the test above is not vacuous: a dense run gives pruned entries gradients."""
    model = tiny_model("classification")
    ms = masks_for(model)
    ms.apply(model)
    _, opt, _ = run_loop(model, tiny_task("classification"), "dense", None)
    p = params(model)
    assert sum(int(p[n].grad[~k].count_nonzero()) for n, k in ms.items()) > 0
    assert sum(int(opt.state[p[n]]["exp_avg"][~k].count_nonzero()) for n, k in ms.items()) > 0


def test_sparse_guard_reimposes_zeros_after_the_last_step(monkeypatch):
    """With gradient masking disabled, weights leak during every step, the last included;
    only the after-step guard keeps them at 0, so this passes only if it runs after step 3."""
    monkeypatch.setattr(REGIMES.get("sparse"), "before_step", lambda self: None)
    model = tiny_model("classification")
    ms = masks_for(model)
    bound, opt, _ = run_loop(model, tiny_task("classification"), "sparse", ms)
    p = params(model)
    assert all(bool((p[n][~k] == 0).all()) for n, k in ms.items())
    with pytest.raises(InvariantError, match="leaked"):  # but the momentum did leak: caught
        bound.check(opt)


# ----------------------------------------------------------------------------- Frozen


@pytest.mark.parametrize("kind", ["classification", "causal-lm", "seq2seq"])
def test_frozen_weights_bit_identical_while_large_ones_train(kind):
    model = tiny_model(kind)
    original = {n: p.detach().clone() for n, p in params(model).items()}
    ms = masks_for(model, 0.9)  # freeze the 90% smallest, train the 10% largest
    _, opt, _ = run_loop(model, tiny_task(HEADS[kind]), "frozen", ms)
    p = params(model)
    trained = 0
    for n, keep in ms.items():
        frozen_now = p[n].detach()[~keep].view(torch.int32)
        assert torch.equal(frozen_now, original[n][~keep].view(torch.int32)), n
        trained += int((p[n][keep] != original[n][keep]).sum())
    assert trained > 0.5 * ms.kept


def test_frozen_detects_weight_decay_drift_when_restore_is_skipped(monkeypatch):
    """AdamW's decoupled decay moves zero-gradient weights; without the restore the end check
    must fail loudly."""
    monkeypatch.setattr(REGIMES.get("frozen"), "after_step", lambda self: None)
    model = tiny_model("classification")
    with pytest.raises(InvariantError, match="changed"):
        finetune(
            model,
            tiny_tokenizer(),
            tiny_task("classification"),
            "frozen",
            masks_for(model, 0.9),
            FAST,
        )


def test_frozen_stores_only_the_frozen_values():
    model = tiny_model("classification")
    ms = masks_for(model, 0.9)
    bound = REGIMES.get("frozen")(model, ms)
    stored = sum(v.numel() for v in bound.values)
    assert stored == ms.total - ms.kept
    assert all(f.dtype == torch.bool for f in bound.frozen) and not bound.keep  # 1 byte/weight


# ----------------------------------------------------------------------------- Sparse-to-Dense


def test_sparse_to_dense_starts_at_zero_and_regrows():
    model = tiny_model("classification")
    ms = masks_for(model)
    bound = REGIMES.get("sparse-to-dense")(model, ms)
    p = params(model)
    assert all(bool((p[n][~k] == 0).all()) for n, k in ms.items())  # start at 0
    result = finetune(
        model, tiny_tokenizer(), tiny_task("classification"), "sparse-to-dense", ms, FAST
    )
    regrown = sum(int(p[n][~k].count_nonzero()) for n, k in ms.items())
    assert regrown > 0.5 * (ms.total - ms.kept)
    inv = result.invariants
    assert inv["regrown_weights"] == regrown and inv["pruned_weights"] == ms.total - ms.kept
    assert bound.masked_total == inv["pruned_weights"]


# ----------------------------------------------------------------------------- all regimes


@pytest.mark.parametrize("kind", sorted(HEADS))
@pytest.mark.parametrize("regime", ["dense", "sparse", "frozen", "sparse-to-dense"])
def test_finetune_every_regime_every_head(kind, regime):
    model = tiny_model(kind)
    ms = None if regime == "dense" else masks_for(model)
    res = finetune(model, tiny_tokenizer(), tiny_task(HEADS[kind]), regime, ms, FAST)
    assert res.invariants["regime"] == regime and res.invariants["finite_weights"]
    primary = next(iter(res.metrics))
    assert primary in ("accuracy", "pearson")
    assert res.timings["steps"] == 3 and len(res.history) == 3
    assert res.config["recipe"]["max_steps"] == 3 and res.config["regime"] == regime


def test_dense_changes_weights_and_applies_no_mask():
    model = tiny_model("classification")
    before = {n: p.detach().clone() for n, p in params(model).items()}
    res = finetune(model, tiny_tokenizer(), tiny_task("classification"), "dense", None, FAST)
    after = params(model)
    zeros_before = sum(int((w == 0).sum()) for w in before.values())
    assert sum(int((w == 0).sum()) for w in after.values()) <= zeros_before
    assert all(not torch.equal(before[n], after[n]) for n in before if n.endswith("query.weight"))
    assert res.invariants["masked_weights"] == 0


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_metrics_and_weights_different_seed_differs():
    def run(seed):
        model = tiny_model("classification")
        res = finetune(
            model,
            tiny_tokenizer(),
            tiny_task("classification"),
            "sparse",
            masks_for(model),
            FAST.model_copy(update={"seed": seed}),
        )
        return res, {n: p.detach().clone() for n, p in params(model).items()}

    (a, wa), (b, wb), (c, _) = run(0), run(0), run(1)
    assert a.metrics == b.metrics
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert all(torch.equal(wa[n], wb[n]) for n in wa)
    assert [h["loss"] for h in a.history] != [h["loss"] for h in c.history]


# ----------------------------------------------------------------------------- bad input


def test_nan_loss_stops_with_clear_error():
    model = tiny_model("classification")
    with pytest.raises(NonFiniteError, match="loss is (nan|inf)"):
        finetune(
            model,
            tiny_tokenizer(),
            tiny_task("classification"),
            "dense",
            None,
            FAST.model_copy(update={"lr": 1e30, "max_grad_norm": None}),
        )


def test_poisoned_regression_label_stops_the_run():
    task = tiny_task("regression")
    task.train = task.train.map(
        lambda r, i: {"label": float("nan") if i == 0 else r["label"]}, with_indices=True
    )
    with pytest.raises(NonFiniteError):
        finetune(
            tiny_model("regression"),
            tiny_tokenizer(),
            task,
            "dense",
            None,
            FAST.model_copy(update={"batch_size": 32}),
        )


def test_masks_from_another_model_rejected():
    ms = masks_for(tiny_llama())
    with pytest.raises(JunkDNAError, match="do not fit"):
        finetune(
            tiny_model("classification"),
            tiny_tokenizer(),
            tiny_task("classification"),
            "sparse",
            ms,
            FAST,
        )


@pytest.mark.parametrize("regime", ["sparse", "frozen", "sparse-to-dense"])
def test_regime_needing_masks_without_masks(regime):
    with pytest.raises(JunkDNAError, match="needs masks"):
        finetune(
            tiny_model("classification"),
            tiny_tokenizer(),
            tiny_task("classification"),
            regime,
            None,
            FAST,
        )


def test_dense_with_masks_and_unknown_regime_rejected():
    model = tiny_model("classification")
    with pytest.raises(JunkDNAError, match="applies no mask"):
        finetune(
            model, tiny_tokenizer(), tiny_task("classification"), "dense", masks_for(model), FAST
        )
    with pytest.raises(JunkDNAError, match="Did you mean 'sparse'"):
        finetune(model, tiny_tokenizer(), tiny_task("classification"), "sprase", None, FAST)


def test_out_of_range_class_label_rejected():
    task = tiny_task("classification")
    task.num_labels = 1
    with pytest.raises(JunkDNAError, match="ints in 0..0"):
        finetune(tiny_model("classification"), tiny_tokenizer(), task, "dense", None, FAST)
