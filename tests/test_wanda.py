"""Wanda: |W_ij| * ||X_j||_2 with hand-computed oracles, ties, N:M, and the full pipeline."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.pruning import prune
from junkdna.pruning.select import MaskRule, Structure, is_nm, n_to_remove
from junkdna.pruning.wanda import ColumnNorms, Wanda

# One 8-weight row. Column norms chosen so that Wanda and magnitude disagree:
#   |W|          = [1, 2, 3, 4,  0.5, 6, 0.25, 8]
#   ||X_j||      = [10, 1, 1, 0.1,  8, 1, 40, 0.1]
#   |W| * ||X||  = [10, 2, 3, 0.4,  4, 6, 10, 0.8]
# 2:4 keeps the two largest of each group of 4: columns 0, 2 and 5, 6.
ROW = torch.tensor([[1.0, -2.0, 3.0, -4.0, 0.5, 6.0, -0.25, 8.0]])
NORMS = torch.tensor([10.0, 1.0, 1.0, 0.1, 8.0, 1.0, 40.0, 0.1])
WANDA_24 = torch.tensor([[True, False, True, False, False, True, True, False]])
MAGNITUDE_24 = torch.tensor([[False, False, True, True, False, True, False, True]])


def test_score_and_select_by_hand():
    scores = Wanda().score(ROW, NORMS)
    assert torch.allclose(scores, torch.tensor([[10.0, 2.0, 3.0, 0.4, 4.0, 6.0, 10.0, 0.8]]))
    assert torch.equal(MaskRule(0.5, Structure(2, 4)).select(scores), WANDA_24)
    assert not torch.equal(WANDA_24, MAGNITUDE_24)  # the oracle really tests the activations


def test_column_norms_running_mean_over_sequences():
    # Two sequences of two tokens; squared column norms per sequence averaged, then sqrt.
    x = torch.tensor([[[3.0, 0.0], [4.0, 1.0]], [[0.0, 2.0], [0.0, 2.0]]])  # (2, 2, 2)
    acc = ColumnNorms(2)
    acc.add(x[:1].half())  # any model dtype; accumulated in fp32
    acc.add(x[1:])
    # column 0: (25 + 0) / 2 = 12.5; column 1: (1 + 8) / 2 = 4.5
    assert acc.norm().dtype == torch.float32
    assert torch.allclose(acc.norm(), torch.tensor([12.5, 4.5]).sqrt())


class OneRowBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 1, bias=False)

    def forward(self, h):
        return self.proj(h)


class OneRowNet(nn.Module):
    """Embedding -> one block with a single (1, 8) projection. Token 0 embeds as 0.6 * NORMS,
    token 1 as 0.8 * NORMS: every sequence [0, 1] has column norms exactly NORMS."""

    def __init__(self):
        super().__init__()
        self.config = SimpleNamespace(_name_or_path="one-row")
        self.emb = nn.Embedding(2, 8)
        self.layers = nn.ModuleList([OneRowBlock()])
        with torch.no_grad():
            self.emb.weight.copy_(torch.stack([0.6 * NORMS, 0.8 * NORMS]))
            self.layers[0].proj.weight.copy_(ROW)

    def get_input_embeddings(self):
        return self.emb

    def forward(self, input_ids):
        h = self.emb(input_ids)
        for block in self.layers:
            h = block(h)
        return h


def test_one_row_through_the_pipeline():
    model = OneRowNet()
    calib = torch.tensor([[0, 1], [1, 0], [0, 1]])
    masks = prune(model, method="wanda", structure="2:4", calibration=calib)
    assert torch.equal(masks["layers.0.proj.weight"], WANDA_24)
    assert torch.equal(model.layers[0].proj.weight, ROW * WANDA_24)
    assert masks.metadata["calibration"]["tokens"] == 6


def test_one_row_unstructured_row_scope():
    masks = prune(OneRowNet(), method="wanda", sparsity=0.25, calibration=torch.tensor([[0, 1]]))
    # the two lowest scores (0.4 at column 3, 0.8 at column 7) go
    expected = torch.ones(1, 8, dtype=torch.bool)
    expected[0, [3, 7]] = False
    assert torch.equal(masks["layers.0.proj.weight"], expected)


@pytest.mark.parametrize("scope", ["row", "layer"])
def test_exact_counts_with_heavy_ties(scope):
    torch.manual_seed(0)
    w = torch.randint(-2, 3, (16, 40)).float()  # 5 distinct values: ties everywhere
    norms = torch.ones(40)
    norms[::2] = 2.0
    keep = MaskRule(0.3, Structure(), scope).select(Wanda().score(w, norms))
    if scope == "row":
        assert (keep.sum(1) == 40 - n_to_remove(0.3, 40)).all()
    else:
        assert int((~keep).sum()) == n_to_remove(0.3, 16 * 40)


@pytest.mark.parametrize("nm", [(2, 4), (1, 4), (4, 8), (6, 8)])
def test_nm_validity(nm):
    torch.manual_seed(1)
    w = torch.randint(-2, 3, (8, 32)).float()
    keep = MaskRule(1 - nm[0] / nm[1], Structure(*nm)).select(Wanda().score(w, torch.rand(32)))
    assert is_nm(keep, *nm)


def test_bad_inputs():
    with pytest.raises(JunkDNAError, match="column norms"):
        Wanda().score(ROW, torch.ones(7))
    with pytest.raises(JunkDNAError, match="batch_sise"):
        Wanda(batch_sise=4)
    with pytest.raises(JunkDNAError, match="batch_size"):
        Wanda(batch_size=0)
    with pytest.raises(JunkDNAError, match="scope 'global'"):
        prune(OneRowNet(), method="wanda", sparsity=0.5, scope="global", calibration=None)
    with pytest.raises(JunkDNAError, match="calibration"):
        prune(OneRowNet(), method="wanda", sparsity=0.5)
