"""SparseGPT: reconstruction beats magnitude and Wanda, hand oracles, ties, damping, dead columns."""

import pytest
import torch

from junkdna.errors import JunkDNAError
from junkdna.pruning.select import MaskRule, Structure, is_nm, n_to_remove
from junkdna.pruning.sparsegpt import Hessian, SparseGPT, inverse_cholesky, solve
from junkdna.pruning.wanda import ColumnNorms, Wanda

UNSTRUCTURED = MaskRule(0.5, Structure(), "layer")
TWO_FOUR = MaskRule(0.5, Structure(2, 4))


def layer_and_data(rows=48, cols=96, tokens=512, seed=0):
    """A weight and correlated inputs (tokens, cols), like real activations."""
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(cols, cols, generator=g) / cols**0.5
    x = torch.randn(tokens, cols, generator=g) @ mix + 0.3 * torch.randn(cols, generator=g)
    x[:, :4] *= 8.0  # a few outlier features, which magnitude ignores
    return torch.randn(rows, cols, generator=g), x


def hessian(x, batches=4):
    acc = Hessian(x.shape[1])
    for part in x.chunk(batches):
        acc.add(part.reshape(2, -1, x.shape[1]))  # (sequences, tokens, in) as a layer sees it
    return acc


def error(w, w_new, x):
    return float(torch.linalg.norm(x @ w.T - x @ w_new.T))


def test_hessian_running_update_equals_one_shot():
    _, x = layer_and_data()
    assert torch.allclose(hessian(x).h, 2.0 / x.shape[0] * x.T @ x, rtol=1e-4, atol=1e-4)


def test_inverse_cholesky_is_upper_factor_of_damped_inverse():
    _, x = layer_and_data(cols=40)
    h = hessian(x).h.double()
    h = (h + h.T) / 2  # fp32 accumulation is symmetric only up to rounding
    u, used = inverse_cholesky(h.clone(), 0.01, "layer")
    damped = h + 0.01 * h.diagonal().mean() * torch.eye(40, dtype=h.dtype)
    assert used == 0.01 and torch.equal(u, u.triu()) and bool((u.diagonal() > 0).all())
    assert torch.allclose(u.T @ u, torch.linalg.inv(damped), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("rule", [UNSTRUCTURED, TWO_FOUR], ids=["unstructured", "2:4"])
def test_reconstruction_beats_magnitude_and_wanda(rule):
    w, x = layer_and_data()
    new, keep, _ = solve(w, hessian(x).h, rule, blocksize=32)
    assert int((~keep).sum()) == n_to_remove(0.5, w.numel())
    assert torch.equal(new == 0, ~keep | (w == 0))
    norms = ColumnNorms(x.shape[1])
    norms.add(x)
    wanda = w * MaskRule(0.5, rule.structure, "row").select(Wanda().score(w, norms))
    magnitude = w * rule.select(w.abs())
    err = error(w, new, x)
    assert err < 0.9 * error(w, wanda, x)
    assert err < 0.9 * error(w, magnitude, x)


def test_identity_hessian_is_blockwise_magnitude():
    # With H = c*I the OBS update vanishes: SparseGPT = magnitude per column block, kept
    # weights untouched. Values from {-2..2}: heavy ties, still exact counts per block.
    torch.manual_seed(0)
    w = torch.randint(-2, 3, (8, 256)).float()
    new, keep, _ = solve(w, 2.0 * torch.eye(256), MaskRule(0.3), blocksize=128)
    for block in (slice(0, 128), slice(128, 256)):
        assert int((~keep[:, block]).sum()) == n_to_remove(0.3, 8 * 128)
        assert torch.equal(keep[:, block], MaskRule(0.3).select(w[:, block].abs()))
    assert torch.equal(new, w * keep)


def test_row_scope_counts_per_block():
    w, x = layer_and_data(rows=8, cols=64)
    _, keep, _ = solve(w, hessian(x).h, MaskRule(0.3, scope="row"), blocksize=32)
    per_block = keep.reshape(8, 2, 32).sum(-1)
    assert (per_block == 32 - n_to_remove(0.3, 32)).all()


@pytest.mark.parametrize("nm", [(2, 4), (4, 8), (1, 4)])
def test_nm_valid(nm):
    w, x = layer_and_data(rows=16, cols=64)
    new, keep, _ = solve(w, hessian(x).h, MaskRule(1 - nm[0] / nm[1], Structure(*nm)), 32)
    assert is_nm(keep, *nm)
    assert bool((new[~keep] == 0).all())


def test_dead_columns():
    w, x = layer_and_data(rows=16, cols=32)
    x[:, 5] = 0.0  # an input that is always 0: H_55 = 0
    new, keep, used = solve(w, hessian(x).h, UNSTRUCTURED)
    assert used == 0.01 and torch.isfinite(new).all()
    assert not keep[:, 5].any() and bool((new[:, 5] == 0).all())


def test_damping_retry_then_success():
    # Rank-1 H with a positive diagonal: the Cholesky fails without dampening.
    crit = SparseGPT(damp=0.0)
    stats = Hessian(4)
    stats.add(torch.ones(3, 4))
    w = torch.arange(1.0, 9.0).reshape(2, 4)
    keep, new = crit.prune_layer(w, stats, UNSTRUCTURED, "blk.fc.weight")
    assert crit.summary() == {"damp_retries": {"blk.fc.weight": pytest.approx(1e-3)}}
    assert int((~keep).sum()) == 4 and torch.isfinite(new).all()


def test_impossible_hessian_names_the_layer():
    h = torch.tensor([[1.0, 100.0], [100.0, 1.0]])  # indefinite beyond any dampening tried
    with pytest.raises(JunkDNAError, match="blk.fc.weight.*not positive definite"):
        solve(torch.ones(2, 2), h, UNSTRUCTURED, name="blk.fc.weight")
    with pytest.raises(JunkDNAError, match="NaN"):
        solve(torch.ones(2, 2), torch.full((2, 2), float("nan")), UNSTRUCTURED, name="x")


def test_deterministic_and_dtype():
    w, x = layer_and_data(rows=8, cols=64)
    a = solve(w.half(), hessian(x.half()).h, TWO_FOUR, blocksize=16)
    b = solve(w.half(), hessian(x.half()).h, TWO_FOUR, blocksize=16)
    assert a[0].dtype == torch.float32 and torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_bad_options_and_shapes():
    with pytest.raises(JunkDNAError, match="damp"):
        SparseGPT(damp=-1)
    with pytest.raises(JunkDNAError, match="blocksize"):
        SparseGPT(blocksize=0)
    with pytest.raises(JunkDNAError, match="Did you mean 'damp'"):
        SparseGPT(dmap=0.1)
    with pytest.raises(JunkDNAError, match="multiples of 8"):
        solve(torch.ones(2, 16), torch.eye(16), MaskRule(0.5, Structure(4, 8)), blocksize=12)
