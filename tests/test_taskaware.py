"""Task-aware importance (taylor, fisher): scores against a hand-computed autograd oracle,
invariance to batch size, weight groups and spilling, exact sparsity for every structure, Wanda
calibrated on the task's own inputs, study mask keys, the CLI's bad inputs, and MiniLM on a
registered task."""

from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path

import pytest
import torch
from conftest import tiny_bert, tiny_llama

from junkdna.errors import JunkDNAError
from junkdna.heads.batching import IGNORE, collate, pad_id
from junkdna.masks import MaskSet
from junkdna.models import parameters_by_name, prunable_weights
from junkdna.pruning import prune, prune_calibrated
from junkdna.pruning.calibration import calibration_from_task
from junkdna.pruning.importance import task_importance
from junkdna.pruning.scorestore import ScoreStore
from junkdna.pruning.select import is_nm, n_to_remove
from junkdna.recipe import Recipe
from junkdna.tasks.base import TaskData
from junkdna.transfer.data import encode

sys.path.insert(0, str(Path(__file__).parent))

WORDS = [f"w{i}" for i in range(40)] + ["good", "bad", "yes", "no"]


def word_tokenizer():
    from conftest import word_tokenizer as words_tokenizer

    return words_tokenizer(WORDS)


def toy_task(head: str = "classification", n: int = 12, seed: int = 0, name: str = "toy"):
    """Label = whether the row says "good"; sentences of varied length (padding matters)."""
    from datasets import Dataset

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        pos = rng.random() < 0.5
        words = rng.sample(WORDS[:40], rng.randint(2, 7)) + ["good" if pos else "bad"]
        rng.shuffle(words)
        label = int(pos) if head == "classification" else ("yes" if pos else "no")
        rows.append({"text": " ".join(words), "label": label})
    return TaskData(
        name=name, head=head, train=Dataset.from_list(rows), validation=Dataset.from_list(rows[:2]),
        text_fields=("text",), label_field="label", metric="accuracy",
        num_labels=2 if head == "classification" else None,
    )  # fmt: skip


def model_for(head: str):
    return tiny_bert() if head == "classification" else tiny_llama()


def oracle(model, tok, task, kind: str) -> dict[str, torch.Tensor]:
    """Scores by plain autograd, one example at a time: fisher = mean g^2 * w^2, taylor =
    |w * mean-loss gradient| with each example's gradient weighted by its number of loss terms
    (examples are 1 term; a causal LM's terms are its target tokens)."""
    features, _ = encode(tok, task, "train", Recipe())
    names = list(prunable_weights(model))
    params = parameters_by_name(model)
    weights = [params[n] for n in names]
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    for p in weights:
        p.requires_grad_(True)
    sq = [torch.zeros_like(w) for w in weights]
    total = [torch.zeros_like(w) for w in weights]
    n_terms = 0
    for f in features:
        batch = collate([f], pad_id(tok))
        labels = batch["labels"]
        terms = 1 if labels.dim() == 1 else int((labels[:, 1:] != IGNORE).sum())
        loss = model(**batch).loss
        grads = torch.autograd.grad(loss, weights)
        for s, t, g in zip(sq, total, grads, strict=True):
            s += g.double().square().float()
            t += g * terms
        n_terms += terms
    for n, p in model.named_parameters():
        p.requires_grad_(flags[n])
    out = {}
    for n, w, s, t in zip(names, weights, sq, total, strict=True):
        w = w.detach()
        out[n] = (s / len(features)) * w * w if kind == "fisher" else (w * t / n_terms).abs()
    return out


def scores_of(store: ScoreStore) -> dict[str, torch.Tensor]:
    return {n: store.load(n).clone() for n in store.names()}


def assert_close_rel(got: dict, want: dict, rel: float = 1e-5) -> None:
    assert list(got) == list(want)
    for n in want:
        scale = float(want[n].abs().max())
        assert scale > 0, n
        err = float((got[n] - want[n]).abs().max())
        assert err <= rel * scale, (n, err, scale)


# ----------------------------------------------------------------------------- (a) oracle


@pytest.mark.parametrize("head", ["classification", "causal-lm"])
@pytest.mark.parametrize("kind", ["taylor", "fisher"])
def test_scores_match_a_hand_computed_autograd_oracle(head, kind):
    tok, task, model = word_tokenizer(), toy_task(head), model_for(head)
    want = oracle(model, tok, task, kind)
    with task_importance(model, tok, task, kind, nsamples=100, batch_size=5) as store:
        got = {n: store.load(n) for n in store.names()}
        # (out, in) layout, forward order, every prunable weight
        assert store.names() == list(prunable_weights(model))
        assert_close_rel(got, want)
        info = store.info
    assert info["examples"] == len(task.train) and info["kind"] == kind
    json.dumps(info)  # JSON-able


