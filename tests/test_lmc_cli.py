"""`junkdna lmc` and the held-out loss it needs, on a tiny random BERT and a local JSONL task:
the loss against per-example hand values, exact endpoints, the barrier of the returned curve,
the files, bad input (exit 2), and study mode feeding the report's Figure 10."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from study_fixtures import make_task_file, make_tiny_bert, write_study  # noqa: E402

from junkdna.cli import main  # noqa: E402
from junkdna.errors import JunkDNAError  # noqa: E402
from junkdna.transfer.lmc import loss_barrier  # noqa: E402


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A tiny BERT classifier, a toy task, and two endpoint files that differ everywhere:
    'dense' = the model as loaded (seeded head), 'sparse' = half its matrix weights zeroed and
    every float tensor perturbed (so the path between them is not trivially flat)."""
    from safetensors.torch import save_model

    from junkdna.models import load_model, load_tokenizer
    from junkdna.tasks.local import load_local_task

    root = tmp_path_factory.mktemp("lmc")
    bert = make_tiny_bert(root / "tiny-bert")
    data = make_task_file(root / "toy.jsonl", n=30)
    task = load_local_task(data, seed=0)
    torch.manual_seed(0)
    model = load_model(str(bert), head="classification", num_labels=2)
    save_model(model, str(root / "dense.safetensors"))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.5)
            if p.ndim == 2:
                p.mul_(torch.rand(p.shape, generator=g) < 0.5)
    (root / "run_sparse").mkdir()
    save_model(model, str(root / "run_sparse" / "model.safetensors"))  # a run folder
    return {"root": root, "bert": bert, "data": data, "task": task, "tok": load_tokenizer(bert)}


def _model_with(pair, file):
    from safetensors.torch import load_model as load_weights

    from junkdna.models import load_model

    model = load_model(str(pair["bert"]), head="classification", num_labels=2)
    load_weights(model, str(file))
    return model


def test_evaluate_loss_is_the_mean_per_example_cross_entropy(pair):
    from junkdna.recipe import Recipe
    from junkdna.transfer.loss import evaluate_loss

    task, tok = pair["task"], pair["tok"]
    model = _model_with(pair, pair["root"] / "dense.safetensors")
    model.train()  # evaluate_loss must switch dropout off itself, and restore the mode
    # Hand oracle: each example alone (no padding), plain cross-entropy, averaged.
    model.eval()
    with torch.no_grad():
        per = []
        for text, label in zip(task.validation["text"], task.validation["label"], strict=True):
            logits = model(**tok(text, return_tensors="pt")).logits  # (1, 2)
            per.append(float(torch.nn.functional.cross_entropy(logits, torch.tensor([label]))))
    model.train()
    expected = sum(per) / len(per)
    # 6 validation rows: batches of 4 (4 + 2) and 6 must both give the per-example mean.
    for bs in (4, 6):
        got = evaluate_loss(model, tok, task, Recipe(eval_batch_size=bs))
        assert got == pytest.approx(expected, rel=1e-5)
    assert model.training


def test_interpolation_endpoints_reproduce_each_models_own_loss(pair):
    from junkdna.recipe import Recipe
    from junkdna.transfer import evaluate
    from junkdna.transfer.lmc import run_pair
    from junkdna.transfer.loss import evaluate_loss

    task, tok, root = pair["task"], pair["tok"], pair["root"]
    recipe = Recipe(eval_batch_size=4)
    dense, sparse = root / "dense.safetensors", root / "run_sparse" / "model.safetensors"
    own = {}
    for name, f in (("dense", dense), ("sparse", sparse)):
        m = _model_with(pair, f)
        own[name] = (evaluate_loss(m, tok, task, recipe), evaluate(m, tok, task, recipe))
    assert own["dense"][0] != own["sparse"][0]

    model = _model_with(pair, dense)
    res = run_pair(model, tok, task, recipe, sparse, dense, [0.0, 0.25, 0.5, 0.75, 1.0])
    # alpha 0 = dense, alpha 1 = sparse, bit for bit (lerp is exact at 0 and 1)
    assert res.losses[0] == own["dense"][0] and res.losses[-1] == own["sparse"][0]
    assert res.metrics[0] == own["dense"][1]["accuracy"]
    assert res.metrics[-1] == own["sparse"][1]["accuracy"]
    assert res.barrier == loss_barrier(res.alphas, res.losses) and res.barrier >= 0
    assert len(set(res.losses)) == 5  # every alpha is a different model


