"""`junkdna finetune` end to end on a tiny saved model and a local JSONL task."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import tiny_bert
from test_transfer_regimes import tiny_task, tiny_tokenizer  # noqa: F401

from junkdna.cli import main
from junkdna.masks import MaskSet

RECIPE = ["--max-steps", "3", "--batch-size", "4", "--lr", "1e-2", "--warmup-ratio", "0"]


@pytest.fixture
def setup(tmp_path):
    """A saved tiny BERT (with tokenizer) and a JSONL task with 24 rows."""
    model_dir = tmp_path / "tiny"
    tiny_bert(hidden_dropout_prob=0.0).save_pretrained(model_dir)
    tiny_tokenizer().save_pretrained(model_dir)
    task = tiny_task("classification")
    rows = [*task.train, *task.validation]
    data = tmp_path / "good.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return model_dir, data, tmp_path


def finetune_cli(model_dir, data, out, *extra):
    return main(
        ["finetune", str(model_dir), "--task", str(data), "--out", str(out), *RECIPE, *extra]
    )


def test_sparse_with_saved_masks_writes_metrics_and_exact_weights(setup):
    model_dir, data, tmp = setup
    assert (
        main(["prune", str(model_dir), "--sparsity", "0.5", "--out", str(tmp / "m"), "--quiet"])
        == 0
    )
    out = tmp / "run"
    rc = finetune_cli(
        model_dir, data, out, "--regime", "sparse", "--masks", str(tmp / "m"), "--save-weights"
    )
    assert rc == 0
    rec = json.loads((out / "metrics.json").read_text())
    assert rec["status"] == "ok" and "accuracy" in rec["metrics"]
    assert rec["invariants"]["nonzero_pruned_exp_avg"] == 0
    assert rec["config"]["recipe"]["max_steps"] == 3 and rec["config"]["regime"] == "sparse"
    assert rec["versions"]["torch"] == torch.__version__ and rec["masks"]["sparsity"] == 0.5
    assert {"load_s", "train_s", "eval_s"} <= set(rec["timings"])
    from safetensors.torch import load_file

    weights = load_file(str(out / "model.safetensors"))
    masks = MaskSet.load(tmp / "m")
    for n, keep in masks.items():
        w = weights["bert." + n]  # masks made on the bare model fit the classifier's names
        assert bool((w[~keep] == 0).all()) and bool((w[keep] != 0).all())


def test_frozen_pruning_options_keep_pretrained_values(setup):
    model_dir, data, tmp = setup
    from safetensors.torch import load_file
    from transformers import BertForSequenceClassification

    original = dict(BertForSequenceClassification.from_pretrained(model_dir).named_parameters())
    out = tmp / "frozen"
    rc = finetune_cli(
        model_dir, data, out, "--regime", "frozen", "--sparsity", "0.9", "--save-weights"
    )
    assert rc == 0
    rec = json.loads((out / "metrics.json").read_text())
    assert rec["invariants"]["changed_frozen_weights"] == 0
    weights = load_file(str(out / "model.safetensors"))
    masks = MaskSet.load(out)  # the masks made here are saved for reuse
    assert abs(masks.sparsity - 0.9) < 1e-3
    for n, keep in masks.items():
        w, w0 = weights[n].view(torch.int32), original[n].detach().view(torch.int32)
        assert torch.equal(w[~keep], w0[~keep])  # frozen: bit for bit
        assert bool((w[keep] != w0[keep]).all())  # the largest 10% all moved (lr 1e-2)


def test_nan_loss_is_recorded_as_error(setup, capsys):
    model_dir, data, tmp = setup
    out = tmp / "nan"
    rc = finetune_cli(
        model_dir, data, out, "--regime", "dense", "--lr", "1e30", "--max-grad-norm", "none"
    )
    assert rc == 2
    rec = json.loads((out / "metrics.json").read_text())
    assert rec["status"] == "error" and "NonFiniteError: loss is" in rec["error"]
    assert "metrics" not in rec and rec["config"]["recipe"]["lr"] == 1e30
    assert "loss is" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, match",
    [
        (
            ["--regime", "dense", "--label-field", "gold"],
            "lacks column(s) 'gold'; columns present: label, text",
        ),
        (["--regime", "sparse"], "needs masks"),
        (["--regime", "dense", "--sparsity", "0.5"], "applies no mask"),
        (["--regime", "sprase"], "Did you mean 'sparse'"),
        (["--regime", "dense", "--lr", "-1"], "recipe lr"),
    ],
)
def test_bad_input_exits_2_with_message(setup, capsys, extra, match):
    model_dir, data, tmp = setup
    assert finetune_cli(model_dir, data, tmp / "bad", *extra) == 2
    assert match in capsys.readouterr().err


def test_masks_from_another_model_and_unknown_task(setup, tmp_path, capsys):
    from conftest import tiny_llama

    from junkdna.pruning import prune

    model_dir, data, tmp = setup
    prune(tiny_llama(), "magnitude", 0.5).save(tmp / "llama" / "masks.safetensors")
    assert (
        finetune_cli(
            model_dir, data, tmp / "x", "--regime", "sparse", "--masks", str(tmp / "llama")
        )
        == 2
    )
    assert "do not fit" in capsys.readouterr().err
    assert (
        main(
            [
                "finetune",
                str(model_dir),
                "--task",
                "no_such_task",
                "--regime",
                "dense",
                "--out",
                str(tmp / "y"),
            ]
        )
        == 2
    )
    assert "no_such_task" in capsys.readouterr().err


def test_masks_file_evaluation_only_and_the_run_id_of_a_pruning_point(setup):
    """--masks takes the masks file as well as its folder; --regime none evaluates the pruned
    model without training (pruned weights checked at 0); a run pruned here records its method
    and the id a study gives the same run."""
    model_dir, data, tmp = setup
    assert (
        main(["prune", str(model_dir), "--sparsity", "0.5", "--out", str(tmp / "m"), "--quiet"])
        == 0
    )
    out = tmp / "eval"
    masks = str(tmp / "m" / "masks.safetensors")
    assert finetune_cli(model_dir, data, out, "--regime", "none", "--masks", masks) == 0
    rec = json.loads((out / "metrics.json").read_text())
    assert rec["invariants"] == {"regime": "none", "pruned_nonzero": 0}
    assert "train_s" not in rec["timings"] and rec["history"] == []
    assert "run_id" not in rec  # ready masks are not part of a hashable config

    out = tmp / "here"
    assert finetune_cli(model_dir, data, out, "--regime", "sparse", "--sparsity", "0.5") == 0
    rec = json.loads((out / "metrics.json").read_text())
    assert rec["config"]["pruning"]["method"] == "magnitude"
    assert rec["config"]["masks_from"] == "pruned here" and rec["timings"]["prune_s"] > 0
    assert len(rec["run_id"]) == 16


def test_the_finetune_api_refuses_a_regime_that_does_not_fine_tune():
    from junkdna.errors import JunkDNAError
    from junkdna.transfer import finetune

    with pytest.raises(JunkDNAError, match="does not fine-tune"):
        finetune(tiny_bert(), tiny_tokenizer(), tiny_task("classification"), "none")