# ----------------------------------------------------------------------------- (b) (c) (d)


def test_taylor_does_not_depend_on_the_batch_size():
    tok, task, model = word_tokenizer(), toy_task("causal-lm"), tiny_llama()
    with (
        task_importance(model, tok, task, "taylor", batch_size=1) as one,
        task_importance(model, tok, task, "taylor", batch_size=4) as four,
    ):
        assert four.info["batches"] == 3 and one.info["batches"] == len(task.train)
        assert_close_rel(scores_of(four), scores_of(one), 1e-5)
        assert four.info["loss"] == pytest.approx(one.info["loss"], rel=1e-6)


@pytest.mark.parametrize("kind", ["taylor", "fisher"])
def test_many_weight_groups_give_the_scores_of_one(kind):
    tok, task, model = word_tokenizer(), toy_task(), tiny_bert()
    # 4096 bytes: one 32x32 fp32 accumulator; the 64x32 ones get a group each
    with (
        task_importance(model, tok, task, kind, nsamples=6) as whole,
        task_importance(model, tok, task, kind, nsamples=6, max_grad_bytes=4096) as parts,
    ):
        assert whole.info["groups"] == 1
        assert parts.info["groups"] == len(prunable_weights(model)) > 1
        for n in whole.names():
            torch.testing.assert_close(parts.load(n), whole.load(n), rtol=1e-6, atol=0)


def test_the_grad_bytes_default_comes_from_the_environment(monkeypatch):
    tok, task, model = word_tokenizer(), toy_task(), tiny_bert()
    monkeypatch.setenv("JUNKDNA_GRAD_BYTES", "8192")
    with task_importance(model, tok, task, "taylor", nsamples=2) as store:
        assert store.info["max_grad_bytes"] == 8192 and store.info["groups"] > 1


def test_spilled_scores_give_the_masks_of_in_ram_scores(monkeypatch, tmp_path):
    tok, task = word_tokenizer(), toy_task()
    ram = prune(tiny_bert(), "fisher", 0.5, task=task, tokenizer=tok, nsamples=6)
    assert ram.metadata["calibration"]["spilled_bytes"] == 0
    monkeypatch.setenv("JUNKDNA_SCORE_RAM_BYTES", "5000")  # about one matrix in RAM
    monkeypatch.setenv("JUNKDNA_SCORE_DIR", str(tmp_path / "spill"))
    for scope in ("global", "layer"):
        spilled = prune(tiny_bert(), "fisher", 0.5, scope=scope, task=task, tokenizer=tok,
                        nsamples=6)  # fmt: skip
        info = spilled.metadata["calibration"]
        assert info["spilled_bytes"] > 0 and info["spilled_tensors"] >= 10
        if scope == "global":
            for n in ram:
                assert torch.equal(spilled[n], ram[n]), n
    assert list((tmp_path / "spill").iterdir()) == []  # spill folders removed


def test_score_store_keeps_order_and_removes_its_folder(tmp_path):
    ts = {f"w{i}": torch.rand(3, 5) for i in range(4)}
    with ScoreStore(ram_bytes=2 * 60, folder=tmp_path) as store:
        for n, t in ts.items():
            store.put(n, t)
        assert store.names() == list(ts) and len(store) == 4 and "w3" in store
        assert "nope" not in store
        assert store.info["spilled_tensors"] == 2 and store.info["spilled_bytes"] == 120
        folder = store.spill_folder
        assert folder is not None and len(list(folder.iterdir())) == 2
        for n, fn in store.fns().items():
            assert torch.equal(fn(), ts[n]) and torch.equal(store.load(n), ts[n])
        ts["w0"].zero_()  # the store holds its own copy
        assert store.load("w0").sum() > 0
    assert not folder.exists()
    with pytest.raises(JunkDNAError, match="closed"):
        store.load("w1")


# ----------------------------------------------------------------------------- (e)


