"""Setting 2 and the seq2seq path: SacreBLEU, mBART language codes on a tiny local tokenizer,
fine-tune + generate (greedy and beam) with a tiny random mBART, majority/minority groups of
domains (the English-centric task and the levels' measures: test_setting2.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import tiny_bert
from datasets import Dataset

from junkdna.difficulty import MajorityMinority, from_params
from junkdna.errors import JunkDNAError
from junkdna.heads.seq2seq import language_start
from junkdna.recipe import Recipe
from junkdna.tasks import metrics as M
from junkdna.tasks.base import TaskData
from junkdna.tasks.domains import per_domain
from junkdna.tasks.registry import get_spec, list_specs
from junkdna.transfer import evaluate, finetune
from junkdna.transfer.data import encode

WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "dog",
    "ran",
    "fast",
    "big",
    "small",
    "red",
    "house",
    "tree",
]


def test_sacrebleu_matches_sacrebleu_itself():
    import sacrebleu

    # SacreBLEU's README example
    hyps = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
    refs = ["The dog bit the man.", "It was not unexpected.", "The man bit him first."]
    got = M.compute("sacrebleu", hyps, refs)
    assert got["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert got["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert M.compute("sacrebleu", ["a b c d"], ["a b c d"])["bleu"] == pytest.approx(100.0)


def mbart_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import MBartTokenizerFast

    vocab = {w: i for i, w in enumerate(["<s>", "<pad>", "</s>", "<unk>", *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return MBartTokenizerFast(tokenizer_object=tok, src_lang="en_XX", tgt_lang="ru_RU")


def tiny_mbart(vocab: int):
    from transformers import MBartConfig, MBartForConditionalGeneration

    torch.manual_seed(0)
    cfg = MBartConfig(
        vocab_size=vocab,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=64,
        pad_token_id=1,
        eos_token_id=2,
        bos_token_id=0,
        decoder_start_token_id=2,
    )
    return MBartForConditionalGeneration(cfg)


def translation_task() -> TaskData:
    """'Translate' by reversing the words; two language pairs in one task."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(16):
        src = " ".join(rng.choice(WORDS, 5))
        pair = ("ru_RU", "en_XX") if i % 2 else ("vi_VN", "en_XX")
        rows.append(
            {
                "source": src,
                "target": " ".join(src.split()[::-1]),
                "src_lang": pair[0],
                "tgt_lang": pair[1],
            }
        )
    ds = Dataset.from_list(rows)
    return TaskData(
        name="rev",
        head="seq2seq",
        train=ds,
        validation=ds,
        text_fields=("source",),
        label_field="target",
        metric="sacrebleu",
        lang_fields=("src_lang", "tgt_lang"),
    )


def test_language_codes_per_row():
    tok, task = mbart_tokenizer(), translation_task()
    feats, _ = encode(tok, task, "train", Recipe(), generation=False)
    ids = tok.convert_tokens_to_ids
    for f, row in zip(feats, task.train, strict=True):
        # mBART (cc25): source "X </s> src_code", labels "Y </s> tgt_code"
        assert f["input_ids"][-2:] == [tok.eos_token_id, ids(row["src_lang"])]
        assert f["labels"][-2:] == [tok.eos_token_id, ids("en_XX")]
    gen, _ = encode(tok, task, "validation", Recipe(), generation=True)
    assert [f["tgt_lang"] for f in gen] == task.validation["tgt_lang"]
    assert tok.src_lang == "en_XX"  # the tokenizer's own setting is restored
    assert language_start(tok, "ru_RU") == {"decoder_start_token_id": ids("ru_RU")}


def test_mbart_finetune_and_generate_in_target_language():
    tok, task = mbart_tokenizer(), translation_task()
    model = tiny_mbart(len(tok))
    recipe = Recipe(lr=1e-2, epochs=60, batch_size=16, warmup_ratio=0.0, max_new_tokens=6)
    result = finetune(model, tok, task, "dense", None, recipe)
    assert set(result.metrics) == {"bleu", "chrf"}
    before = evaluate(tiny_mbart(len(tok)), tok, task, recipe)
    # the reversal is learnt on the training rows (an untrained model scores ~0)
    assert result.metrics["chrf"] > 60 and result.metrics["bleu"] > 20 > before["bleu"]
    with pytest.raises(JunkDNAError, match="language code"):
        bad = Dataset.from_list([{**task.train[0], "tgt_lang": "xx_YY"}])
        evaluate(model, tok, TaskData(**{**task.__dict__, "validation": bad}), recipe)


def test_beam_search_decodes_as_generate_does_with_the_target_language_forced():
    """Oracle: each row generated alone by Hugging Face with num_beams=5 and the decoder started
    at the target code equals what the head predicts for the batch (Figure 2's beam 5)."""
    from junkdna.heads.seq2seq import Seq2Seq

    tok, task = mbart_tokenizer(), translation_task()
    model = tiny_mbart(len(tok)).eval()
    with torch.no_grad():  # sharper distributions: beam search then finds other sentences
        for w in model.parameters():
            w.mul_(10 if w.dim() > 1 else 1)
    recipe = Recipe(batch_size=16, num_beams=5, max_new_tokens=6)
    greedy_recipe = recipe.model_copy(update={"num_beams": 1})
    calls = []
    real = model.generate

    def spy(*a, **k):
        calls.append({x: k[x] for x in ("num_beams", "max_new_tokens", "do_sample")})
        return real(*a, **k)

    model.generate = spy
    features, _ = encode(tok, task, "validation", recipe, generation=True)
    with torch.no_grad():
        preds = Seq2Seq().predict(model, tok, features, recipe)
        greedy = Seq2Seq().predict(model, tok, features, greedy_recipe)
    assert {c["num_beams"] for c in calls} == {5, 1}
    assert all(c["max_new_tokens"] == 6 and c["do_sample"] is False for c in calls)
    assert sum(b != g for b, g in zip(preds, greedy, strict=True)) >= len(preds) // 2
    start = language_start(tok, "en_XX")
    for row, pred in zip(task.validation, preds, strict=True):
        tok.src_lang = row["src_lang"]
        enc = tok(row["source"], return_tensors="pt")
        with torch.no_grad():
            ids = real(**enc, num_beams=5, max_new_tokens=6, do_sample=False, **start)
        assert pred == tok.batch_decode(ids, skip_special_tokens=True)[0].strip()


