"""Multiple choice from a local file with a generating head (issue 29): the file's choices are
scored by log-likelihood, exactly as the library's choice scoring (``heads.lm_scoring``) and a
brute-force forward per choice score them; labels that cannot be read are named errors; a score
below its chance or majority baseline is flagged (``tasks.plausibility``), with the rule's
false-flag rate measured on simulated runs of known answer."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from conftest import tiny_llama, tiny_t5, word_tokenizer  # noqa: E402

from junkdna.cli import main  # noqa: E402
from junkdna.errors import JunkDNAError  # noqa: E402

# Twelve easy questions, written by hand, in the issue's file format (ARC as lm-eval writes it:
# the prompt ends in "Answer:", each choice starts with a space, the label is an index).
QUESTIONS = [
    ("What color is the sky ?", ["blue", "green", "red", "black"], 0),
    ("What color is grass ?", ["red", "green", "white", "blue"], 1),
    ("What color is snow ?", ["black", "red", "white", "green"], 2),
    ("How many legs has a dog ?", ["two", "six", "eight", "four"], 3),
    ("How many legs has a bird ?", ["two", "four", "six", "eight"], 0),
    ("What is hot ?", ["snow", "fire", "ice", "rain"], 1),
    ("What is cold ?", ["fire", "sun", "ice", "tea"], 2),
    ("Where do fish live ?", ["sky", "sand", "tree", "water"], 3),
    ("What do cows drink ?", ["water", "oil", "sand", "fire"], 0),
    ("What shines in the day ?", ["moon", "sun", "lamp", "star"], 1),
    ("What shines at night ?", ["sun", "fire", "moon", "grass"], 2),
    ("What do bees make ?", ["milk", "oil", "tea", "honey"], 3),
]


def mc_rows(questions=QUESTIONS, labels=None) -> list[dict]:
    return [
        {"text": f"Question: {q}\nAnswer:", "choices": [" " + c for c in cs], "label": y}
        for (q, cs, y), y in zip(questions, labels or [y for *_, y in questions], strict=True)
    ]


def vocabulary(rows) -> list[str]:
    words = {w for r in rows for t in (r["text"], *r["choices"]) for w in t.replace("?", " ? ")
             .replace(":", " : ").split()}  # fmt: skip
    return sorted(words)


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory):
    """A tiny random LlamaForCausalLM saved with a word tokenizer over the questions' words."""
    folder = tmp_path_factory.mktemp("models") / "tiny-llama"
    words = vocabulary(mc_rows())
    assert len(words) + 4 <= 120  # the conftest models' vocabulary
    tiny_llama().save_pretrained(folder)
    word_tokenizer(words).save_pretrained(folder)
    return folder


def _finetune(model: Path, task: Path, out: Path, *extra: str) -> tuple[int, dict]:
    rc = main(["finetune", str(model), "--task", str(task), "--regime", "none",
               "--validation", str(task), "--out", str(out), *extra])  # fmt: skip
    return rc, json.loads((out / "metrics.json").read_text())


def oracle(model_dir: Path, rows) -> tuple[list[list[tuple[float, int]]], dict[str, float]]:
    """The library's own choice scoring on the same items, tokenized by hand: per-choice
    (summed log-prob, tokens) and the accuracies of its picks."""
    from junkdna.heads.lm_scoring import choice_logprobs, pick
    from junkdna.models import load_model, load_tokenizer

    model = load_model(str(model_dir), head="causal-lm").eval()
    tok = load_tokenizer(str(model_dir))
    prompts = [tok(r["text"], add_special_tokens=False)["input_ids"] for r in rows]
    choices = [[tok(c, add_special_tokens=False)["input_ids"] for c in r["choices"]] for r in rows]
    scores = choice_logprobs(model, prompts, choices, tok.pad_token_id, batch_size=5)
    picks = np.array([pick(s) for s in scores])
    labels = np.array([r["label"] for r in rows])
    acc = {"accuracy": float((picks[:, 0] == labels).mean()),
           "accuracy_norm": float((picks[:, 1] == labels).mean())}  # fmt: skip
    # Brute force, one whole sequence per choice: the KV-cache sharing changes nothing.
    with torch.no_grad():
        for p, cs, sc in zip(prompts, choices, scores, strict=True):
            for c, (total, n) in zip(cs, sc, strict=True):
                logp = model(input_ids=torch.tensor([p + c])).logits[0].log_softmax(-1)
                want = sum(float(logp[len(p) - 1 + j, t]) for j, t in enumerate(c))
                assert n == len(c) and total == pytest.approx(want, abs=1e-4)
    return scores, acc