def test_weights_flags_grads_and_mode_are_untouched():
    tok, task, model = word_tokenizer(), toy_task(), tiny_bert()
    model.train()
    params = parameters_by_name(model)
    names = list(prunable_weights(model))
    params["bert.embeddings.word_embeddings.weight"].requires_grad_(False)
    params[names[1]].requires_grad_(False)
    old_grad = torch.ones_like(params[names[0]])
    params[names[0]].grad = old_grad
    before = {n: p.detach().clone() for n, p in model.state_dict().items()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    for kind in ("taylor", "fisher"):
        task_importance(model, tok, task, kind, nsamples=4, max_grad_bytes=10_000).close()
    after = model.state_dict()
    assert all(torch.equal(before[n], after[n]) for n in before)  # bit-identical
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert params[names[0]].grad is old_grad
    assert all(params[n].grad is None for n in names[1:])
    assert model.training


# ----------------------------------------------------------------------------- (f)


@pytest.mark.parametrize("scope", ["global", "layer", "row"])
def test_fisher_sparsity_is_exact_for_every_scope(scope):
    tok, task, model = word_tokenizer(), toy_task(), tiny_bert()
    masks = prune(model, "fisher", 0.3, scope=scope, task=task, tokenizer=tok, nsamples=4)
    assert masks.metadata["scope"] == scope and masks.metadata["method"] == "fisher"
    removed = {n: int((~m).sum()) for n, m in masks.masks.items()}
    if scope == "global":
        total = sum(m.numel() for m in masks.masks.values())
        assert sum(removed.values()) == n_to_remove(0.3, total)
    for n, m in masks.masks.items():
        if scope == "layer":
            assert removed[n] == n_to_remove(0.3, m.numel())
        if scope == "row":
            assert ((~m).sum(1) == n_to_remove(0.3, m.shape[1])).all()


def test_fisher_two_four_and_the_default_scope():
    tok, task = word_tokenizer(), toy_task()
    masks = prune(tiny_bert(), "fisher", structure="2:4", task=task, tokenizer=tok, nsamples=4)
    assert all(is_nm(m, 2, 4) for m in masks.masks.values())
    masks = prune(tiny_bert(), "taylor", 0.5, task=task, tokenizer=tok, nsamples=4)
    assert masks.metadata["scope"] == "global"
    info = masks.metadata["calibration"]
    assert info["task"] == "toy" and info["kind"] == "taylor" and info["examples"] == 4


def test_missing_task_options_and_bad_data_are_one_line_errors():
    tok, task = word_tokenizer(), toy_task()
    with pytest.raises(JunkDNAError, match=r"method 'taylor' scores weights with a task's"):
        prune(tiny_bert(), "taylor", 0.5)
    with pytest.raises(JunkDNAError, match=r"no option 'nsample'.*Did you mean 'nsamples'"):
        prune(tiny_bert(), "fisher", 0.5, task=task, tokenizer=tok, nsample=3)
    with pytest.raises(JunkDNAError, match="fisher_batch"):
        prune(tiny_bert(), "taylor", 0.5, task=task, tokenizer=tok, fisher_batch=3)
    unlabelled = TaskData(**{**task.__dict__, "train": task.train.remove_columns("label")})
    with pytest.raises(JunkDNAError, match=r"method 'fisher' needs labelled examples"):
        task_importance(tiny_bert(), tok, unlabelled, "fisher")
    with pytest.raises(JunkDNAError, match=r"source must be 'task'"):
        prune_calibrated(tiny_bert(), tok, "fisher", {"source": "default"}, sparsity=0.5,
                         task=task)  # fmt: skip
    model = tiny_bert()
    with torch.no_grad():
        model.classifier.weight.fill_(float("inf"))
    with pytest.raises(JunkDNAError, match=r"task 'toy'.*not finite"):
        task_importance(model, tok, task, "taylor", nsamples=2)


def test_fisher_batch_squares_batch_means():
    """fisher_batch=n squares the gradient of each n-example mean: with all examples in one
    batch, F = g_mean^2, so the score is (taylor score)^2."""
    tok, task, model = word_tokenizer(), toy_task(), tiny_bert()
    n = len(task.train)
    with (
        task_importance(model, tok, task, "fisher", fisher_batch=n) as f,
        task_importance(model, tok, task, "taylor", batch_size=n) as t,
    ):
        assert f.info["batches"] == 1
        assert_close_rel(scores_of(f), {k: v.square() for k, v in scores_of(t).items()})


# ----------------------------------------------------------------------------- (g)


def test_wanda_on_the_tasks_own_inputs():
    tok, task = word_tokenizer(), toy_task(n=40)
    features, _ = encode(tok, task, "train", Recipe())
    seqs = [f["input_ids"] for f in features]
    windows = calibration_from_task(tok, task, nsamples=6, seqlen=10, seed=3)
    assert windows.shape == (6, 10) and windows.junkdna_calibration["source"] == "task"
    # Every window is a run of whole or partial encoded examples: its pieces between [EOS]
    # tokens occur inside some example (and no token is foreign, e.g. [UNK] or [PAD]).
    eos = tok.eos_token_id
    texts = [" ".join(map(str, s)) for s in seqs]
    for w in windows.tolist():
        assert tok.unk_token_id not in w and tok.pad_token_id not in w
        pieces, cur = [], []
        for t in w:
            cur.append(t)
            if t == eos:
                pieces.append(cur)
                cur = []
        pieces.append(cur)
        for p in filter(None, pieces):
            text = " ".join(map(str, p))
            assert any(text in s for s in texts), (p, w)
    again = calibration_from_task(tok, task, nsamples=6, seqlen=10, seed=3)
    assert torch.equal(windows, again)  # seeded
    short = calibration_from_task(tok, toy_task(n=2), nsamples=4, seqlen=500)
    assert short.shape[0] == 1 and short.junkdna_calibration["seqlen_requested"] == 500

    masks = prune_calibrated(
        tiny_bert(), tok, "wanda", {"source": "task", "nsamples": 4, "seqlen": 8, "seed": 0},
        task=task, sparsity=0.5,
    )  # fmt: skip
    info = masks.metadata["calibration"]
    assert info["source"] == "task" and info["task"] == "toy" and info["nsamples"] == 4
    assert all(((~m).sum(1) == n_to_remove(0.5, m.shape[1])).all() for m in masks.masks.values())
    with pytest.raises(JunkDNAError, match="give a task"):
        prune_calibrated(tiny_bert(), tok, "wanda", {"source": "task", "nsamples": 4,
                         "seqlen": 8, "seed": 0}, sparsity=0.5)  # fmt: skip


# ----------------------------------------------------------------------------- (h) studies

# Computed before task-aware methods existed (junkdna at commit 14ba6ef): they must not change.
# Wanda's (default calibration) was recomputed when the default text became LAMBADA (2026-12-08;
# before: 868f0154dfc9f0a8, 9f5c6a9ce9e41af3): other masks, so other keys.
MAGNITUDE_KEY, MAGNITUDE_RUN = "6ec863fef5cfa4c2", "096cd0e8fbc0bd61"
WANDA_KEY, WANDA_RUN = "01a233e2ac58ecf5", "482af687b7eee6dd"


def _spec(point, task="sst2", seed=1, difficulty=None):
    from junkdna.study.spec import RunSpec

    return RunSpec(model="tiny-bert", task={"name": task}, regime="sparse",
                   recipe=Recipe(seed=seed), pruning=point, difficulty=difficulty)  # fmt: skip


def test_mask_keys_of_task_points_name_the_task_and_old_keys_stay():
    from junkdna.study.spec import PruningPoint

    mag = _spec(PruningPoint.resolve("magnitude", 0.5, "unstructured", None))
    assert (mag.mask_key, mag.run_id) == (MAGNITUDE_KEY, MAGNITUDE_RUN)
    cal = {"source": "default", "nsamples": 128, "seqlen": 512, "seed": 0}
    wanda = _spec(PruningPoint.resolve("wanda", 0.5, "unstructured", None, cal))
    assert (wanda.mask_key, wanda.run_id) == (WANDA_KEY, WANDA_RUN)
    assert _spec(mag.pruning, task="cola").mask_key == MAGNITUDE_KEY  # shared across tasks

    fisher = PruningPoint.resolve("fisher", 0.5, "unstructured", None)
    assert fisher.calibration == {"source": "task", "nsamples": 256, "seed": 0}
    assert fisher.scope == "global" and fisher.uses_task
    keys = {
        _spec(fisher).mask_key,
        _spec(fisher, task="cola").mask_key,
        _spec(fisher, seed=2).mask_key,
        _spec(
            fisher, difficulty={"setting": "data_adequacy", "params": {"fraction": 0.1}}
        ).mask_key,
        _spec(
            PruningPoint.resolve("wanda", 0.5, "unstructured", None, {**cal, "source": "task"})
        ).mask_key,
    }
    assert len(keys) == 5 and MAGNITUDE_KEY not in keys
    assert _spec(fisher).mask_key == _spec(fisher).mask_key


def test_study_blocks_default_taylor_and_fisher_to_the_task():
    from junkdna.study.checks import pruning_points
    from junkdna.study.config import Pruning

    (p,) = pruning_points(Pruning(methods=["taylor"], sparsities=[0.5]), "b")
    assert p.calibration == {"source": "task", "nsamples": 256, "seed": 0}
    block = Pruning(methods=["wanda", "fisher"], sparsities=[0.5],
                    calibration={"source": "task", "nsamples": 16, "seqlen": 32})  # fmt: skip
    wanda, fisher = pruning_points(block, "b")
    assert wanda.calibration == {"source": "task", "nsamples": 16, "seqlen": 32, "seed": 0}
    assert fisher.calibration == {"source": "task", "nsamples": 16, "seed": 0}
    bad = Pruning(methods=["fisher"], sparsities=[0.5], calibration={"source": "default"})
    with pytest.raises(JunkDNAError, match="calibration source must be 'task'"):
        pruning_points(bad, "b")
    with pytest.raises(JunkDNAError, match="Did you mean 'fisher'"):
        pruning_points(Pruning(methods=["fishr"], sparsities=[0.5]), "b")


def test_a_study_with_fisher_scores_each_task_with_its_own_examples(tmp_path):
    from study_fixtures import make_task_file, write_study

    from junkdna.cli import main

    study = write_study(tmp_path)
    make_task_file(tmp_path / "toy2.jsonl", seed=5)
    text = (
        study.read_text()
        .replace(
            'tasks = [{ name = "toy", file = "toy.jsonl" }]',
            'tasks = [{ name = "toy", file = "toy.jsonl" }, { name = "toy2", file = "toy2.jsonl" }]',
        )
        .replace('methods = ["magnitude"]', 'methods = ["fisher"]\ncalibration = { nsamples = 8 }')
    )
    study.write_text(text)
    assert main(["run", str(study), "--quiet"]) == 0
    folders = sorted((tmp_path / "out" / "masks").glob("*/masks.safetensors"))
    assert len(folders) == 2  # one mask per task
    infos = [MaskSet.load(f).metadata["calibration"] for f in folders]
    assert sorted(i["task"] for i in infos) == ["toy", "toy2"]
    assert all(i["examples"] == 8 and i["kind"] == "fisher" for i in infos)


# ----------------------------------------------------------------------------- (i) CLI


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    from study_fixtures import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("model") / "tiny-bert")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--method", "fisher"], ["method 'fisher'", "give a task", "--task NAME"]),
        (["--method", "taylor", "--task", "sst2_vall"], ["unknown task", "Did you mean"]),
        (["--method", "wanda", "--calibration", "task"], ["--calibration task", "--task NAME"]),
        (["--task", "sst2_val"], ["--task 'sst2_val' is unused"]),
        (["--method", "fisher", "--task", "sst2_val", "--nsamples", "0"],
         ["nsamples must be a positive integer"]),
        (["--method", "fisher", "--task", "sst2_val", "--calibration", "x.txt"],
         ["source must be 'task'"]),
    ],
)  # fmt: skip
def test_cli_bad_inputs_are_one_line_exit_2(extra, words, tiny_folder, tmp_path, capsys):
    from junkdna.cli import main

    argv = ["prune", str(tiny_folder), "--sparsity", "0.5", "--out", str(tmp_path / "o"), *extra]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- (j) MiniLM


def test_minilm_fisher_on_a_registered_task(tmp_path):
    from junkdna.cli import main
    from junkdna.models import load_model

    out = tmp_path / "fisher"
    rc = main(["prune", "minilm", "--method", "fisher", "--task", "sst2_val",
               "--nsamples", "32", "--sparsity", "0.5", "--out", str(out), "--quiet"])  # fmt: skip
    assert rc == 0
    fisher = MaskSet.load(out / "masks.safetensors")
    info = fisher.metadata["calibration"]
    assert info["task"] == "sst2_val" and info["examples"] == 32
    assert fisher.metadata["scope"] == "global"
    total = sum(m.numel() for m in fisher.masks.values())
    removed = sum(int((~m).sum()) for m in fisher.masks.values())
    assert removed == n_to_remove(0.5, total)
    model = load_model("minilm", head="classification", num_labels=2)
    magnitude = prune(copy.deepcopy(model), "magnitude", 0.5)
    assert set(magnitude.masks) == set(fisher.masks)
    differ = sum(int((magnitude[n] != fisher[n]).sum()) for n in fisher.masks)
    assert differ > 0.01 * total
