"""Multiple-choice head (CSQA, WinoGrande as RoBERTa does them): encoding, padding, scoring,
training under the regimes, local files, model loading."""

from __future__ import annotations

import json
import random

import pytest
import torch
from conftest import tiny_bert, tiny_llama
from test_transfer_regimes import FAST, WORDS, masks_for, tiny_tokenizer

from junkdna.errors import JunkDNAError
from junkdna.heads.batching import collate
from junkdna.heads.multiple_choice import choice_texts
from junkdna.recipe import Recipe
from junkdna.tasks.base import TaskData
from junkdna.transfer import data as tdata
from junkdna.transfer import finetune
from junkdna.transfer.evaluate import evaluate
from junkdna.transfer.loss import evaluate_loss


def tiny_mc_bert():
    from transformers import BertForMultipleChoice

    cfg = tiny_bert(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0).config
    torch.manual_seed(0)
    return BertForMultipleChoice(cfg).eval()


def mc_task(n: int = 48, k: int = 3, seed: int = 0, blank: bool = False) -> TaskData:
    """A context of random words; the right choice is the one that says "good"."""
    from datasets import Dataset

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        context = " ".join(rng.sample(WORDS[:60], rng.randint(2, 6)))
        if blank:
            context += " _ w1"
        choices = [" ".join(rng.sample(WORDS[:60], rng.randint(1, 3))) for _ in range(k - 1)]
        y = rng.randrange(k)
        choices.insert(y, "good")
        rows.append({"question": context, "choices": choices, "label": y})
    cut = n * 3 // 4
    return TaskData(
        name="tiny-mc",
        head="multiple-choice",
        train=Dataset.from_list(rows[:cut]),
        validation=Dataset.from_list(rows[cut:]),
        text_fields=("question",),
        label_field="label",
        metric="accuracy",
        num_labels=k,
        choices_field="choices",
    )


def test_choice_texts_fill_the_blank_or_pair_with_the_question():
    assert choice_texts("The cup fell because _ was heavy.", "the ball") == (
        "The cup fell because the ball was heavy.",
    )
    assert choice_texts("Where do fish live?", "water") == ("Where do fish live?", "water")
    # Two blanks are not a fill-in-the-blank sentence: question + choice.
    assert choice_texts("a _ b _", "x") == ("a _ b _", "x")


def test_encoding_one_sequence_per_choice_and_3d_padding():
    tok = tiny_tokenizer()
    task = mc_task(n=8, k=3)
    feats, labels = tdata.encode(tok, task, "train", Recipe(max_length=32))
    rows = task.train
    assert len(feats) == 6 and [f["labels"] for f in feats] == labels
    for f, q, cs in zip(feats, rows["question"], rows["choices"], strict=True):
        assert len(f["input_ids"]) == 3
        for ids, c in zip(f["input_ids"], cs, strict=True):
            assert ids == tok(q, c)["input_ids"]  # question [EOS] choice [EOS]
    batch = collate(feats[:4], pad_id=0)
    longest = max(len(s) for f in feats[:4] for s in f["input_ids"])
    assert batch["input_ids"].shape == (4, 3, longest)
    assert batch["labels"].tolist() == labels[:4]
    for i, f in enumerate(feats[:4]):
        for j, ids in enumerate(f["input_ids"]):
            assert batch["input_ids"][i, j, : len(ids)].tolist() == ids
            assert batch["input_ids"][i, j, len(ids) :].eq(0).all()
            assert batch["attention_mask"][i, j].sum() == len(ids)
    blank = tdata.encode(tok, mc_task(n=4, blank=True), "train", Recipe())[0]
    assert tok.convert_ids_to_tokens(blank[0]["input_ids"][0]).count("[EOS]") == 1  # one segment
    # one context without a blank: the whole split uses question + choice (two segments)
    mixed = mc_task(n=4, blank=True)
    rows = mixed.train.to_list()
    rows[0]["question"] = rows[0]["question"].replace(" _", "")
    from datasets import Dataset

    mixed = TaskData(**{**mixed.__dict__, "train": Dataset.from_list(rows)})
    both = tdata.encode(tok, mixed, "train", Recipe())[0]
    assert all(tok.convert_ids_to_tokens(f["input_ids"][0]).count("[EOS]") == 2 for f in both)


def test_bad_choices_and_labels_are_named():
    from datasets import Dataset

    tok = tiny_tokenizer()
    task = mc_task(n=8)
    ragged = task.train.to_list()
    ragged[1]["choices"] = ragged[1]["choices"][:2]
    bad = TaskData(**{**task.__dict__, "train": Dataset.from_list(ragged)})
    with pytest.raises(JunkDNAError, match=r"same length in 'choices'; found lengths \[2, 3\]"):
        tdata.encode(tok, bad, "train", Recipe())
    out_of_range = task.train.to_list()
    out_of_range[0]["label"] = 3
    bad = TaskData(**{**task.__dict__, "train": Dataset.from_list(out_of_range)})
    with pytest.raises(JunkDNAError, match=r"choice indices in 0\.\.2, got 3"):
        tdata.encode(tok, bad, "train", Recipe())