# ----------------------------------------------------------------------------- the issue's command


def test_the_issues_command_scores_what_the_library_scoring_gives(llama_dir, tmp_path, capsys):
    rows = mc_rows()
    f = write_jsonl(tmp_path / "mc.jsonl", rows)
    rc, rec = _finetune(llama_dir, f, tmp_path / "zs", "--head", "causal-lm",
                        "--choices-field", "choices")  # fmt: skip
    _, want = oracle(llama_dir, rows)
    assert rc == 0 and rec["status"] == "ok" and rec["warnings"] == []
    assert rec["metrics"] == want  # exactly: the same picks on the same 12 items
    assert rec["config"]["task"]["metric"] == "choice_accuracy"
    assert rec["config"]["task"]["choices"] == "choices" and rec["n_validation"] == 12
    assert f"accuracy={want['accuracy']:.4f}" in capsys.readouterr().out
    # The file's "choices" column is found without the flag; a label may be the choice's text.
    rc, again = _finetune(llama_dir, f, tmp_path / "auto", "--head", "causal-lm")
    assert rc == 0 and again["metrics"] == want
    texts = [{**r, "label": r["choices"][r["label"]]} for r in rows]
    g = write_jsonl(tmp_path / "by_text.jsonl", texts)
    rc, by_text = _finetune(llama_dir, g, tmp_path / "text", "--head", "causal-lm")
    assert rc == 0 and by_text["metrics"] == want


def test_a_choice_with_its_own_leading_space_gets_no_second_one():
    """lm-eval files give " Paris" after "Answer:"; a second space would change the tokens."""
    from junkdna.heads.causal_lm import encode_choices, separator
    from junkdna.recipe import Recipe

    assert separator("Answer:", " Paris") == "" and separator("Answer:", "Paris") == " "
    assert separator("Answer: ", "Paris") == ""

    class Chars:  # one id per character: the ids show every space
        bos_token_id, eos_token_id, pad_token_id = 1, 2, 0

        def __call__(self, texts, add_special_tokens=False):
            return {"input_ids": [[ord(ch) for ch in t] for t in texts]}

    feats = encode_choices(Chars(), [["Answer:", [" Paris", "Rome"]]], [0], Recipe(), True)
    assert feats[0]["choice_ids"] == [[ord(ch) for ch in " Paris"], [ord(ch) for ch in " Rome"]]
    train = encode_choices(Chars(), [["Answer:", [" Paris", "Rome"]]], [0], Recipe(), False)
    assert train[0]["input_ids"][:13] == [ord(ch) for ch in "Answer: Paris"]


