"""lm-evaluation-harness as the oracle of junkdna's zero-shot scoring: the same multiple-choice
items (a local JSONL file, an lm-eval task with ``dataset_path: json``), the same in-memory model,
scored by lm-eval's own API (``simple_evaluate`` on ``HFLM(pretrained=<model>)``) and by junkdna
(``zeroshot_scoring``): the same log-likelihood per choice, the same ``acc`` and ``acc_norm``.

Skips where lm-eval is absent (``pip install 'junkdna[harness]'``; ``make setup`` installs it)."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest
import torch

needs_lm_eval = pytest.mark.skipif(
    importlib.util.find_spec("lm_eval") is None,
    reason="lm-eval is not installed: pip install 'junkdna[harness]' (lm-eval==0.4.13)",
)

QUESTIONS = [
    ("What color is the sky on a clear day?", ["blue", "green", "a loud noise", "red"], 0),
    ("How many legs does a spider have?", ["eight", "six", "four", "two hundred"], 0),
    ("Which animal barks?", ["a cat", "the dog", "fish", "an elephant in the room"], 1),
    ("What do bees make?", ["milk", "honey", "silk thread", "bread"], 1),
    ("What is frozen water called?", ["steam", "sand", "ice", "glass"], 2),
    ("Where does the sun rise?", ["in the west", "in the east", "underground", "north"], 1),
    ("What is two plus two?", ["three", "five", "four", "twenty-two"], 2),
    ("Which is a fruit?", ["a carrot", "an apple", "a potato", "an onion"], 1),
    ("What do we breathe?", ["air", "water", "stone", "light from distant stars"], 0),
    ("Which month follows May?", ["April", "July", "June", "the first of March"], 2),
    ("What do cows drink?", ["milk", "water", "coffee", "oil"], 1),
    ("What is the capital of France?", ["London", "Berlin", "Paris", "Madrid"], 2),
]


def _rows():
    return [{"text": f"Question: {q}\nAnswer:", "choices": c, "label": y} for q, c, y in QUESTIONS]


def _tiny_llama():
    """A random two-layer LLaMA over SmolLM2's real tokenizer (its vocabulary)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from junkdna.models import load_tokenizer

    tok = load_tokenizer("smollm2-135m")
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=256, tie_word_embeddings=True)  # fmt: skip
    return LlamaForCausalLM(cfg).eval(), tok


def _both(model, tok, tmp_path):
    """(lm-eval's per-task result with samples, junkdna's scores, junkdna's log-likelihoods)."""
    from junkdna.evaluate.harness import Harness, local_task
    from junkdna.evaluate.zeroshot import encode_items, score_items
    from junkdna.heads.batching import pad_id
    from junkdna.heads.lm_scoring import choice_logprobs
    from junkdna.tasks.forms import shared_context

    rows = _rows()
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    local_task(tmp_path / "tasks", "junkdna_oracle", data)
    harness = Harness(["junkdna_oracle"], include_path=tmp_path / "tasks", batch_size=4)
    theirs = harness.run(model, tok, log_samples=True)["junkdna_oracle"]

    items = [shared_context(r["text"], r["choices"], r["label"]) for r in rows]
    enc = encode_items(tok, "junkdna_oracle", items)
    ours = score_items(model, enc, pad_id(tok), batch_size=4)
    with torch.inference_mode():
        scored = choice_logprobs(model.eval(), enc.prompts, enc.choices, pad_id(tok), 4)
    lls = [[lp for lp, _n in sc] for sc in scored]  # one prompt per item here
    return theirs, ours, lls


def _check(theirs, ours, lls, tol):
    samples = sorted(theirs["samples"], key=lambda s: s["doc_id"])
    assert len(samples) == len(lls) == ours["n"] == theirs["n"] == len(QUESTIONS)
    for s, mine in zip(samples, lls, strict=True):
        ref = [float(r[0]) for r in s["filtered_resps"]]
        assert len(ref) == len(mine)
        for a, b in zip(ref, mine, strict=True):
            assert math.isclose(a, b, abs_tol=tol), (s["doc_id"], ref, mine)
        # per item: the same decision under both rules
        assert int(max(range(len(mine)), key=lambda j: mine[j])) == int(
            max(range(len(ref)), key=lambda j: ref[j])
        )
    for m in ("acc", "acc_norm"):
        assert ours[m] == pytest.approx(theirs[m], abs=1e-12), m