def domain_task() -> TaskData:
    rows = [
        {"text": f"{d} {i}", "label": i % 2, "domain": d}
        for d, n in (("en", 40), ("pl", 20), ("ja", 20), ("de", 10))
        for i in range(n)
    ]
    ds = Dataset.from_list(rows)
    return TaskData(
        name="mix",
        head="classification",
        train=ds,
        validation=ds,
        text_fields=("text",),
        label_field="label",
        metric="accuracy",
        num_labels=2,
        domain_field="domain",
    )


def test_majority_minority_one_group_per_level():
    task = domain_task()
    few = dict(majority_examples=30, minority_examples=4, mode="few-shot")
    minor = MajorityMinority(("en",), ("pl", "ja"), **few, group="minority").apply(task, seed=1)
    counts = dict(zip(*np.unique(minor.train["domain"], return_counts=True), strict=True))
    assert counts == {"pl": 4, "ja": 4}  # its own group only; "de" is in neither: dropped
    assert set(minor.validation["domain"]) == {"pl", "ja"}
    assert sorted(np.bincount([r["label"] for r in minor.train if r["domain"] == "pl"])) == [2, 2]
    assert minor.info["majority_minority"]["group_train_rows"] == {"majority": 30, "minority": 8}
    major = MajorityMinority(("en",), ("pl", "ja"), **few, group="majority").apply(task, seed=1)
    assert set(major.train["domain"]) == {"en"} and len(major.train) == 30
    assert set(major.validation["domain"]) == {"en"}
    # a classification level's baseline: its training rows' majority class on its scored rows
    named = dataclasses.replace(task, label_names=("no", "yes"))
    base = MajorityMinority(("en",), ("pl",), 30, 4, "few-shot", "majority").apply(named, 1).info
    assert base["majority_baseline"] == {"validation": 0.5, "validation_rows": 40}
    assert base["majority_label"] in ("no", "yes")
    level = {"majority": ["en"], "minority": ["pl"], "eval_examples": 5}
    default = from_params("majority_minority", level).apply(task)  # all rows, minority group
    assert set(default.train["domain"]) == {"pl"} and len(default.train) == 20
    assert set(default.validation["domain"]) == {"pl"} and len(default.validation) == 5
    assert default.info["difficulty"]["params"]["group"] == "minority"
    # nested: the 4 few-shot rows of a seed lie inside its 8
    eight = MajorityMinority(("en",), ("pl",), 30, 8, "few-shot").apply(task, seed=1)
    pl = lambda t: {r["text"] for r in t.train if r["domain"] == "pl"}  # noqa: E731
    assert pl(minor) <= pl(eight)
    with pytest.raises(JunkDNAError, match="not fine-tuned"):
        MajorityMinority(("en",), ("pl",), minority_examples=3, mode="zero-shot", data="cc25")
    with pytest.raises(JunkDNAError, match="covers the minority language"):
        MajorityMinority(("en",), ("fr",)).apply(task)


def test_per_domain_metrics_hand_computed_and_in_evaluate():
    got = per_domain("accuracy", [1, 0, 1, 1], [1, 1, 1, 0], ["en", "en", "pl", "pl"])
    assert got == {"accuracy/en": 0.5, "accuracy/pl": 0.5}
    from test_transfer_regimes import tiny_tokenizer

    task = domain_task()
    scores = evaluate(tiny_bert(), tiny_tokenizer(), task, Recipe(batch_size=32))
    assert {"accuracy", "accuracy/en", "accuracy/pl", "accuracy/ja", "accuracy/de"} == set(scores)
    n = {"en": 40, "pl": 20, "ja": 20, "de": 10}
    overall = sum(scores[f"accuracy/{d}"] * k for d, k in n.items()) / 90
    assert scores["accuracy"] == pytest.approx(overall)


def test_setting2_specs():
    mix = get_spec("opus100_mix")
    assert [d for d, _ in mix.source.parts] == ["ru", "vi", "gu", "my"] and not mix.offline
    assert get_spec("opus100_gu_en").source.config == "en-gu"
    # every OPUS-100 task scores OPUS-100's test split (as the authors did)
    assert dict(get_spec("opus100_en_my").source.splits) == {"train": "train", "validation": "test"}
    en = get_spec("opus100_en_centric")
    assert [d for d, _ in en.source.parts] == [
        "en-ru", "ru-en", "en-vi", "vi-en", "en-gu", "gu-en", "en-my", "my-en",
    ]  # fmt: skip
    assert "opus100_pivot" not in {s.name for s in list_specs()}
    assert get_spec("multiemo_mix").offline and get_spec("multiemo_mix").domain_field == "domain"