def test_seq2seq_scores_each_choice_by_its_target_log_likelihood(tmp_path):
    """T5: the encoder reads the prompt once, each choice's target (EOS included) is scored in
    the decoder; the oracle runs one whole forward per (question, choice)."""
    from junkdna.recipe import Recipe
    from junkdna.tasks.local import load_local_task
    from junkdna.transfer.evaluate import evaluate

    rows = mc_rows()
    f = write_jsonl(tmp_path / "mc.jsonl", rows)
    task = load_local_task(f, head="seq2seq", validation=f)
    assert task.choices_field == "choices" and task.metric == "choice_accuracy"
    model, tok = tiny_t5(), word_tokenizer(vocabulary(rows))
    got = evaluate(model, tok, task, Recipe(eval_batch_size=5))
    picks = []
    with torch.no_grad():
        for r in rows:
            ids = torch.tensor([tok(r["text"])["input_ids"]])
            sums = []
            for c in r["choices"]:
                target = tok(text_target=c)["input_ids"]
                assert target[-1] == tok.eos_token_id  # the end of the answer counts
                logp = model(input_ids=ids, labels=torch.tensor([target])).logits[0].log_softmax(-1)
                total = sum(float(logp[j, t]) for j, t in enumerate(target))
                sums.append((total, total / len(target)))
            picks.append(
                [int(np.argmax([s[0] for s in sums])), int(np.argmax([s[1] for s in sums]))]
            )
    labels = np.array([r["label"] for r in rows])
    picks = np.array(picks)
    assert got == {"accuracy": float((picks[:, 0] == labels).mean()),
                   "accuracy_norm": float((picks[:, 1] == labels).mean())}  # fmt: skip


def test_seq2seq_learns_the_gold_choices_it_is_trained_on():
    """Training on a choice task is training prompt -> gold choice: the memorised questions'
    gold choices then win the log-likelihood comparison."""
    from datasets import Dataset

    from junkdna.recipe import Recipe
    from junkdna.tasks.base import TaskData
    from junkdna.transfer import finetune
    from junkdna.transfer.evaluate import evaluate

    rows = mc_rows()
    ds = Dataset.from_list(rows)
    task = TaskData("easy", "seq2seq", ds, ds, ("text",), "label", "choice_accuracy",
                    choices_field="choices")  # fmt: skip
    model, tok = tiny_t5(), word_tokenizer(vocabulary(rows))
    recipe = Recipe(lr=1e-2, epochs=200, batch_size=12, max_length=16, warmup_ratio=0.0)
    before = evaluate(model, tok, task, recipe)["accuracy"]
    after = finetune(model, tok, task, "dense", None, recipe).metrics["accuracy"]
    assert after == 1.0 > before


# ----------------------------------------------------------------------------- labels and heads


def test_labels_and_heads_must_agree(tmp_path):
    from junkdna.tasks.local import load_local_task

    rows = mc_rows()
    f = write_jsonl(tmp_path / "mc.jsonl", rows)
    # Index labels with a generating head and no choices: named, with the list column found.
    renamed = [{("opts" if k == "choices" else k): v for k, v in r.items()} for r in rows]
    plain = write_jsonl(tmp_path / "plain.jsonl", renamed)
    with pytest.raises(JunkDNAError, match=r"row 1: label 0 is an integer.*'opts' looks like"):
        load_local_task(plain, head="causal-lm")
    # ... but numbers as answers are fine as text or under numeric_match.
    nums = write_jsonl(
        tmp_path / "n.jsonl", [{"text": f"{i} + 1 =", "label": i + 1} for i in range(5)]
    )
    assert load_local_task(nums, head="causal-lm", metric="numeric_match").metric == "numeric_match"
    # A label outside the choices names the FILE's row, also under a shuffled hold-out split.
    bad = [dict(r) for r in rows]
    bad[6]["label"] = 4
    g = write_jsonl(tmp_path / "bad.jsonl", bad)
    with pytest.raises(JunkDNAError, match=r"row 7: label 4 is neither a choice index in 0\.\.3"):
        load_local_task(g, head="causal-lm")
    # The choices field given to a head that never reads one, or a metric that cannot read
    # choice predictions.
    with pytest.raises(JunkDNAError, match="head 'classification' does not use choices"):
        load_local_task(f, choices_field="choices")
    with pytest.raises(JunkDNAError, match="valid: choice_accuracy"):
        load_local_task(f, head="causal-lm", metric="accuracy")
    with pytest.raises(JunkDNAError, match="lacks column"):
        load_local_task(f, head="causal-lm", choices_field="options")


