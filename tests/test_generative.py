"""Causal-LM paths: choice scoring with a shared prompt cache (against full forwards),
perplexity over non-overlapping windows, and fine-tune + evaluate of a tiny LLaMA on choices."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import tiny_llama

from junkdna.errors import JunkDNAError
from junkdna.heads.lm_scoring import choice_logprobs, perplexity, pick
from junkdna.recipe import Recipe
from junkdna.tasks.base import TaskData
from junkdna.transfer import evaluate, finetune

WORDS = [f"w{i}" for i in range(60)] + ["Question:", "Answer:", "red", "blue", "green", "cat"]


def word_tokenizer():
    """Whitespace word-level tokenizer (no special tokens added) over the tiny models' vocab."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[BOS]", "[EOS]", *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="[BOS]",
        eos_token="[EOS]",
    )


def naive_logprob(model, prompt: list[int], choice: list[int]) -> float:
    """One full forward of prompt + choice, no padding, no cache: the oracle."""
    ids = torch.tensor([prompt + choice])
    logp = model(input_ids=ids).logits[0, :-1].log_softmax(-1)  # (T-1, V)
    return sum(float(logp[len(prompt) - 1 + j, t]) for j, t in enumerate(choice))


def test_cached_choice_scores_match_full_forwards():
    model = tiny_llama()
    g = torch.Generator().manual_seed(0)
    prompts = [torch.randint(4, 100, (n,), generator=g).tolist() for n in (3, 9, 1, 6, 12)]
    choices = [
        [torch.randint(4, 100, (k,), generator=g).tolist() for k in ks]
        for ks in ([1, 3], [2, 2, 4], [1, 1, 1], [5, 1], [3, 2, 1, 2])
    ]
    with torch.inference_mode():
        got = choice_logprobs(model, prompts, choices, pad_id=0, batch_size=2)  # mixed lengths
        for p, cs, scores in zip(prompts, choices, got, strict=True):
            assert [n for _, n in scores] == [len(c) for c in cs]
            for c, (s, _) in zip(cs, scores, strict=True):
                assert s == pytest.approx(naive_logprob(model, p, c), abs=1e-4)


def test_pick_sum_and_length_normalized():
    # choice 0: total -3 over 3 tokens (mean -1); choice 1: total -2 over 1 token (mean -2)
    assert pick([(-3.0, 3), (-2.0, 1)]) == [1, 0]
    assert pick([(-1.0, 1), (-1.0, 1)]) == [0, 0]  # ties go to the first


def test_perplexity_windows_match_model_loss():
    model, tok = tiny_llama(), word_tokenizer()
    text = " ".join(f"w{i % 50}" for i in range(23))  # 23 tokens -> windows 8, 8, 7
    got = perplexity(model, tok, [text], window=8, batch_size=2)
    assert got["tokens"] == 7 + 7 + 6  # each window's first token is not predicted
    ids = tok(text, add_special_tokens=False)["input_ids"]
    nll, n = 0.0, 0
    with torch.inference_mode():
        for start in range(0, 23, 8):
            w = torch.tensor([ids[start : start + 8]])
            loss = model(input_ids=w, labels=w).loss  # HF mean NLL over the window
            nll += float(loss) * (w.shape[1] - 1)
            n += w.shape[1] - 1
    assert got["perplexity"] == pytest.approx(math.exp(nll / n), rel=1e-5)
    with pytest.raises(JunkDNAError, match="window"):
        perplexity(model, tok, [text], window=1)


def choice_task(n: int = 12) -> TaskData:
    """Question wK -> answer colour K % 3, as 3-way choices in a rotating order."""
    from datasets import Dataset

    colours = ["red", "blue", "green"]
    rows = []
    for k in range(n):
        order = [colours[(k + j) % 3] for j in range(3)]
        gold = colours[k % 3]
        rows.append(
            {"prompt": f"Question: w{k} Answer:", "choices": order, "label": order.index(gold)}
        )
    ds = Dataset.from_list(rows)
    return TaskData(
        name="colours",
        head="causal-lm",
        train=ds,
        validation=ds,
        text_fields=("prompt",),
        label_field="label",
        metric="choice_accuracy",
        choices_field="choices",
    )


def test_finetune_then_evaluate_choices_on_tiny_llama():
    model, tok, task = tiny_llama(), word_tokenizer(), choice_task()
    recipe = Recipe(lr=3e-3, epochs=30, batch_size=12, max_length=16, warmup_ratio=0.0)
    before = evaluate(model, tok, task, recipe)
    assert set(before) == {"accuracy", "accuracy_norm"}
    result = finetune(model, tok, task, "dense", None, recipe)
    # the training rows are memorised: every question's gold colour now wins
    assert result.metrics["accuracy"] == 1.0 > before["accuracy"]
