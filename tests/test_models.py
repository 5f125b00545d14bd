"""Which weights are prunable, decided in one place, for every model family."""

import pytest
import torch
from conftest import TINY_MODELS, tiny_bert, tiny_gpt2

from junkdna.errors import JunkDNAError
from junkdna.models import load_model, prunable_weights, resolve, transformer_blocks

EXPECTED = {
    # family: (number of blocks, prunable weights per block)
    "bert": (2, 6),  # q k v o, intermediate, output
    "llama": (2, 7),  # q k v o, gate up down
    "gpt2": (2, 4),  # c_attn c_proj, c_fc c_proj (Conv1D)
    "opt": (2, 6),  # q k v out, fc1 fc2
    "mbart": (4, 8),  # 2 encoder blocks (6 each) + 2 decoder blocks (10 each) = 32 / 4
    "t5": (4, 8),  # encoder: q k v o wi wo (6); decoder: + cross q k v o (10)
}


@pytest.mark.parametrize("family", sorted(TINY_MODELS))
def test_prunable_are_block_projections_only(family):
    model = TINY_MODELS[family]()
    blocks = transformer_blocks(model)
    pw = prunable_weights(model)
    n_blocks, per_block = EXPECTED[family]
    assert len(blocks) == n_blocks
    assert len(pw) == n_blocks * per_block
    for name, p in pw.items():
        assert p.block is not None and name.startswith(p.block + ".")
        assert not any(x in name for x in ("embed", "wte", "wpe", "shared", "lm_head", "pooler"))
        assert not name.startswith(("classifier", "score", "qa_outputs"))


def test_encoder_decoder_blocks_in_forward_order():
    blocks = [n for n, _ in transformer_blocks(TINY_MODELS["mbart"]())]
    assert blocks == [
        "model.encoder.layers.0",
        "model.encoder.layers.1",
        "model.decoder.layers.0",
        "model.decoder.layers.1",
    ]


def test_gpt2_conv1d_is_transposed_to_out_in():
    model = tiny_gpt2()
    pw = prunable_weights(model)
    p = pw["transformer.h.0.mlp.c_fc.weight"]
    w = dict(model.named_parameters())[p.name]
    assert p.transposed and tuple(w.shape) == (32, 128)  # Conv1D stores (in, out)
    assert tuple(p.matrix(w).shape) == (128, 32)  # viewed as (out, in) like nn.Linear


def test_include_and_exclude_patterns():
    model = tiny_bert()
    base = prunable_weights(model)
    no_attn = prunable_weights(model, exclude=[r"attention"])
    assert len(no_attn) == 4 and all("attention" not in n for n in no_attn)
    with_head = prunable_weights(model, include=[r"^classifier\."])
    assert set(with_head) - set(base) == {"classifier.weight"}
    with_pooler = prunable_weights(model, include=[r"pooler"])
    assert "bert.pooler.dense.weight" in with_pooler
    with pytest.raises(JunkDNAError, match="bad exclude pattern"):
        prunable_weights(model, exclude=["("])
    with pytest.raises(JunkDNAError, match="no prunable weights"):
        prunable_weights(model, exclude=["."])


def test_resolve_local_folder_and_errors(tmp_path):
    tiny_bert().save_pretrained(tmp_path / "m")
    assert resolve(str(tmp_path / "m")).ref == str(tmp_path / "m")
    (tmp_path / "empty").mkdir()
    with pytest.raises(JunkDNAError, match="no config.json"):
        resolve(str(tmp_path / "empty"))
    model = load_model(str(tmp_path / "m"), head="classification", num_labels=3)
    assert model.config.num_labels == 3
    with pytest.raises(JunkDNAError, match="unknown head"):
        load_model(str(tmp_path / "m"), head="clasification")


@pytest.mark.slow
def test_offline_minilm_structure():
    model = load_model("minilm")
    pw = prunable_weights(model)
    assert len(pw) == 36  # 6 layers x 6 projections
    params = dict(model.named_parameters())
    assert sum(params[n].numel() for n in pw) == 6 * (4 * 384 * 384 + 2 * 384 * 1536)
    assert all(params[n].dtype == torch.float32 for n in pw)
