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


def test_include_embeddings_of_an_encoder_decoder_once_per_tied_weight():
    """mBART ties one (vocab, d) matrix as ``shared``, both ``embed_tokens`` and ``lm_head``:
    an include pattern adds it once, under the first name it selects, in forward order."""
    model = TINY_MODELS["mbart"]()
    base = prunable_weights(model)
    pw = prunable_weights(model, include=[r"embed_tokens", r"embed_positions"])
    added = [n for n in pw if n not in base]
    assert added == [
        "model.encoder.embed_tokens.weight",
        "model.encoder.embed_positions.weight",
        "model.decoder.embed_positions.weight",
    ]
    names = list(pw)
    assert names.index("model.encoder.embed_positions.weight") < names.index(
        "model.encoder.layers.0.self_attn.k_proj.weight"
    ) < names.index("model.decoder.embed_positions.weight")  # fmt: skip
    assert all(pw[n].block is None and not pw[n].transposed for n in added)
    # 6 per encoder and 10 per decoder layer, and 3 embeddings: for mBART-large (12 + 12 layers)
    # 195, the matrices the authors' Figure 2 logs list as pruned
    assert len(pw) == 2 * 6 + 2 * 10 + 3
    tied = prunable_weights(model, include=[r"shared", r"embed_tokens", r"lm_head"])
    assert set(tied) - set(base) == {"model.shared.weight"}
    assert model.lm_head.weight is model.model.shared.weight  # the one matrix
    # an embedding inside a block (T5's relative position bias) is not a block member
    t5 = TINY_MODELS["t5"]()
    bias = prunable_weights(t5, include=[r"relative_attention_bias"])
    assert {n for n, p in bias.items() if p.block is None} == {
        "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
        "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
    }
    # the paper-default set stays the block projections only
    assert set(prunable_weights(model, include=[r"^nothing$"])) == set(base)


def test_global_magnitude_with_embeddings_takes_the_smallest_wherever_they_are():
    """Oracle: one threshold over every selected weight, embeddings included: exactly the k
    smallest magnitudes go (scaled down, the embeddings hold most of them); the tied output
    layer loses the same entries; Wanda refuses weights it cannot calibrate."""
    from junkdna.pruning import prune

    model = TINY_MODELS["mbart"]()
    include = [r"embed_tokens", r"embed_positions"]
    emb = model.model.shared.weight
    with torch.no_grad():
        emb.mul_(1e-3)  # most, not all, of the smallest magnitudes
    pw = prunable_weights(model, include=include)
    params = dict(model.named_parameters(remove_duplicate=False))
    before = {n: params[n].detach().abs().clone() for n in pw}
    everything = torch.cat([w.reshape(-1) for w in before.values()])
    k = round(0.05 * everything.numel())
    threshold = everything.kthvalue(k).values  # distinct random values: no ties
    masks = prune(model, "magnitude", 0.05, include=include)
    assert set(masks.masks) == set(pw) and masks.metadata["include"] == include
    assert sum(int((~m).sum()) for m in masks.masks.values()) == k
    for n, m in masks.masks.items():
        assert torch.equal(~m, before[n] <= threshold), n
    emb_removed = int((~masks.masks["model.encoder.embed_tokens.weight"]).sum())
    assert emb_removed > 0.5 * k  # the embeddings were in the competition, and lost
    assert torch.equal(model.lm_head.weight == 0, emb == 0)  # tied: pruned once, both see it
    with pytest.raises(JunkDNAError, match="outside the transformer blocks"):
        prune(TINY_MODELS["mbart"](), "wanda", 0.5, include=include,
              calibration=torch.randint(4, 60, (2, 8)))  # fmt: skip
