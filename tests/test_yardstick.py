"""The field's yardstick (``junkdna ppl`` / ``junkdna compare``): perplexity against a hand-written
oracle (full windows only, the partial one dropped), zero-shot scoring against full forwards and
lm-eval's token split, the commands' JSON, tables and plot, and their one-line errors."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from conftest import tiny_llama  # noqa: E402
from test_bigbench import make_archive  # noqa: E402
from test_generative import WORDS, word_tokenizer  # noqa: E402

from junkdna.cli import main  # noqa: E402
from junkdna.errors import JunkDNAError  # noqa: E402
from junkdna.pruning import yardstick as ys  # noqa: E402

TOY = "toy_mc"


def _toy_items(limit):
    items = [
        ys.ChoiceItem(
            ("Question: w1 w2\nAnswer:",), (" red", " blue green", " cat"), 0, (3, 10, 3)
        ),
        ys.ChoiceItem(("Question: w3\nAnswer: ",), ("red", "w4 w5"), 1, (3, 5)),  # trailing space
        ys.ChoiceItem(("w6 w7 red", "w6 w7 blue"), (" w8 w9",), 1, (6, 6)),  # WinoGrande-like
    ]
    return items[:limit] if limit else items


if TOY not in ys.ZEROSHOT:
    ys.ZEROSHOT.add(TOY, ys.ZeroShotTask(TOY, "tests", _toy_items, 0.4))


def _words(n: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(WORDS[i] for i in rng.integers(0, 60, n))


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-llama")
    tiny_llama().save_pretrained(folder)
    word_tokenizer().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def text_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("text") / "words.txt"
    path.write_text(_words(700))
    return path


# ----------------------------------------------------------------------------- perplexity


def oracle_perplexity(model, ids: list[int], seqlen: int) -> tuple[float, int, int]:
    """By hand: full windows only, each token from the ones before it in its window."""
    nll, count, windows = 0.0, 0, 0
    for start in range(0, len(ids) - seqlen + 1, seqlen):
        window = ids[start : start + seqlen]
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([window])).logits[0].double()
        for t in range(1, seqlen):
            logp = logits[t - 1] - torch.logsumexp(logits[t - 1], dim=-1)
            nll -= float(logp[window[t]])
            count += 1
        windows += 1
    return math.exp(nll / count), count, windows


def test_perplexity_matches_a_hand_oracle_and_drops_the_partial_window():
    model = tiny_llama()
    ids = torch.randint(4, 120, (3 * 16 + 7,), generator=torch.Generator().manual_seed(1))
    got = ys.perplexity(model, ids, 16, batch_size=2)
    want, count, windows = oracle_perplexity(model, ids.tolist(), 16)
    assert (got.windows, got.tokens, got.dropped_tokens) == (windows, count, 7) == (3, 45, 7)
    assert got.perplexity == pytest.approx(want, rel=1e-5)
    # The repositories' formula: exp(mean over windows of each window's mean NLL).
    repos = math.exp(np.mean([w / 15 for w in got.window_nll]))
    assert got.perplexity == pytest.approx(repos, rel=1e-9)
    # A window cap evaluates the first windows only; the batch size changes nothing.
    first = ys.perplexity(model, ids, 16, batch_size=1, max_windows=1)
    assert first.windows == 1 and first.window_nll[0] == pytest.approx(got.window_nll[0], 1e-5)


def test_partial_window_kept_on_request_matches_lm_scoring():
    from junkdna.heads.lm_scoring import perplexity as lm_perplexity

    model, tok = tiny_llama(), word_tokenizer()
    text = _words(53, seed=2)
    ids = ys.token_stream(tok, text)
    assert ids.numel() == 53  # the word tokenizer adds no special tokens
    got = ys.perplexity(model, ids, 16, partial=True)
    ref = lm_perplexity(model, tok, [text], window=16)
    assert got.windows == 4 and got.tokens == ref["tokens"] == 3 * 15 + 4
    assert got.perplexity == pytest.approx(ref["perplexity"], rel=1e-5)


def test_window_errors():
    ids = torch.arange(10)
    with pytest.raises(JunkDNAError, match=">= 2"):
        ys.windows_of(ids, 1)
    with pytest.raises(JunkDNAError, match="fewer than one window"):
        ys.windows_of(ids, 11)
    with pytest.raises(JunkDNAError, match="exceeds the model's context length 64"):
        ys.check_seqlen(65, tiny_llama(layers=1))
    assert ys.default_seqlen(tiny_llama(layers=1)) == 64


def test_newwiki_reads_the_offline_paragraphs_deduplicated(tmp_path):
    para = {"context": "  A   paragraph.\n", "qas": []}
    member = {"data": [{"title": "X", "paragraphs": [para, para, {"context": "Two.", "qas": []}]}]}
    archive = make_archive(tmp_path, {ys.NEW_WIKI: member})
    text = ys.newwiki(archive)
    assert text.texts == ["A paragraph.", "Two."] and text.text == "A paragraph.\n\nTwo."


# ----------------------------------------------------------------------------- zero-shot


def naive(model, context: list[int], cont: list[int]) -> float:
    logp = model(input_ids=torch.tensor([context + cont])).logits[0].log_softmax(-1)
    return sum(float(logp[len(context) - 1 + j, t]) for j, t in enumerate(cont))


def test_zero_shot_scores_match_full_forwards_and_lm_eval_split():
    model, tok = tiny_llama(), word_tokenizer()
    ctx, cont = ys.encode_pair(tok, "Question: w3\nAnswer: ", "red")  # space moves to the choice
    assert tok.decode(ctx) == "Question: w3 Answer:" and tok.decode(cont) == "red"
    assert ys.encode_pair(tok, "", " w1")[0] == [tok.eos_token_id]  # lm-eval: EOT as context
    items = _toy_items(None)
    enc = ys.encode_items(tok, TOY, items)
    got = ys.score_items(model, enc, tok.pad_token_id, batch_size=2)
    acc = norm = tokn = 0
    for item in items:
        lls, ntok = [], []
        for c, t in item.pairs():
            c_ids, t_ids = ys.encode_pair(tok, c, t)
            with torch.no_grad():
                lls.append(naive(model, c_ids, t_ids))
            ntok.append(len(t_ids))
        lls = np.array(lls)
        acc += np.argmax(lls) == item.label
        norm += np.argmax(lls / np.array(item.lengths)) == item.label
        tokn += np.argmax(lls / np.array(ntok)) == item.label
    assert got["n"] == 3
    assert (got["acc"], got["acc_norm"], got["acc_token"]) == (acc / 3, norm / 3, tokn / 3)


def test_hub_task_formatters_follow_lm_eval():
    arc = ys.fmt_arc({"question": "Q?", "answerKey": "B",
                      "choices": {"label": ["A", "B"], "text": ["x", "yy"]}})  # fmt: skip
    assert arc.contexts == ("Question: Q?\nAnswer:",) and arc.continuations == (" x", " yy")
    assert arc.label == 1 and arc.lengths == (1, 2)
    wino = ys.fmt_winogrande(
        {
            "sentence": "The cup fit in the _ because it was big.",
            "option1": "bag",
            "option2": "cup",
            "answer": "2",
        }  # fmt: skip
    )
    assert wino.contexts == ("The cup fit in the bag", "The cup fit in the cup")
    assert wino.continuations == (" because it was big.",) and wino.label == 1
    hs = ys.fmt_hellaswag(
        {
            "activity_label": "Cooking",
            "ctx_a": "A man [title] cuts.",
            "ctx_b": "he",
            "endings": ["eats [step] it.", "runs."],
            "label": "0",
        }  # fmt: skip
    )
    assert hs.contexts == ("Cooking: A man. cuts. He",) and hs.continuations[0] == " eats it."
    assert ys.fmt_boolq({"passage": "P", "question": "q", "label": 1}).continuations == (
        " no",
        " yes",
    )


def test_squad_mc_closed_book_items_from_the_local_archive(tmp_path, monkeypatch):
    from test_qa import squad_json

    from junkdna.data import bigbench

    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path / "home"))
    fake = make_archive(tmp_path, {bigbench.SQUAD_DEV: squad_json()})
    raw = bigbench.default_archive().raw
    bigbench.extract([bigbench.SQUAD_DEV], bigbench.Archive(fake.path, None, False, raw))
    items = ys.ZEROSHOT.get("squad_mc").load(3)
    assert len(items) == 3
    assert items[0].contexts[0].startswith("Question: ") and items[0].contexts[0].endswith(
        "\nAnswer:"
    )
    assert len(items[0].continuations) == 4 and "Paragraph" not in items[0].contexts[0]


# ----------------------------------------------------------------------------- commands


def test_ppl_json_and_pruning_flags_prune_the_evaluated_model(llama_dir, text_file, tmp_path):
    dense, pruned = tmp_path / "dense.json", tmp_path / "wanda.json"
    base = ["ppl", str(llama_dir), "--dataset", str(text_file), "--seqlen", "32", "--quiet"]
    assert main([*base, "--json", str(dense), "--zeroshot", TOY]) == 0
    d = json.loads(dense.read_text())
    for key in ("perplexity", "tokens", "windows", "seconds", "dataset", "seqlen", "model",
                "pruning", "sparsity", "memory", "zero_shot"):  # fmt: skip
        assert key in d, key
    assert (d["seqlen"], d["windows"], d["tokens"]) == (32, 700 // 32, (700 // 32) * 31)
    assert d["dataset"] == "words.txt" and d["pruning"] is None and d["sparsity"] < 0.01
    assert d["zero_shot"][TOY]["n"] == 3
    flags = ["--method", "wanda", "--structure", "2:4", "--calibration", str(text_file),
             "--nsamples", "2", "--calib-seqlen", "16"]  # fmt: skip
    assert main([*base, *flags, "--json", str(pruned)]) == 0
    p = json.loads(pruned.read_text())
    assert p["sparsity"] == pytest.approx(0.5, abs=1e-3)  # of the model that was evaluated
    assert p["pruning"]["method"] == "wanda" and p["pruning"]["structure"] == "2:4"
    assert p["pruning"]["calibration"]["seqlen"] == 16 and p["perplexity"] != d["perplexity"]
    assert p["pruning"]["collapsed_layers"] == []
    # Masks written by `junkdna prune` give the same model, hence the same perplexity.
    masks = tmp_path / "m"
    prune = ["prune", str(llama_dir), *flags[:6], "--nsamples", "2", "--seqlen", "16"]
    assert main([*prune, "--out", str(masks), "--quiet"]) == 0
    again = tmp_path / "again.json"
    assert main([*base, "--masks", str(masks), "--json", str(again)]) == 0
    a = json.loads(again.read_text())
    assert a["perplexity"] == pytest.approx(p["perplexity"], rel=1e-6)
    assert a["pruning"]["masks_from"] == str(masks)


def test_compare_writes_one_row_per_configuration_plus_dense(llama_dir, text_file, tmp_path):
    out = tmp_path / "cmp"
    argv = ["compare", str(llama_dir), "--methods", "magnitude,wanda", "--sparsity", "0.5",
            "--structure", "unstructured,2:4", "--dataset", str(text_file), "--seqlen", "32",
            "--calibration", str(text_file), "--nsamples", "2", "--calib-seqlen", "16",
            "--zeroshot", TOY, "--scope", "magnitude=layer", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert {"table.md", "table.csv", "comparison.png", "comparison.svg", "results.json"} <= {
        f.name for f in out.iterdir()
    }
    rows = list(csv.DictReader((out / "table.csv").open()))
    got = [(r["method"], r["structure"]) for r in rows]
    assert got == [("dense", ""), ("magnitude", "unstructured"), ("magnitude", "2:4"),
                   ("wanda", "unstructured"), ("wanda", "2:4")]  # fmt: skip
    assert rows[1]["scope"] == "layer" and rows[3]["scope"] == "row"
    for r in rows[1:]:
        assert float(r["sparsity"]) == pytest.approx(0.5, abs=1e-3)
        assert float(r["perplexity"]) > 0 and f"{TOY}_acc" in r and float(r["cpu_peak_mb"]) > 0
    md = (out / "table.md").read_text()
    assert md.count("\n| ") == 6  # header + 5 rows
    assert (out / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    assert not [f for f in out.iterdir() if f.name.startswith(".")]  # no stage left behind


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--dataset", "wikitext3"], "unknown dataset 'wikitext3'. Did you mean 'wikitext2'?"),
        (["--dataset", "missing/nope.txt"], "dataset file 'missing/nope.txt' does not exist"),
        (["--seqlen", "1"], "--seqlen must be an integer >= 2"),
        (["--seqlen", "65"], "exceeds the model's context length 64"),
        (["--masks", "m", "--sparsity", "0.5"], "either --masks DIR or pruning flags"),
        (["--zeroshot", "piqa2"], "unknown zero-shot task 'piqa2'"),
    ],
)
def test_bad_input_is_one_line_exit_2(llama_dir, text_file, capsys, extra, needle):
    argv = ["ppl", str(llama_dir), "--dataset", str(text_file), "--quiet", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("junkdna ppl: error: ") and "\n" not in err
    assert needle in err


def test_compare_bad_scope_and_missing_sparsity(llama_dir, text_file, tmp_path, capsys):
    base = ["compare", str(llama_dir), "--dataset", str(text_file), "--out", str(tmp_path / "o")]
    assert main([*base, "--methods", "magnitude", "--scope", "wanda=row", "--sparsity", "0.5"]) == 2
    assert "not METHOD=SCOPE for one of --methods" in capsys.readouterr().err
    assert main([*base, "--methods", "magnitude"]) == 2
    assert "needs a sparsity" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_smollm2_perplexity_offline_is_sane():
    """The shipped model on two windows of the offline held-out text (~3 s)."""
    from junkdna.data import bigbench
    from junkdna.models import load_model, load_tokenizer

    archive = bigbench.default_archive()
    if not (archive.path.is_file() or (archive.raw / ys.NEW_WIKI).is_file()):
        pytest.skip("the BIG-bench archive is not on this machine (`junkdna data prepare`)")

    model, tok = load_model("smollm2-135m").eval(), load_tokenizer("smollm2-135m")
    ids = ys.token_stream(tok, ys.load_eval_text("newwiki").text)
    assert ids.numel() > 200_000
    got = ys.perplexity(model, ids, 128, max_windows=2)
    assert got.tokens == 254 and 5 < got.perplexity < 100  # measured 27.7


def test_reproduction_script_commands_parse(tmp_path, capsys):
    """benchmarks/reproduce_published.py (GPU + hub) cannot run here; its commands must parse."""
    import importlib.util
    import shlex

    from junkdna.cli import build_parser
    from junkdna.pruning import METHODS, resolve_rule

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "reproduce_published.py"
    spec = importlib.util.spec_from_file_location("reproduce_published", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    assert mod.main(["--out", str(tmp_path), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10  # LLaMA-2-7B: dense + 3 methods x 2 structures; BLOOM-560M: 3
    parser = build_parser()
    for line in lines:
        args = parser.parse_args(shlex.split(line)[3:])  # after `python -m junkdna`
        assert args.dataset == "wikitext2" and args.precision == "fp16"
        if args.method is not None:
            resolve_rule(METHODS.get(args.method), args.sparsity, args.structure, args.scope)
            assert args.nsamples == 128 and args.calibration.endswith(".jsonl")