def test_cli_pair_writes_json_csv_and_figures(pair, capsys):
    root = pair["root"]
    out = root / "out"
    argv = ["lmc", "--model", str(pair["bert"]), "--task", str(pair["data"])]
    argv += ["--a", str(root / "run_sparse"), "--b", str(root / "dense.safetensors")]
    assert main([*argv, "--steps", "3", "--max-examples", "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "alpha = 0: B, dense" in printed and "alpha = 1: A, sparse" in printed
    rec = json.loads((out / "lmc.json").read_text())
    assert rec["alphas"] == [0.0, 0.5, 1.0] and rec["n_validation"] == 4
    assert rec["barrier"] == pytest.approx(loss_barrier(rec["alphas"], rec["losses"]))
    assert f"loss barrier: {rec['barrier']:.6g}" in printed
    assert "alpha=0: dense" in rec["convention"]
    frame = pd.read_csv(out / "lmc.csv")
    assert list(frame.columns) == ["alpha", "loss", "metric"]
    assert frame["loss"].tolist() == pytest.approx(rec["losses"])
    assert (out / "lmc.png").stat().st_size > 0 and (out / "lmc.svg").stat().st_size > 0
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temp files


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--alphas", "0,0.5,1.5"], "must lie in [0, 1]"),
        (["--alphas", "0.2,0.5,1"], "must include 0 and 1"),
        (["--steps", "1"], "--steps must be >= 2"),
        (["--alphas", "0,1", "--steps", "3"], "not both"),
        (["--b", "missing.safetensors"], "dense (B) weights not found"),
        (["--b", "{root}/wrong.safetensors"], "do not fit BertForSequenceClassification"),
    ],
)
def test_cli_bad_input_exits_2_with_a_clear_message(pair, capsys, extra, message):
    from safetensors.torch import save_file

    root = pair["root"]
    # Another architecture's weights (a 3-class head): names match, one shape does not.
    wrong = {
        k: torch.zeros(3, *v.shape[1:]) if k.startswith("classifier") else v
        for k, v in _model_with(pair, root / "dense.safetensors").state_dict().items()
    }
    save_file({k: v.contiguous() for k, v in wrong.items()}, str(root / "wrong.safetensors"))
    argv = ["lmc", "--model", str(pair["bert"]), "--task", str(pair["data"])]
    argv += ["--a", str(root / "run_sparse"), "--b", str(root / "dense.safetensors")]
    argv += ["--out", str(root / "bad")] + [e.format(root=root) for e in extra]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (root / "bad" / "lmc.json").exists()


def test_cli_pair_mode_names_missing_options(capsys):
    assert main(["lmc", "--model", "x"]) == 2
    assert "pair mode needs --task, --a, --b, --out" in capsys.readouterr().err


