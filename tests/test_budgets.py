"""Layer budgets (uniform, profile, linear, OWL): exact totals with hand-computed oracles, OWL's
formula on hand-made scores, bit-identical uniform masks, one-line errors, unchanged run ids."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import tiny_llama
from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.models import prunable_weights
from junkdna.pruning import prune
from junkdna.pruning.budgets import (
    Budget,
    block_groups,
    largest_remainder,
    linear_sparsities,
    parse_budget,
)
from junkdna.pruning.owl import outlier_ratio, outlier_ratios, owl_sparsities
from junkdna.pruning.select import MaskRule, n_to_remove, select_row_counts, spread

CALIB = torch.randint(0, 120, (4, 16), generator=torch.Generator().manual_seed(0))

# tiny_llama(layers=3), hidden 32, 2 of 4 heads for k/v (16 outputs), MLP 64. Matrix sizes:
# q 1024, k 512, v 512, o 1024, gate 2048, up 2048, down 2048 = 9216 per block, 27648 in all.
# Profile [0.3, 0.5, 0.7] (size-weighted mean 0.5 exactly) -> quotas s_b * size:
#   block 0: 307.2 153.6 153.6 307.2 614.4 614.4 614.4   floors 2762
#   block 1: 512   256   256   512   1024  1024  1024    floors 4608
#   block 2: 716.8 358.4 358.4 716.8 1433.6 x3           floors 6447
# n_to_remove(0.5, 27648) = 13824; floors 13817: 7 left. Largest remainders: .8 (block 2 q, o),
# then .6 (block 0 k, v; block 2 gate, up, down) -> exactly 7 get one more.
KINDS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
PROFILE = [0.3, 0.5, 0.7]
ORACLE = {
    0: (307, 154, 154, 307, 614, 614, 614),
    1: (512, 256, 256, 512, 1024, 1024, 1024),
    2: (717, 358, 358, 717, 1434, 1434, 1434),
}


def _name(layer: int, kind: str) -> str:
    part = "mlp" if kind in ("gate_proj", "up_proj", "down_proj") else "self_attn"
    return f"model.layers.{layer}.{part}.{kind}.weight"


def _removed(mask: torch.Tensor) -> int:
    return int((~mask).sum())


def test_oracle_adds_up():
    assert sum(sum(v) for v in ORACLE.values()) == n_to_remove(0.5, 27648) == 13824


SETTINGS = [
    ("magnitude", {"scope": "layer"}),
    ("magnitude", {"scope": "row"}),
    ("wanda", {}),  # Wanda's default scope: row
    ("wanda", {"scope": "layer"}),
    ("sparsegpt", {"blocksize": 16}),  # several column blocks: the count is split over them
    ("sparsegpt", {"scope": "row", "blocksize": 16}),
]


@pytest.mark.parametrize(("method", "kw"), SETTINGS, ids=[f"{m}-{k}" for m, k in SETTINGS])
def test_profile_removes_the_largest_remainder_counts(method, kw):
    model = tiny_llama(layers=3)
    calib = None if method == "magnitude" else CALIB
    ms = prune(model, method, 0.5, calibration=calib, budget=PROFILE, **kw)
    scope = ms.metadata["scope"]
    for layer, counts in ORACLE.items():
        for kind, k in zip(KINDS, counts, strict=True):
            mask = ms[_name(layer, kind)]
            assert _removed(mask) == k, (layer, kind)
            if scope == "row":  # spread over the rows: the first rows get one more
                per_row = (~mask).sum(1)
                assert torch.equal(per_row, spread(k, mask.shape[0])), (layer, kind)
    assert sum(_removed(m) for m in ms.masks.values()) == n_to_remove(0.5, 27648)
    info = ms.metadata["budget"]
    assert info["budget"] == PROFILE and info["removed"] == 13824 and info["total"] == 27648
    assert [b["removed"] for b in info["blocks"]] == [2764, 4608, 6452]
    assert [b["target"] for b in info["blocks"]] == PROFILE
    # The model itself carries the masks.
    w = dict(model.named_parameters())
    assert all(bool((w[n][~m] == 0).all()) for n, m in ms.masks.items())


def test_spread_and_row_counts_by_hand():
    assert spread(7, 3).tolist() == [3, 2, 2]
    assert spread(2, 4).tolist() == [1, 1, 0, 0]
    scores = torch.tensor([[4.0, 1.0, 3.0, 2.0], [1.0, 1.0, 1.0, 0.5]])
    keep = select_row_counts(scores, torch.tensor([2, 1]))
    assert keep.tolist() == [[True, False, True, False], [True, True, True, False]]
    # ties go in column order
    keep = select_row_counts(torch.ones(1, 4), torch.tensor([3]))
    assert keep.tolist() == [[False, False, False, True]]


def test_rule_with_counts_selects_exactly():
    rule = MaskRule(0.5, scope="layer").with_counts({"a": 3}, {"a": 8})
    scores = torch.tensor([[5.0, 1.0, 7.0, 2.0], [3.0, 8.0, 0.5, 6.0]])
    assert rule.for_layer("a").count == 3
    assert rule.select(scores, "a").tolist() == [
        [True, False, True, False],
        [True, True, False, True],
    ]
    assert MaskRule(0.5).for_layer("a") == MaskRule(0.5)  # no counts: the rule itself


def test_largest_remainder_by_hand():
    # quotas 1.5, 1.5, 1.0 -> floors 1, 1, 1; one left, the first of the tied .5 remainders
    assert largest_remainder({"a": 1.5, "b": 1.5, "c": 1.0}, {"a": 4, "b": 4, "c": 4}, 4) == {
        "a": 2, "b": 1, "c": 1,
    }  # fmt: skip
    # quotas rescaled to the exact total (here x2), capped by the sizes
    assert largest_remainder({"a": 1.0, "b": 3.0}, {"a": 10, "b": 5}, 8) == {"a": 3, "b": 5}


# ----------------------------------------------------------------------------- OWL and linear


def test_outlier_ratio_by_hand():
    # 9 scores of 1 and one of 11: mean 2, M=5 -> threshold 10, one above: D = 1/10. The
    # block's matrices count as one population: split over two tensors, the same.
    assert outlier_ratio([torch.tensor([1.0] * 9 + [11.0])], 5) == pytest.approx(0.1)
    assert outlier_ratio([torch.ones(3, 3), torch.tensor([[11.0]])], 5) == pytest.approx(0.1)
    assert outlier_ratio([torch.ones(4, 4)], 5) == 0.0
    # [0, 0, 0, 10]: mean 2.5; M=3 -> 7.5: one of four; M=5 -> 12.5: none
    assert outlier_ratio([lambda: torch.tensor([0.0, 0.0, 0.0, 10.0])], 3) == 0.25
    assert outlier_ratio([torch.tensor([0.0, 0.0, 0.0, 10.0])], 5) == 0.0


def test_owl_sparsities_by_hand():
    # D = [0.1, 0, 0.25], lambda 0.08: keep = D / 0.25 * 0.16 = [0.064, 0, 0.16].
    # Sizes [10, 10, 20]: weighted mean keep (0.64 + 0 + 3.2) / 40 = 0.096; shifted to a mean of
    # 1 - 0.5: keep [0.468, 0.404, 0.564] -> sparsity [0.532, 0.596, 0.436] (weighted mean 0.5).
    s, fallback = owl_sparsities([0.1, 0.0, 0.25], [10, 10, 20], 0.5, 0.08)
    assert not fallback
    assert s == pytest.approx([0.532, 0.596, 0.436])
    assert (10 * s[0] + 10 * s[1] + 20 * s[2]) / 40 == pytest.approx(0.5)
    # Equal sizes: OWL's plain mean. keep [0.064, 0, 0.16], mean 0.074667 -> sparsity
    # 0.5 + 0.074667 - keep.
    s, _ = owl_sparsities([0.1, 0.0, 0.25], [7, 7, 7], 0.5, 0.08)
    mean = (0.064 + 0.16) / 3
    assert s == pytest.approx([0.5 + mean - 0.064, 0.5 + mean, 0.5 + mean - 0.16])
    # all ratios equal: uniform, and it says so
    assert owl_sparsities([0.2, 0.2], [1, 1], 0.5, 0.08) == ([0.5, 0.5], True)


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 2, bias=False)


class _TwoBlocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([_Block(), _Block()])
        with torch.no_grad():
            for b in self.layers:
                b.proj.weight.fill_(-1.0)  # |W| = 1 everywhere


def test_outlier_ratios_of_a_model_by_hand():
    # Block 0: norms all 1 -> scores all 1, no outliers. Block 1: norms [1, 1, 1, 33] -> each
    # row [1, 1, 1, 33]: mean 9, M=3 -> 27: 2 of 8 scores above -> D = 0.25.
    model = _TwoBlocks()
    pr = prunable_weights(model)
    norms = {
        "layers.0.proj.weight": torch.ones(4),
        "layers.1.proj.weight": torch.tensor([1.0, 1, 1, 33]),
    }
    assert outlier_ratios(model, pr, norms, 3.0, block_groups(pr)) == {
        "layers.0": 0.0,
        "layers.1": 0.25,
    }
    assert list(block_groups(pr)) == ["layers.0", "layers.1"]


def test_linear_by_hand():
    assert linear_sparsities([1, 1, 1], 0.5, 0.1) == pytest.approx([0.4, 0.5, 0.6])
    # unequal sizes: raw [0.4, 0.5, 0.6] has weighted mean 2.1 / 4 = 0.525 -> shift by -0.025
    assert linear_sparsities([1, 1, 2], 0.5, 0.1) == pytest.approx([0.375, 0.475, 0.575])


def test_owl_and_linear_on_a_tiny_model_are_exact():
    for budget in ("owl", "owl:M=3,lambda=0.1", "linear:0.2"):
        model = tiny_llama(layers=3)
        ms = prune(model, "magnitude", 0.37, scope="layer", budget=budget, calibration=CALIB)
        total = sum(m.numel() for m in ms.masks.values())
        assert sum(_removed(m) for m in ms.masks.values()) == n_to_remove(0.37, total)
        targets = [b["target"] for b in ms.metadata["budget"]["blocks"]]
        assert len(set(targets)) == 3 and sum(targets) / 3 == pytest.approx(0.37)
    assert ms.metadata["budget"]["budget"] == "linear:0.2"
    assert targets == pytest.approx([0.17, 0.37, 0.57])


def test_parse_budget_canonical_forms(tmp_path):
    assert parse_budget(None) == parse_budget("uniform") == Budget()
    assert parse_budget("owl:M=5,lambda=0.08").text() == "owl"
    assert parse_budget("owl:lambda=0.1,M=7").text() == "owl:M=7,lambda=0.1"
    assert parse_budget("linear:0.10").config() == "linear:0.1"
    assert parse_budget("0.3, 0.5,0.7").config() == [0.3, 0.5, 0.7]
    (tmp_path / "p.json").write_text(json.dumps([0.4, 0.6]))
    assert parse_budget(str(tmp_path / "p.json")).profile == (0.4, 0.6)
    assert parse_budget("p.json", root=tmp_path).profile == (0.4, 0.6)
    assert parse_budget([0.1] * 30).label().startswith("profile30:")


# ----------------------------------------------------------------------------- uniform = today

UNIFORM_SETTINGS = [
    ("magnitude", {}),  # global
    ("magnitude", {"scope": "layer"}),
    ("magnitude", {"scope": "row"}),
    ("magnitude", {"structure": "2:4", "sparsity": None}),
    ("wanda", {}),
    ("wanda", {"scope": "layer"}),
    ("sparsegpt", {"blocksize": 16}),
    ("sparsegpt", {"scope": "row", "blocksize": 16}),
    ("sparsegpt", {"structure": "2:4", "sparsity": None}),
]


@pytest.mark.parametrize(
    ("method", "kw"), UNIFORM_SETTINGS, ids=[f"{m}-{k}" for m, k in UNIFORM_SETTINGS]
)
def test_uniform_budget_is_bit_identical(method, kw):
    kw = {"sparsity": 0.37, **kw}
    calib = None if method == "magnitude" else CALIB
    a_model, b_model = tiny_llama(layers=2), tiny_llama(layers=2)
    a = prune(a_model, method, calibration=calib, **kw)
    b = prune(b_model, method, calibration=calib, budget="uniform", **kw)
    assert list(a.masks) == list(b.masks)
    assert all(torch.equal(a[n], b[n]) for n in a.masks)
    assert "budget" not in a.metadata and "budget" not in b.metadata
    pa, pb = dict(a_model.named_parameters()), dict(b_model.named_parameters())
    assert all(torch.equal(pa[n], pb[n]) for n in pa)  # SparseGPT's updated weights too


# ----------------------------------------------------------------------------- errors


def _one_line(excinfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg
    return msg


def test_profile_errors():
    with pytest.raises(JunkDNAError) as e:
        prune(tiny_llama(layers=3), "magnitude", 0.5, scope="layer", budget=[0.3, 0.5, 0.8])
    msg = _one_line(e)
    assert "0.533333" in msg and "sparsity 0.5" in msg and "shift the profile by -0.033333" in msg
    with pytest.raises(JunkDNAError) as e:
        prune(tiny_llama(layers=3), "magnitude", 0.5, scope="layer", budget=[0.5, 0.5])
    assert "2 values" in _one_line(e) and "3 blocks" in str(e.value)
    with pytest.raises(JunkDNAError) as e:
        parse_budget([0.5, 1.0])
    assert "[0, 1)" in _one_line(e)
    with pytest.raises(JunkDNAError) as e:  # shifted linear leaves [0, 1)
        prune(tiny_llama(layers=3), "magnitude", 0.5, scope="layer", budget="linear:0.6")
    assert "outside [0, 1)" in _one_line(e)


def test_budget_rule_errors():
    with pytest.raises(JunkDNAError) as e:
        prune(tiny_llama(), "magnitude", 0.5, scope="global", budget="linear:0.1")
    assert "global scope lets the scores decide; use scope layer or row" in _one_line(e)
    with pytest.raises(JunkDNAError) as e:
        prune(tiny_llama(), "wanda", structure="2:4", budget="owl", calibration=CALIB)
    assert "N:M fixes every group's sparsity" in _one_line(e)
    with pytest.raises(JunkDNAError) as e:
        prune(tiny_llama(), "magnitude", 0.5, budget="owl")
    assert "needs calibration data" in _one_line(e)
    with pytest.raises(JunkDNAError) as e:
        parse_budget("owl:Q=3")
    assert "no parameter 'Q'" in _one_line(e) and "Valid: M, lambda" in str(e.value)
    with pytest.raises(JunkDNAError) as e:
        parse_budget("owl:lamda=0.1")
    assert "Did you mean 'lambda'?" in _one_line(e)
    assert parse_budget("owl:m=7,LAMBDA=0.1").text() == "owl:M=7,lambda=0.1"
    with pytest.raises(JunkDNAError) as e:
        parse_budget("uniorm")
    assert "Did you mean 'uniform'?" in _one_line(e)
    # magnitude's default scope is global: with a budget it becomes layer
    ms = prune(tiny_llama(), "magnitude", 0.5, budget="linear:0.1")
    assert ms.metadata["scope"] == "layer"


def test_study_block_owl_needs_calibration():
    from junkdna.study.checks import pruning_points
    from junkdna.study.config import Pruning

    block = Pruning(methods=["magnitude"], sparsities=[0.5], budgets=["uniform", "owl"])
    with pytest.raises(JunkDNAError) as e:
        pruning_points(block, "experiment[0].pruning[0]")
    assert "budget 'owl' needs calibration data; add calibration = {" in _one_line(e)
    with pytest.raises(JunkDNAError) as e:
        pruning_points(Pruning(methods=["wanda"], sparsities=[0.5], budgets=["owl:Q=3"]), "p")
    assert "p.budgets" in _one_line(e)


def test_cli_errors_are_one_line_exit_2(tmp_path, capsys):
    from junkdna.cli import main

    folder = tmp_path / "tiny-llama"
    tiny_llama(layers=3).save_pretrained(folder)
    cases = [
        (["--budget", "owl:Q=3"], "no parameter 'Q'"),
        (["--budget", "0.3,0.5,0.8", "--scope", "layer"], "weighted by the blocks' prunable sizes"),
        (["--budget", "0.5,0.5"], "3 blocks"),
        (["--budget", "owl", "--scope", "global"], "use scope layer or row"),
    ]
    for extra, words in cases:
        capsys.readouterr()
        out = tmp_path / "out"
        rc = main(["prune", str(folder), "--sparsity", "0.5", "--out", str(out), "--quiet", *extra])
        err = capsys.readouterr().err
        assert rc == 2 and len(err.splitlines()) == 1 and words in err, (extra, err)
        assert not out.exists()


# ----------------------------------------------------------------------------- studies

# Mask keys and run ids computed with the code BEFORE budgets existed (git HEAD of 2026-12-04):
# a uniform budget must leave every one of them as it was. The default calibration's two were
# recomputed when its text changed (SQuAD dev -> LAMBADA, 2026-12-08: before, fa7331453552ab92
# and 187520f7d5ab7038), which changes what those masks are; tests/test_texts.py pins that.
CAL = {"source": "default", "nsamples": 128, "seqlen": 512, "seed": 0}
KEYS = [
    (("magnitude", 0.5, "unstructured", None, None), "ffdc7873509e7a0d", "c9f990b4e58a37ae"),
    (("wanda", 0.5, "unstructured", None, CAL), "94734da1b3722250", "401f54ebf2558dd0"),
    (("sparsegpt", None, "2:4", None, CAL), "381cc52439669a1a", "4b5535310043eca7"),
]


def _spec(point):
    from junkdna.recipe import Recipe
    from junkdna.study.spec import RunSpec

    return RunSpec(model="minilm", task={"name": "sst2"}, regime="sparse", recipe=Recipe(seed=0),
                   pruning=point)  # fmt: skip


@pytest.mark.parametrize(("args", "mask_key", "run_id"), KEYS, ids=[k[0][0] for k in KEYS])
def test_existing_mask_keys_and_run_ids_unchanged(args, mask_key, run_id):
    from junkdna.study.spec import PruningPoint

    for point in (PruningPoint.resolve(*args), PruningPoint.resolve(*args, budget="uniform")):
        assert "budget" not in point.to_config()
        assert _spec(point).mask_key == mask_key
        assert _spec(point).run_id == run_id


def test_study_grid_of_budgets():
    from junkdna.study.checks import pruning_points
    from junkdna.study.config import Calibration, Pruning

    budgets = ["uniform", "owl", "owl:M=7,lambda=0.1", "linear:0.1", [0.4, 0.5, 0.6]]
    block = Pruning(methods=["magnitude", "wanda"], sparsities=[0.5], budgets=budgets,
                    calibration=Calibration())  # fmt: skip
    points = pruning_points(block, "p")
    assert len(points) == 10
    configs = [p.to_config() for p in points]
    assert [c.get("budget") for c in configs[:5]] == [
        None, "owl", "owl:M=7,lambda=0.1", "linear:0.1", [0.4, 0.5, 0.6],
    ]  # fmt: skip
    mag = points[:5]
    assert mag[0].calibration is None and mag[0].scope == "global"  # uniform magnitude: as before
    assert mag[1].calibration is not None and mag[1].scope == "layer"  # owl needs activations
    assert mag[3].calibration is None  # linear does not
    assert len({_spec(p).mask_key for p in points}) == 10
    assert [p.describe() for p in points[5:7]] == [
        "wanda unstructured 0.5",
        "wanda+owl unstructured 0.5",
    ]


def test_export_and_analysis_tell_budgets_apart():
    from junkdna.analysis.normalize import validate_results
    from junkdna.study.export import COLUMNS, _row
    from junkdna.study.spec import PruningPoint

    assert "budget" in COLUMNS
    rows = []
    for budget in (None, "owl"):
        point = PruningPoint.resolve("wanda", 0.5, "unstructured", None, CAL, budget=budget)
        rows.append(_row(_spec(point), {"status": "done", "metrics": {"accuracy": 0.8}}))
    assert [r["budget"] for r in rows] == ["uniform", "owl"]
    assert [r["method"] for r in rows] == ["wanda", "wanda"]
    import pandas as pd

    df = validate_results(pd.DataFrame(rows))
    assert df["method"].tolist() == ["wanda", "wanda+owl"]


# ----------------------------------------------------------------------------- a real model


@pytest.fixture(scope="module")
def smollm():
    from junkdna.models import load_model, load_tokenizer

    try:
        return load_model("smollm2-135m"), load_tokenizer("smollm2-135m")
    except JunkDNAError as e:  # the offline package is missing
        pytest.skip(str(e))


def test_owl_wanda_on_smollm2(smollm):
    from junkdna.pruning.calibration import calibration_from_source

    model, tokenizer = smollm
    calib = calibration_from_source(tokenizer, "default", nsamples=2, seqlen=64, seed=0)
    ms = prune(model, "wanda", 0.5, calibration=calib, budget="owl")
    total = sum(m.numel() for m in ms.masks.values())
    assert sum(_removed(m) for m in ms.masks.values()) == n_to_remove(0.5, total)
    info = ms.metadata["budget"]
    assert info["owl"]["fallback"] is None and len(info["blocks"]) == 30
    targets = [b["target"] for b in info["blocks"]]
    real = [b["sparsity"] for b in info["blocks"]]
    assert len(set(round(r, 4) for r in real)) > 10  # the blocks really differ
    # keep ratios span exactly [0, 2 lambda] before the shift: so do the sparsities
    assert max(targets) - min(targets) == pytest.approx(2 * 0.08)
    assert max(real) - min(real) <= 2 * 0.08 + 1e-3
    assert math.fsum(targets) / 30 == pytest.approx(0.5)  # equal blocks: OWL's plain mean
    assert ms.metadata["calibration"]["nsamples"] == 2


def test_compare_gives_one_row_per_budget(tmp_path):
    import csv

    from test_generative import WORDS, word_tokenizer

    from junkdna.cli import main

    folder = tmp_path / "tiny-llama"
    tiny_llama(layers=3).save_pretrained(folder)
    word_tokenizer().save_pretrained(folder)
    text = tmp_path / "words.txt"
    gen = torch.Generator().manual_seed(0)
    text.write_text(" ".join(WORDS[i] for i in torch.randint(0, 60, (600,), generator=gen)))
    out = tmp_path / "cmp"
    argv = ["compare", str(folder), "--methods", "magnitude,wanda", "--sparsity", "0.5",
            "--budget", "uniform", "--budget", "owl", "--dataset", str(text), "--seqlen", "32",
            "--calibration", str(text), "--nsamples", "2", "--calib-seqlen", "16",
            "--zeroshot", "", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    rows = list(csv.DictReader((out / "table.csv").open()))
    assert [r["method"] for r in rows] == [
        "dense", "magnitude", "magnitude+owl", "wanda", "wanda+owl",
    ]  # fmt: skip
    assert [r["scope"] for r in rows[1:]] == ["global", "layer", "row", "row"]
    for r in rows[1:]:
        assert float(r["sparsity"]) == pytest.approx(0.5, abs=1e-3)
    results = json.loads((out / "results.json").read_text())
    assert results["rows"][2]["pruning"]["budget"]["budget"] == "owl"
    assert results["rows"][1]["pruning"]["budget"] is None