def test_local_classification_records_its_majority_baseline(tmp_path):
    """Hand-counted: training majority class 1 (6 of 10); validation rows 1,1,0,0,1 -> 3/5; the
    first 2 validation rows (a study's max_validation) -> 2/2."""
    from junkdna.recipe import Recipe
    from junkdna.study.run import load_run_task
    from junkdna.study.spec import RunSpec
    from junkdna.tasks.local import load_local_task

    train = write_jsonl(tmp_path / "tr.jsonl",
                        [{"text": f"t{i}", "label": int(i < 6)} for i in range(10)])  # fmt: skip
    val = write_jsonl(tmp_path / "va.jsonl",
                      [{"text": f"v{i}", "label": y} for i, y in enumerate([1, 1, 0, 0, 1])])  # fmt: skip
    task = load_local_task(train, validation=val)
    assert task.info["majority_label"] == 1
    assert task.info["majority_baseline"] == {"validation": 0.6, "validation_rows": 5}
    cfg = {"name": "tr", "file": str(train), "validation": str(val), "max_validation": 2}
    capped = load_run_task(RunSpec("m", cfg, "none", Recipe()))
    assert capped.info["majority_baseline"] == {"validation": 1.0, "validation_rows": 2}


# ----------------------------------------------------------------------------- the flag


def test_the_flag_on_hand_computed_cases():
    from junkdna.tasks.plausibility import TAIL, below_baseline, check_run

    # 40 four-way questions: 3 standard errors = 3 sqrt(0.25 * 0.75 / 40) = 0.2054.
    flag = below_baseline(0.0, 0.25, 40)
    assert flag is not None and flag.standard_errors == pytest.approx(0.25 / math.sqrt(0.1875 / 40))
    assert flag.tail == pytest.approx(0.75**40)
    one = below_baseline(1 / 40, 0.25, 40)  # 0.225 below: flagged; P(X <= 1) = 1.44e-4
    assert one is not None and one.tail == pytest.approx(0.75**40 + 40 * 0.25 * 0.75**39)
    assert below_baseline(2 / 40, 0.25, 40) is None  # 0.200 below: within 3 SE
    assert below_baseline(0.0, 0.25, 12) is None  # 12 items cannot tell 0 from chance
    # A skewed majority, few items: 3 SE says flag, the exact tail (1 - 0.99^9 = 0.086) says no.
    assert 0.99 - 3 * math.sqrt(0.99 * 0.01 / 9) > 8 / 9
    assert below_baseline(8 / 9, 0.99, 9) is None and TAIL < 1 - 0.99**9
    # The run's view: chance before majority; no accuracy key, no baseline: nothing to judge.
    info = {"chance": 0.25, "majority_baseline": {"validation": 0.5}}
    (w,) = check_run({"accuracy": 0.0, "accuracy_norm": 0.0}, info, 40)
    assert w["kind"] == "chance" and w["baseline"] == 0.25 and "below the chance" in w["message"]
    (m,) = check_run(
        {"matthews": -0.1, "accuracy": 0.3}, {"majority_baseline": info["majority_baseline"]}, 100
    )
    assert m["kind"] == "majority" and m["metric"] == "accuracy"
    assert check_run({"bleu": 1.0}, info, 40) == [] and check_run({"accuracy": 0.0}, {}, 40) == []