def test_study_mode_writes_pairs_and_the_report_shows_figure_10(tmp_path, capsys):
    plain = write_study(tmp_path / "plain")
    assert main(["lmc", str(plain)]) == 2
    assert "set save_weights = true" in capsys.readouterr().err

    study = write_study(tmp_path / "s", sparsities=(0.3, 0.6), extra="save_weights = true")
    assert main(["run", str(study), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["lmc", str(study), "--steps", "3"]) == 0
    printed = capsys.readouterr().out
    files = sorted((tmp_path / "s" / "out" / "lmc").glob("*.json"))
    assert len(files) == 2 and "2 pair(s)" in printed  # two sparse runs, one dense partner
    recs = [json.loads(f.read_text()) for f in files]
    assert {r["dense_run"] for r in recs} == {recs[0]["dense_run"]}
    assert {f.stem for f in files} == {r["sparse_run"] for r in recs}
    for r in recs:
        assert r["barrier"] == pytest.approx(loss_barrier(r["alphas"], r["losses"]))
        assert r["losses"][0] == recs[0]["losses"][0]  # the same dense endpoint, same data
        # the labels a test over seeds needs, spelled as in the results table
        assert (r["task"], r["difficulty"], r["level"], r["seed"]) == ("toy", "none", "none", 1)
        assert (r["method"], r["structure"], r["regime"]) == ("magnitude", "unstructured", "sparse")
    assert sorted(r["sparsity"] for r in recs) == [0.3, 0.6]

    before = [f.stat().st_mtime_ns for f in files]
    assert main(["lmc", str(study), "--steps", "3"]) == 0  # finished pairs are kept
    assert [f.stat().st_mtime_ns for f in files] == before

    assert main(["report", str(study)]) == 0
    html = Path(capsys.readouterr().out.splitlines()[-2].removeprefix("report: "))
    text = html.read_text()
    assert text.count('<figure id="lmc') == 2
    assert "<h2>Linear mode connectivity</h2>" in text and "loss barrier" in text
    assert len(list((html.parent / "figures").glob("lmc*.svg"))) == 2
    # one task: nothing to compare, so no test table
    assert not (html.parent / "tables" / "lmc_tests.csv").exists()


def test_study_mode_feeds_the_report_a_barrier_test_over_seeds(tmp_path, capsys):
    """Two tasks with given difficulty measures, two seeds: the report carries the exploratory
    test "larger barrier on the harder task", paired by seed (two seeds cannot reach p < 0.05)."""
    from junkdna.analysis.lmc_tests import TEST_COLUMNS

    study = write_study(tmp_path, extra="save_weights = true")
    make_task_file(tmp_path / "other.jsonl", seed=1)  # other rows: another barrier
    tasks = (
        'tasks = [{ name = "easy", file = "toy.jsonl", difficulty_value = 0.1 }, '
        '{ name = "hard", file = "other.jsonl", difficulty_value = 0.9 }]'
    )
    text = study.read_text().replace("seeds = [1]", "seeds = [1, 2]")
    study.write_text(text.replace('tasks = [{ name = "toy", file = "toy.jsonl" }]', tasks))
    assert main(["run", str(study), "--quiet"]) == 0
    assert main(["lmc", str(study), "--steps", "3"]) == 0
    assert "4 pair(s)" in capsys.readouterr().out
    assert main(["report", str(study), "--json", str(tmp_path / "a.json")]) == 0
    html = Path(capsys.readouterr().out.splitlines()[-3].removeprefix("report: "))
    tests = pd.read_csv(html.parent / "tables" / "lmc_tests.csv")
    # The JSON carries it too, exploratory, over seeds.
    body = __import__("json").loads((tmp_path / "a.json").read_text())
    (lmc,) = [t for t in body["tests"] if "barrier" in t["target"]]
    assert (lmc["unit"], lmc["n_units"], lmc["primary"]) == ("seed", 2, False)
    assert lmc["min_p"] == pytest.approx(0.5) and lmc["p_adjusted"] is None
    assert list(tests.columns) == TEST_COLUMNS and len(tests) == 1
    row = tests.iloc[0]
    assert (row["easier"], row["harder"], row["n_units"]) == ("easy", "hard", 2)
    assert row["paired_on"] == "paired" and row["min_p"] == pytest.approx(0.5)
    assert "2 seeds cannot reach p < 0.05 with an exact sign-flip" in row["verdict"]
    assert "Linear mode connectivity tests" in html.read_text()


def test_load_result_rejects_a_broken_file(tmp_path):
    from junkdna.study.lmc import load_result

    (tmp_path / "lmc.json").write_text('{"alphas": [0, 1]}')
    with pytest.raises(JunkDNAError, match="not a readable lmc.json"):
        load_result(tmp_path / "lmc.json")


def test_causal_lm_loss_weights_batches_by_their_target_tokens(tmp_path, pair):
    """Targets of 1..5 words: a mean of batch means would overweight the short ones. The oracle
    sums -log p of every target token (each example alone, no padding) over all of them."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from junkdna.heads.batching import IGNORE
    from junkdna.recipe import Recipe
    from junkdna.tasks.local import load_local_task
    from junkdna.transfer import data
    from junkdna.transfer.loss import evaluate_loss

    rows = [{"text": f"q{i}", "label": " ".join(["word"] * (1 + i % 5))} for i in range(7)]
    f = tmp_path / "lm.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = load_local_task(f, head="causal-lm", validation=f)
    tok = pair["tok"]
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=tok.vocab_size, hidden_size=16, intermediate_size=32,
                      num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                      max_position_embeddings=64)  # fmt: skip
    model = LlamaForCausalLM(cfg).eval()
    recipe = Recipe(eval_batch_size=3)
    feats, _ = data.encode(tok, task, "validation", recipe)
    nll, count = 0.0, 0
    with torch.no_grad():
        for feat in feats:
            ids, labels = torch.tensor([feat["input_ids"]]), torch.tensor(feat["labels"])
            logp = model(input_ids=ids).logits[0, :-1].log_softmax(-1)  # predicts tokens 1..
            target = labels[1:]
            keep = target != IGNORE
            nll -= float(logp[keep].gather(1, target[keep, None]).sum())
            count += int(keep.sum())
    got = evaluate_loss(model, tok, task, recipe)
    assert got == pytest.approx(nll / count, rel=1e-5)