@needs_lm_eval
def test_zero_shot_equals_lm_eval_on_a_tiny_llama(tmp_path):
    model, tok = _tiny_llama()
    _check(*_both(model, tok, tmp_path), tol=1e-4)


@needs_lm_eval
@pytest.mark.slow
def test_zero_shot_equals_lm_eval_on_pruned_smollm2(tmp_path):
    """The real tokenizer and model, pruned in memory (magnitude 20%: still above chance)."""
    from junkdna.models import load_model, load_tokenizer
    from junkdna.pruning import prune

    model, tok = load_model("smollm2-135m"), load_tokenizer("smollm2-135m")
    prune(model, "magnitude", 0.2)
    theirs, ours, lls = _both(model, tok, tmp_path)
    _check(theirs, ours, lls, tol=2e-3)
    print(f"junkdna {ours['acc']:.4f}/{ours['acc_norm']:.4f} lm-eval "
          f"{theirs['acc']:.4f}/{theirs['acc_norm']:.4f}")  # fmt: skip


@needs_lm_eval
def test_missing_task_and_offline_data_are_one_line(tmp_path):
    from junkdna.errors import JunkDNAError
    from junkdna.evaluate.harness import Harness

    with pytest.raises(JunkDNAError, match="unknown lm-eval task 'arc_esay'.*arc_easy"):
        Harness(["arc_esay"])
    with pytest.raises(JunkDNAError, match="not cached.*offline") as e:
        Harness(["arc_easy"])  # the test environment is offline; its data is not cached
    assert "\n" not in str(e.value)


def _compare(tmp_path, *extra: str) -> list[str]:
    text = tmp_path / "held-out.txt"
    text.write_text("The river ran past the old mill and into the quiet town. " * 40)
    return ["compare", str(tmp_path / "llama"), "--methods", "magnitude", "--sparsity", "0.5",
            "--zeroshot", "", "--dataset", str(text), "--seqlen", "32", "--windows", "2",
            "--out", str(tmp_path / "out"), "--device", "cpu", *extra]  # fmt: skip


@needs_lm_eval
def test_compare_scores_each_row_with_lm_eval_in_memory(tmp_path, capsys):
    from junkdna.cli import main
    from junkdna.evaluate.harness import local_task

    model, tok = _tiny_llama()
    model.save_pretrained(tmp_path / "llama")
    tok.save_pretrained(tmp_path / "llama")
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _rows()))
    local_task(tmp_path / "tasks", "junkdna_oracle", data)
    argv = _compare(tmp_path, "--harness", "lm-eval", "--tasks", "junkdna_oracle",
                    "--include-path", str(tmp_path / "tasks"))  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    rows = results["rows"]
    assert [r["method"] for r in rows] == ["dense", "magnitude"]
    for r in rows:
        assert 0.0 <= r["lmeval_junkdna_oracle_acc"] <= 1.0
        assert 0.0 <= r["lmeval_junkdna_oracle_acc_norm"] <= 1.0
    assert "lmeval_junkdna_oracle_acc" in (tmp_path / "out" / "table.md").read_text()
    assert results["meta"]["harness"] == {"name": "lm-eval", "tasks": ["junkdna_oracle"]}


@pytest.mark.parametrize(
    "extra, words, hide",
    [
        (("--harness", "lm-eval", "--tasks", "arc_easy"), ("junkdna[harness]", "lm-eval"), True),
        (
            ("--harness", "lm-eval", "--tasks", "arc_easy"),
            ("arc_easy", "not cached", "offline"),
            False,
        ),
        (("--tasks", "arc_easy"), ("--harness lm-eval",), False),
    ],
    ids=["lm-eval-absent", "task-data-offline", "tasks-without-harness"],
)
def test_compare_harness_errors_are_one_line(tmp_path, capsys, monkeypatch, extra, words, hide):
    """Before any model loads (the model folder here does not even exist)."""
    import sys

    from junkdna.cli import main

    if hide:
        monkeypatch.setitem(sys.modules, "lm_eval", None)  # import fails as if absent
    elif importlib.util.find_spec("lm_eval") is None and "--harness" in extra:
        pytest.skip("lm-eval is not installed")
    (tmp_path / "llama").mkdir()
    (tmp_path / "llama" / "config.json").write_text("{}")
    assert main(_compare(tmp_path, *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "out").exists()
