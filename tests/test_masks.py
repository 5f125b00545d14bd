"""MaskSet: apply, statistics, collapse warning, save/load round trip, bad files."""

import logging

import pytest
import torch
from conftest import tiny_bert, tiny_llama

from junkdna.errors import JunkDNAError
from junkdna.masks import MaskSet
from junkdna.pruning import prune


def test_stats_and_apply():
    model = tiny_bert()
    name = "bert.encoder.layer.0.attention.self.query.weight"
    mask = torch.ones(32, 32, dtype=torch.bool)
    mask[:, :8] = False
    ms = MaskSet({name: mask})
    assert ms.total == 1024 and ms.kept == 768 and ms.sparsity == pytest.approx(0.25)
    ms.apply(model)
    w = dict(model.named_parameters())[name]
    assert (w[:, :8] == 0).all() and (w[:, 8:] != 0).all()


def test_collapse_warning(caplog):
    model = tiny_bert()
    ms = prune(model, "magnitude", 0.0)
    name = next(iter(ms))
    ms.masks[name][:] = False
    with caplog.at_level(logging.WARNING):
        assert ms.warn_collapse() == [name]
    assert "layer collapse" in caplog.text
    assert ms.report()["collapsed_layers"] == [name]


def test_save_load_round_trip(tmp_path):
    model = tiny_llama()
    ms = prune(model, "magnitude", 0.6, scope="layer")
    path = ms.save(tmp_path / "masks.safetensors")
    back = MaskSet.load(tmp_path)  # a folder works too
    assert path.exists() and list(back) == list(ms)
    assert all(torch.equal(back[n], ms[n]) and back[n].dtype == torch.bool for n in ms)
    assert back.metadata == ms.metadata
    assert back.metadata["method"] == "magnitude" and back.metadata["scope"] == "layer"
    assert not list(tmp_path.glob(".*tmp"))  # no temporary left behind


def test_load_errors(tmp_path):
    with pytest.raises(JunkDNAError, match="does not exist"):
        MaskSet.load(tmp_path / "nope.safetensors")
    bad = tmp_path / "masks.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(JunkDNAError, match="corrupt"):
        MaskSet.load(bad)
    ms = prune(tiny_bert(), "magnitude", 0.5)
    ms.save(bad)
    bad.write_bytes(bad.read_bytes()[:-100])  # truncated
    with pytest.raises(JunkDNAError, match="corrupt"):
        MaskSet.load(bad)


def test_masks_on_a_different_model_rejected():
    ms = prune(tiny_bert(hidden=32), "magnitude", 0.5)
    with pytest.raises(JunkDNAError, match="has shape"):
        ms.apply(tiny_bert(hidden=48))
    with pytest.raises(JunkDNAError, match="missing"):
        ms.apply(tiny_llama())


def test_non_bool_mask_rejected():
    with pytest.raises(JunkDNAError, match="bool"):
        MaskSet({"w": torch.ones(2, 2)})
