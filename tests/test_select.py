"""Scores -> masks: hand-computed oracles, exact counts under heavy ties, N:M validity."""

import pytest
import torch

from junkdna.errors import JunkDNAError
from junkdna.pruning.select import (
    MaskRule,
    Structure,
    is_nm,
    n_to_remove,
    select_global,
    select_layer,
    select_nm,
    select_rows,
    select_smallest,
)


def fns(tensors):
    return {f"t{i}": (lambda t=t: t) for i, t in enumerate(tensors)}


def reference_global(tensors, k):
    """Slow oracle: stable sort of everything concatenated (layer order, then row-major)."""
    flat = torch.cat([t.reshape(-1).float() for t in tensors])
    order = torch.sort(flat, stable=True).indices
    keep = torch.ones_like(flat, dtype=torch.bool)
    keep[order[:k]] = False
    out, i = [], 0
    for t in tensors:
        out.append(keep[i : i + t.numel()].view(t.shape))
        i += t.numel()
    return out


def test_global_hand_oracle():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = torch.tensor([[4.0, 3.0], [2.0, 1.0]])
    m = select_global(fns([a, b]), 0.5)
    # 1, 1, 2, 2 go; the rest stay.
    assert m["t0"].tolist() == [[False, False], [True, True]]
    assert m["t1"].tolist() == [[True, True], [False, False]]


def test_global_ties_first_in_order_go_first():
    a = torch.full((2, 3), 5.0)
    b = torch.full((1, 4), 5.0)
    m = select_global(fns([a, b]), 0.5)  # 10 equal scores, 5 go: the first five in order
    assert m["t0"].reshape(-1).tolist() == [False] * 5 + [True]
    assert m["t1"].all()


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.37, 0.5, 0.9, 0.999])
@pytest.mark.parametrize("levels", [3, 17, 1000])
def test_global_matches_sorted_oracle_under_heavy_ties(sparsity, levels):
    g = torch.Generator().manual_seed(levels)
    tensors = [
        torch.randint(0, levels, shape, generator=g).float() / 7
        for shape in [(5, 8), (16, 4), (3, 3), (1, 64)]
    ]
    total = sum(t.numel() for t in tensors)
    k = n_to_remove(sparsity, total)
    got = select_global(fns(tensors), sparsity)
    want = reference_global(tensors, k)
    for i, w in enumerate(want):
        assert torch.equal(got[f"t{i}"], w)
    assert sum(int((~m).sum()) for m in got.values()) == k


def test_radix_select_spans_both_halves_of_the_bits():
    # Values that share their high 16 bits and differ only in the low 16 exercise the second pass.
    base = torch.tensor(1.0).view(torch.int32)
    bits = base + torch.arange(0, 600, dtype=torch.int32).flip(0)
    scores = bits.view(torch.float32).reshape(20, 30)
    m = select_layer(scores, 0.25)
    assert int((~m).sum()) == 150
    assert scores[~m].max() < scores[m].min()


def test_zero_and_negative_zero_scores():
    s = torch.tensor([[0.0, -0.0, 1.0, 0.0]])
    m = select_layer(s, 0.5)
    assert m.tolist() == [[False, False, True, True]]


def test_sparsity_zero_keeps_all_and_bad_sparsity_rejected():
    t = torch.rand(4, 4)
    assert select_global(fns([t]), 0.0)["t0"].all()
    for bad in (1.0, -0.1, 1.5, float("nan")):
        with pytest.raises(JunkDNAError, match="sparsity"):
            select_global(fns([t]), bad)


def test_invalid_scores_rejected():
    for bad in (float("nan"), float("inf"), -1.0):
        t = torch.rand(3, 3)
        t[1, 1] = bad
        with pytest.raises(JunkDNAError, match="negative, NaN or infinite"):
            select_layer(t, 0.5)


def test_rows_exact_per_row_with_ties():
    s = torch.tensor([[3.0, 1.0, 1.0, 2.0], [1.0, 1.0, 1.0, 1.0]])
    m = select_rows(s, 0.5)
    assert m.tolist() == [[True, False, False, True], [False, False, True, True]]


