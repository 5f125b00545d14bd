"""Magnitude pruning end to end through `prune` and the CLI, on tiny models of every family."""

import json

import pytest
import torch
from conftest import TINY_MODELS, tiny_bert

from junkdna.cli import main
from junkdna.errors import JunkDNAError
from junkdna.models import prunable_weights
from junkdna.pruning import prune
from junkdna.pruning.select import is_nm, n_to_remove


def weights(model, names):
    params = dict(model.named_parameters())
    return {n: params[n].detach().clone() for n in names}


@pytest.mark.parametrize("family", sorted(TINY_MODELS))
def test_global_exact_and_zeros_in_model(family):
    model = TINY_MODELS[family]()
    names = list(prunable_weights(model))
    before = weights(model, names)
    others = {n: p.detach().clone() for n, p in model.named_parameters() if n not in names}
    ms = prune(model, "magnitude", 0.5)
    assert ms.total - ms.kept == n_to_remove(0.5, ms.total)
    after = weights(model, names)
    for n in names:
        assert torch.equal(after[n][~ms[n]], torch.zeros_like(after[n][~ms[n]]))
        assert torch.equal(after[n][ms[n]], before[n][ms[n]])  # kept weights untouched
    # One global threshold: every removed |w| <= every kept |w|.
    removed_max = max(before[n][~ms[n]].abs().max() for n in names)
    kept_min = min(before[n][ms[n]].abs().min() for n in names)
    assert removed_max <= kept_min
    # Embeddings, heads, norms untouched.
    for n, p in model.named_parameters():
        if n in others:
            assert torch.equal(p, others[n]), n


@pytest.mark.parametrize("family", ["bert", "gpt2", "llama"])
@pytest.mark.parametrize("structure", ["2:4", "1:4", "4:8", "3:8"])
def test_nm_pattern_along_input_dimension(family, structure):
    model = TINY_MODELS[family]()
    pw = prunable_weights(model)
    ms = prune(model, "magnitude", structure=structure)
    n, m = map(int, structure.split(":"))
    params = dict(model.named_parameters())
    for name, p in pw.items():
        keep = p.matrix(ms[name])  # (out, in), also for GPT-2's transposed Conv1D
        assert is_nm(keep, n, m), name
        assert torch.equal(p.matrix(params[name].detach())[~keep], torch.zeros(int((~keep).sum())))
    assert ms.sparsity == pytest.approx(1 - n / m)


def test_layer_and_row_scopes_exact():
    model = tiny_bert()
    ms = prune(model, "magnitude", 0.3, scope="layer")
    for s in ms.layer_stats():
        assert s.total - s.kept == n_to_remove(0.3, s.total)
    model = tiny_bert()
    ms = prune(model, "magnitude", 0.3, scope="row")
    for m in ms.values():
        assert ((~m).sum(1) == n_to_remove(0.3, m.shape[1])).all()


def test_identical_inputs_identical_masks():
    a = prune(TINY_MODELS["llama"](), "magnitude", 0.7)
    b = prune(TINY_MODELS["llama"](), "magnitude", 0.7)
    assert all(torch.equal(a[n], b[n]) for n in a)


def test_bad_arguments():
    model = tiny_bert()
    with pytest.raises(JunkDNAError, match="Did you mean 'magnitude'"):
        prune(model, "magnitud", 0.5)
    with pytest.raises(JunkDNAError, match=r"in \[0, 1\)"):
        prune(model, "magnitude", 1.0)
    with pytest.raises(JunkDNAError, match="needs a sparsity"):
        prune(model, "magnitude")
    with pytest.raises(JunkDNAError, match="scope 'global' does not apply to N:M"):
        prune(model, "magnitude", structure="2:4", scope="global")
    with pytest.raises(JunkDNAError, match="unknown scope|does not support scope"):
        prune(model, "magnitude", 0.5, scope="block")
    with pytest.raises(JunkDNAError, match="input size 36 is not a multiple of 8"):
        prune(tiny_bert(hidden=36), "magnitude", structure="4:8")


def test_cli_prune_writes_masks_and_report(tmp_path, capsys):
    tiny_bert().save_pretrained(tmp_path / "model")
    out = tmp_path / "out"
    rc = main(["prune", str(tmp_path / "model"), "--sparsity", "0.4", "--out", str(out)])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    assert report["metadata"]["method"] == "magnitude" and report["metadata"]["scope"] == "global"
    assert report["sparsity"] == pytest.approx(n_to_remove(0.4, report["total"]) / report["total"])
    assert len(report["layers"]) == 12 and "prune_s" in report["timings"]
    assert report["versions"]["junkdna"]
    assert (out / "masks.safetensors").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["masks.safetensors", "report.json"]
    assert "sparsity 0.4" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args,msg",
    [
        (["--sparsity", "1.5"], "sparsity must be"),
        (["--method", "wandaa", "--sparsity", "0.5"], "Did you mean 'wanda'|Valid:"),
        (["--structure", "4:8"], "not a multiple of 8"),
        (["--structure", "2:4", "--sparsity", "0.7"], "fixes the sparsity"),
    ],
)
def test_cli_bad_input_exit_2_nothing_written(tmp_path, capsys, args, msg):
    tiny_bert(hidden=36).save_pretrained(tmp_path / "model")
    out = tmp_path / "out"
    rc = main(["prune", str(tmp_path / "model"), "--out", str(out), *args])
    assert rc == 2
    import re

    assert re.search(msg, capsys.readouterr().err)
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow
def test_real_minilm_global_magnitude():
    from junkdna.models import load_model

    model = load_model("minilm")
    emb = model.embeddings.word_embeddings.weight.detach().clone()
    ms = prune(model, "magnitude", 0.5)
    assert ms.total == 6 * (4 * 384 * 384 + 2 * 384 * 1536)
    assert ms.total - ms.kept == n_to_remove(0.5, ms.total)
    assert torch.equal(model.embeddings.word_embeddings.weight, emb)
    # Global scope: layers end up at different sparsities.
    spars = [s.sparsity for s in ms.layer_stats()]
    assert max(spars) - min(spars) > 0.05