def test_batched_scoring_equals_one_example_at_a_time():
    """Padding to the batch's longest choice must not change any choice's score."""
    model, tok, task = tiny_mc_bert(), tiny_tokenizer(), mc_task(n=40, k=4)
    feats, labels = tdata.encode(tok, task, "validation", Recipe())
    with torch.no_grad():
        alone = []
        for f in feats:
            b = collate([f], pad_id=0)
            b.pop("labels")
            alone.append(int(model(**b).logits.argmax(-1)))
    expected = sum(p == y for p, y in zip(alone, labels, strict=True)) / len(labels)
    assert evaluate(model, tok, task, Recipe(eval_batch_size=4))["accuracy"] == pytest.approx(
        expected
    )


def test_multiple_choice_learns_and_the_loss_is_per_question():
    model, tok, task = tiny_mc_bert(), tiny_tokenizer(), mc_task(n=96, k=3)
    recipe = Recipe(lr=3e-3, epochs=12, batch_size=8, warmup_ratio=0.0, weight_decay=0.0)
    before = evaluate_loss(model, tok, task, recipe)
    res = finetune(model, tok, task, "dense", None, recipe)
    assert res.metrics["accuracy"] >= 0.9  # 24 validation questions, chance 1/3
    assert evaluate_loss(model, tok, task, recipe) < before


@pytest.mark.parametrize("regime", ["sparse", "frozen"])
def test_regime_invariants_hold_with_a_multiple_choice_head(regime):
    model = tiny_mc_bert()
    ms = masks_for(model)
    pre = {n: p.detach().clone() for n, p in model.named_parameters()}
    res = finetune(model, tiny_tokenizer(), mc_task(), regime, ms, FAST)
    assert res.invariants["regime"] == regime and res.timings["steps"] == 3
    for name, keep in ms.items():
        w = dict(model.named_parameters())[name].detach()
        if regime == "sparse":
            assert w[~keep].eq(0).all()
        else:
            assert torch.equal(w[~keep], pre[name][~keep])  # bit-identical pre-trained values


def test_local_jsonl_multiple_choice_labels_by_index_or_text(tmp_path):
    from junkdna.tasks.local import load_local_task

    rows = [
        {"q": f"q{i}", "opts": ["a", "b", "c"], "answer": ["b", 2, "0"][i % 3]} for i in range(9)
    ]
    f = tmp_path / "mc.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    t = load_local_task(
        f, text_fields=("q",), label_field="answer", head="multiple-choice", choices_field="opts"
    )
    got = dict(
        zip(
            list(t.train["q"]) + list(t.validation["q"]),
            list(t.train["answer"]) + list(t.validation["answer"]),
            strict=True,
        )
    )
    assert got == {f"q{i}": [1, 2, 0][i % 3] for i in range(9)}
    assert t.num_labels == 3 and t.choices_field == "opts" and t.metric == "accuracy"
    rows[4]["answer"] = "z"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(JunkDNAError, match=r"row \d+: label 'z' is neither a choice index"):
        load_local_task(f, ("q",), "answer", head="multiple-choice", choices_field="opts")
    # numeric choices: a string label is the choice's text, an int is an index
    num = [{"q": f"n{i}", "opts": ["1", "2", "3"], "answer": ["2", 2][i % 2]} for i in range(6)]
    f.write_text("".join(json.dumps(r) + "\n" for r in num))
    t = load_local_task(f, ("q",), "answer", head="multiple-choice", choices_field="opts")
    got = dict(zip(list(t.train["q"]) + list(t.validation["q"]),
                   list(t.train["answer"]) + list(t.validation["answer"]), strict=True))  # fmt: skip
    assert got == {f"n{i}": [1, 2][i % 2] for i in range(6)}
    rows[4] = {"q": "x", "opts": "a|b", "answer": 0}
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(JunkDNAError, match="must be a list of at least 2 choices"):
        load_local_task(f, ("q",), "answer", head="multiple-choice", choices_field="opts")


def test_load_model_multiple_choice_head_and_a_clear_error_for_decoders(tmp_path):
    from junkdna.models import load_model

    tiny_bert().save_pretrained(tmp_path / "bert")
    model = load_model(str(tmp_path / "bert"), head="multiple-choice")
    assert type(model).__name__ == "BertForMultipleChoice"
    tiny_llama().save_pretrained(tmp_path / "llama")
    with pytest.raises(JunkDNAError, match="has no multiple-choice head in transformers"):
        load_model(str(tmp_path / "llama"), head="multiple-choice")


def test_study_check_accepts_the_hub_multiple_choice_tasks():
    from junkdna.study.checks import check_task
    from junkdna.study.config import Task

    for name in ("csqa", "winogrande"):
        check_task(None, Task(name=name), ["dense", "sparse", "none"], "experiment[0]")


def test_a_choice_tasks_baseline_is_chance_not_the_most_frequent_answer(tmp_path):
    """Every run of a choice task records chance, 1/k, as its baseline (here k = 3 and 4)."""
    import json

    from junkdna.recipe import Recipe
    from junkdna.study.run import load_run_task
    from junkdna.study.spec import RunSpec

    rows = [{"q": f"q{i}", "choices": ["a", "b", "c"] + (["d"] if i % 2 else []), "label": 0}
            for i in range(20)]  # fmt: skip
    data = tmp_path / "mc.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = {"name": "mc", "file": str(data), "text_fields": ["q"], "head": "multiple-choice",
            "choices_field": "choices"}  # fmt: skip
    loaded = load_run_task(RunSpec("m", task, "dense", Recipe()))
    ks = [len(c) for c in loaded.validation["choices"]]
    assert loaded.info["chance"] == pytest.approx(sum(1 / k for k in ks) / len(ks))
    assert 1 / 4 <= loaded.info["chance"] <= 1 / 3