def test_nm_hand_oracle_8_weight_row():
    # |w| = .1 .9 .5 .2 | .3 .3 .05 .8 ; 2:4 keeps the two largest of each group of four.
    w = torch.tensor([[0.1, -0.9, 0.5, 0.2, 0.3, -0.3, -0.05, 0.8]])
    m = select_nm(w.abs(), 2, 4)
    # Group 2: .05 goes, then of the tied .3/.3 the earlier one goes.
    assert m.tolist() == [[False, True, True, False, False, True, False, True]]
    # 4:8 keeps .9 .8 .5 and one .3: the later one, since the earlier of a tie goes first.
    m48 = select_nm(w.abs(), 4, 8)
    assert m48.tolist() == [[False, True, True, False, False, True, False, True]]


@pytest.mark.parametrize("n,m", [(1, 4), (2, 4), (3, 4), (1, 8), (2, 8), (4, 8), (7, 8)])
def test_nm_validity_and_keeps_largest(n, m):
    g = torch.Generator().manual_seed(n * 10 + m)
    s = torch.randint(0, 4, (12, 32), generator=g).float()  # many ties
    keep = select_nm(s, n, m)
    assert is_nm(keep, n, m)
    groups = s.reshape(12, -1, m)
    kg = keep.reshape(12, -1, m)
    kept_min = torch.where(kg, groups, torch.inf).amin(-1)
    pruned_max = torch.where(~kg, groups, -torch.inf).amax(-1)
    assert (pruned_max <= kept_min).all()


def test_nm_rejects_non_multiple_and_names_layer():
    with pytest.raises(JunkDNAError, match="layer 'enc.fc'.*30 is not a multiple of 8"):
        select_nm(torch.rand(4, 30), 2, 8, name="enc.fc")


@pytest.mark.parametrize(
    "text,err",
    [
        ("4:4", "1 <= N < M"),
        ("0:4", "1 <= N < M"),
        ("2-4", "N:M"),
        ("a:b", "N:M"),
        ("5:1", "N < M"),
    ],
)
def test_structure_parse_errors(text, err):
    with pytest.raises(JunkDNAError, match=err):
        Structure.parse(text)


def test_rule_rejects_nm_with_other_sparsity():
    with pytest.raises(JunkDNAError, match="fixes the sparsity at 0.5"):
        MaskRule(0.7, Structure.parse("2:4"))
    assert MaskRule(0.5, Structure.parse("2:4")).structure.n == 2


def test_select_smallest_exact_k_and_determinism():
    g = torch.Generator().manual_seed(1)
    tensors = [torch.randint(0, 2, (50, 50), generator=g).float() for _ in range(3)]
    a = select_smallest(fns(tensors), k=3333)
    b = select_smallest(fns(tensors), k=3333)
    assert sum(int((~m).sum()) for m in a.values()) == 3333
    assert all(torch.equal(a[n], b[n]) for n in a)


@pytest.mark.parametrize("levels", [5, 100000])
def test_bracket_path_matches_oracle(monkeypatch, levels):
    """Large enough tensors take the sample-bracket path; it must agree with the oracle."""
    import junkdna.pruning.select as sel

    calls = []
    real = sel._threshold_by_radix
    monkeypatch.setattr(sel, "_threshold_by_radix", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(sel, "MAX_BRACKET_FRACTION", 1.0)
    monkeypatch.setattr(sel, "SAMPLE_STRIDE", 4)
    g = torch.Generator().manual_seed(levels)
    tensors = [torch.randint(0, levels, (64, 256), generator=g).float() for _ in range(4)]
    got = select_global(fns(tensors), 0.4)
    want = reference_global(tensors, n_to_remove(0.4, 4 * 64 * 256))
    assert all(torch.equal(got[f"t{i}"], w) for i, w in enumerate(want))
    assert not calls  # the bracket found the threshold


def test_biased_sample_falls_back_to_radix_and_stays_exact():
    g = torch.Generator().manual_seed(3)
    tensors = [torch.rand(64, 128, generator=g) for _ in range(3)]
    sizes = {f"t{i}": t.numel() for i, t in enumerate(tensors)}
    # A sample that lies about the distribution puts the bracket in the wrong place.
    liar = {f"t{i}": (lambda: torch.full((500,), 0.99)) for i in range(3)}
    got = select_smallest(fns(tensors), sparsity=0.3, samples=liar, sizes=sizes)
    want = reference_global(tensors, n_to_remove(0.3, 3 * 64 * 128))
    assert all(torch.equal(got[f"t{i}"], w) for i, w in enumerate(want))