def test_the_flag_is_calibrated_on_simulated_runs_at_the_baseline():
    """Known answer: a model AT its baseline (each item right with probability b, independent).
    Binomial nulls exactly, over a grid of baselines and sizes; mixed 2-5 choice questions (a
    guesser's count is Poisson-binomial) by simulation. The flag must fire in at most TAIL of
    such runs; a run that scores 0 on a few dozen four-way questions must always be flagged."""
    from scipy.stats import binom

    from junkdna.tasks.plausibility import TAIL, below_baseline

    worst = 0.0
    for b in (0.02, 0.1, 0.2, 0.25, 1 / 3, 0.5, 0.7, 0.9, 0.95, 0.99):
        for n in [*range(1, 150), 300, 570, 1000]:
            flagged = [k for k in range(n + 1) if below_baseline(k / n, b, n) is not None]
            worst = max(worst, float(binom.pmf(flagged, n, b).sum()) if flagged else 0.0)
    assert worst <= TAIL
    rng = np.random.default_rng(0)
    for n in (30, 100, 570):
        ks = rng.integers(2, 6, size=n)  # 2..5 choices per question
        chance = float((1 / ks).mean())
        right = (rng.random((100_000, n)) < 1 / ks).sum(1)  # 100,000 guessers' counts
        counts = np.bincount(right, minlength=n + 1)
        hits = sum(c for k, c in enumerate(counts) if below_baseline(k / n, chance, n))
        assert hits / 100_000 <= TAIL
    # Power where it matters: the issue's 0.000 on ARC-Easy (570 questions, 4 choices).
    assert below_baseline(0.0, 0.25, 570).standard_errors > 13
    assert all(below_baseline(0.0, 0.25, n) is not None for n in range(28, 200))


def _rigged(model_dir: Path) -> list[dict]:
    """The 12 questions 4 times over (48 four-way items), each labelled with a choice the model
    picks by neither rule: accuracy 0 by construction, far below chance (0.25)."""
    from junkdna.heads.lm_scoring import pick

    rows = mc_rows(QUESTIONS * 4)
    scores, _ = oracle(model_dir, rows)
    return [{**r, "label": min(set(range(4)) - set(pick(s)))}
            for r, s in zip(rows, scores, strict=True)]  # fmt: skip


def test_a_rigged_below_chance_run_is_flagged_not_ok(llama_dir, tmp_path, capsys):
    rows = _rigged(llama_dir)
    f = write_jsonl(tmp_path / "rigged.jsonl", rows)
    capsys.readouterr()
    rc, rec = _finetune(llama_dir, f, tmp_path / "out", "--head", "causal-lm")
    err = capsys.readouterr().err
    assert rc == 0 and rec["metrics"] == {"accuracy": 0.0, "accuracy_norm": 0.0}
    assert rec["status"] == "warning"
    (w,) = rec["warnings"]
    assert (w["kind"], w["baseline"], w["n"], w["score"]) == ("chance", 0.25, 48, 0.0)
    assert err.count("\n") == 1 and "warning: accuracy 0.0000 is below the chance 0.2500" in err


STUDY = """
[study]
name = "rigged"
output = "out"
seeds = [1]

[recipe]
max_length = 32
eval_batch_size = 8

[[experiment]]
name = "zero-shot"
models = ["./tiny-llama"]
tasks = [{ name = "rigged", file = "rigged.jsonl", head = "causal-lm", validation = "rigged.jsonl" }]
regimes = ["none"]

[[experiment.pruning]]
methods = ["magnitude"]
sparsities = [0.5]
"""


def test_the_flag_reaches_status_export_and_report(llama_dir, tmp_path, capsys):
    import pandas as pd

    from junkdna.tasks.plausibility import below_baseline

    (tmp_path / "tiny-llama").symlink_to(llama_dir)
    write_jsonl(tmp_path / "rigged.jsonl", _rigged(llama_dir))
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    assert main(["run", str(study), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["status", str(study)]) == 0
    out = capsys.readouterr().out
    assert "done run(s) score below their baseline" in out
    assert "below the chance 0.2500" in out
    csv = tmp_path / "r.csv"
    assert main(["export", str(study), "--csv", str(csv)]) == 0
    df = pd.read_csv(csv)
    dense = df[df["sparsity"] == 0.0].iloc[0]
    assert dense["score"] == 0.0 and "below the chance" in dense["warning"]
    sparse = df[df["sparsity"] > 0].iloc[0]  # flagged exactly when the rule says so
    assert isinstance(sparse["warning"], str) == bool(below_baseline(sparse["score"], 0.25, 48))
    assert main(["report", str(study), "--out", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "report.md").read_text()
    assert md.index("## Scores below their baseline") < md.index("## Dense references")
    assert "below baseline (check first)" in md and "dense: 1 of 1 seed(s)" in md
