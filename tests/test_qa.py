"""Setting 3: QA metrics (hand-computed), prompts in both modes, the offline SQuAD choices,
and smollm2-135m on a handful of offline questions (open book beats closed book)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_gpt2, tiny_llama
from datasets import Dataset
from test_bigbench import make_archive

from junkdna.difficulty import ExternalInformation, from_params
from junkdna.errors import JunkDNAError
from junkdna.heads.lm_scoring import choice_logprobs, shared_prefixes
from junkdna.tasks import metrics as M
from junkdna.tasks.base import TaskData
from junkdna.tasks.distractors import answer_key, answer_kind
from junkdna.tasks.qa import (
    build_prompt,
    extract_answer,
    squad_choices,
    squad_paragraphs,
    trivia_qa_rc,
    truncate_words,
)
from junkdna.tasks.registry import load_task
from junkdna.tasks.spec import SPECS


def test_squad_normalization_em_f1_containment():
    assert M.normalize_answer("  The Denver-Broncos!! ") == "denverbroncos"
    assert M.exact_match_score("the Broncos.", "Broncos") == 1.0
    # pred tokens {cat, sat}, gold {cat, sat, down}: P = 1, R = 2/3, F1 = 0.8
    assert M.f1_score("the cat sat", "cat sat down") == pytest.approx(0.8)
    assert M.f1_score("dog", "cat") == 0.0
    assert M.containment_score("It was 1990.", "1990") == 1.0
    assert M.containment_score("It was 1990.", "199") == 0.0  # token boundaries
    # best gold answer counts; containment is the primary key of qa_containment
    got = M.compute("qa_containment", ["Paris, France", "Rome"], [["London", "Paris"], "Milan"])
    assert list(got) == ["containment", "exact_match", "f1"]
    assert got["containment"] == 0.5 and got["exact_match"] == 0.0
    assert got["f1"] == pytest.approx((2 * 0.5 * 1 / 1.5) / 2)  # P=1/2, R=1 on the first
    assert list(M.compute("squad", ["a"], ["a"])) == ["exact_match", "f1", "containment"]


def test_choice_accuracy_sum_and_normalized():
    got = M.compute("choice_accuracy", [[0, 1], [2, 2], [1, 0]], [0, 2, 0])
    assert got == {"accuracy": pytest.approx(2 / 3), "accuracy_norm": pytest.approx(2 / 3)}


def test_prompts_in_both_modes_and_budget():
    evidence = " ".join(f"w{i}" for i in range(10))
    assert truncate_words(evidence, 3) == "w0 w1 w2"
    open_p = build_prompt("open-book", "Who?", evidence, 4)
    assert open_p == "Passage: w0 w1 w2 w3\nQuestion: Who?\nAnswer:"
    closed = build_prompt("closed-book", "Who?", evidence, 4)
    assert closed == "Question: Who?\nAnswer:" and "w0" not in closed
    with pytest.raises(JunkDNAError, match="Did you mean .open-book."):
        ExternalInformation(mode="open-boook")
    assert extract_answer("\n Answer: Paris.\nQuestion: next") == "Paris."


def qa_task(n: int = 10) -> TaskData:
    rows = [
        {
            "question": f"q{i}?",
            "evidence": f"fact {i} " * 5,
            "choices": ["a", "b", "c", "d"],
            "label": i % 4,
        }
        for i in range(n)
    ]
    ds = Dataset.from_list(rows)
    return TaskData(
        name="toy_qa",
        head="causal-lm",
        train=ds,
        validation=ds,
        test=None,
        text_fields=("question", "evidence"),
        label_field="label",
        metric="choice_accuracy",
        choices_field="choices",
    )


def test_external_information_applies_and_records():
    task = qa_task()
    op = ExternalInformation(mode="open-book", evidence_words=3, questions=4).apply(task, seed=7)
    cl = from_params("external_information", {"mode": "closed-book", "questions": 4}).apply(task)
    assert op.text_fields == ("prompt",) and len(op.validation) == 4
    assert op.validation["question"] == cl.validation["question"]  # same sample in both modes
    assert op.validation["prompt"][0].startswith("Passage: fact")
    assert op.validation["prompt"][0].count("fact") == 2  # 3 words: "fact i fact"
    assert all(p.startswith("Question:") for p in cl.validation["prompt"])
    assert "chance" not in op.info  # a run's baseline: junkdna.study.run records it for any task
    assert op.info["difficulty"] == {
        "name": "external_information",
        "setting": 3,
        "seed": 7,
        "params": {"mode": "open-book", "evidence_words": 3, "questions": 4},
    }
    assert len(op.train) == 10  # training rows untouched (prompts added)
    with pytest.raises(JunkDNAError, match="needs"):
        ExternalInformation().apply(TaskData(**{**task.__dict__, "text_fields": ("question",)}))


def squad_json(n_par: int = 12) -> dict:
    paras = []
    for p in range(n_par):
        qas = [
            {
                "id": f"{p}-{q}",
                "question": f"Question {q} of {p}?",
                "answers": [{"text": f"answer {p}-{q}", "answer_start": 0}] * 2,
            }
            for q in range(3)
        ]
        qas.append({"id": f"{p}-x", "question": "Dup?", "answers": [{"text": f"answer {p}-0"}]})
        paras.append({"context": f"Paragraph {p} text.", "qas": qas})
    return {
        "data": [{"title": "T1", "paragraphs": paras[:6]}, {"title": "T2", "paragraphs": paras[6:]}]
    }


def test_squad_choices_from_a_local_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path / "home"))
    archive = make_archive(tmp_path, {"squad_shifts/squaddev_v1.1.json": squad_json()})
    task, task_spec = load_task("squad_mc", archive=archive), SPECS.get("squad_mc")
    rows = [*task.train, *task.validation, *task.test]
    assert len(task.validation) == 4 and len(task.test) == 4  # one paragraph each (12 -> 10%)
    assert len(rows) == 48
    for r in rows:
        assert len(r["choices"]) == 4 and len(set(r["choices"])) == 4
        assert r["choices"][r["label"]] == r["answers"][0]
        p = r["answers"][0].split()[1].split("-")[0]
        others = [c for i, c in enumerate(r["choices"]) if i != r["label"]]
        assert r["answers"][0] not in others
        # the task's distractors come from the other article (T1 <-> T2)
        assert all((int(c.split()[1].split("-")[0]) < 6) != (int(p) < 6) for c in others)
    for r in (r for _, r in squad_choices(squad_paragraphs(squad_json()), task_spec, 4) if r):
        p = r["answers"][0].split()[1].split("-")[0]
        others = [c for i, c in enumerate(r["choices"]) if i != r["label"]]
        # same-passage (the builder's default, v1 of the task): same paragraph first (2 other
        # distinct answers there), then the same article
        assert sum(c.split()[1].startswith(f"{p}-") for c in others) == 2
        assert all((int(c.split()[1].split("-")[0]) < 6) == (int(p) < 6) for c in others)
    again = load_task("squad_mc", archive=archive)
    assert list(again.validation) == list(task.validation)
    assert np.bincount([r["label"] for r in rows], minlength=4).min() > 0


def test_triviaqa_formatter():
    row = {
        "question": "Capital of France?",
        "answer": {"value": "Paris", "aliases": ["Paris", "Paris, France"]},
        "entity_pages": {"wiki_context": ["", "Paris is the capital."]},
        "search_results": {"search_context": ["web"]},
    }
    assert trivia_qa_rc(row) == {
        "question": "Capital of France?",
        "evidence": "Paris is the capital.",
        "answers": ["Paris", "Paris, France"],
    }


STORY = (
    "Marie Curie was a physicist and chemist who was born in Warsaw in 1867. She won the Nobel "
    "Prize in Physics in 1903 with Pierre Curie, and the Nobel Prize in Chemistry in 1911. She "
    "discovered the elements polonium and radium, and she later led the Radium Institute in Paris."
)
HANDFUL = [
    ("In which city was Marie Curie born?", "Warsaw", ["Warsaw", "Paris", "1903", "radium"]),
    ("In what year was Marie Curie born?", "1867", ["1867", "1911", "Paris", "polonium"]),
    ("Which element did she discover?", "polonium", ["polonium", "Warsaw", "1903", "Pierre Curie"]),
    (
        "Who shared the 1903 prize with her?",
        "Pierre Curie",
        ["Pierre Curie", "radium", "1867", "Warsaw"],
    ),
    (
        "In what year did she win the Nobel Prize in Chemistry?",
        "1911",
        ["1903", "1911", "Warsaw", "radium"],
    ),
    (
        "Which institute did she lead?",
        "the Radium Institute",
        ["the Radium Institute", "1867", "Warsaw", "1911"],
    ),
    ("In which city was the institute she led?", "Paris", ["Warsaw", "1867", "Paris", "polonium"]),
    (
        "In what year did she win the Nobel Prize in Physics?",
        "1903",
        ["1867", "1911", "polonium", "1903"],
    ),
]


@pytest.mark.slow
def test_smollm2_answers_offline_questions_open_beats_closed():
    from junkdna.models import load_model, load_tokenizer
    from junkdna.recipe import Recipe
    from junkdna.transfer import evaluate

    rows = [
        {"question": q, "evidence": STORY, "choices": c, "label": c.index(a)} for q, a, c in HANDFUL
    ]
    ds = Dataset.from_list(rows)
    task = TaskData(
        name="curie",
        head="causal-lm",
        train=ds,
        validation=ds,
        text_fields=("question", "evidence"),
        label_field="label",
        metric="choice_accuracy",
        choices_field="choices",
    )
    model, tok = load_model("smollm2-135m", head="causal-lm"), load_tokenizer("smollm2-135m")
    recipe = Recipe(eval_batch_size=8, max_length=256)
    scores = {
        mode: evaluate(model, tok, ExternalInformation(mode=mode).apply(task), recipe)["accuracy"]
        for mode in ("open-book", "closed-book")
    }
    assert scores["open-book"] >= 4 / 8  # chance: 2/8; measured 4/8 open, 1/8 closed
    assert scores["open-book"] > scores["closed-book"]


# ----------------------------------------------------------------------------- shared prefixes


def test_shared_prefixes_groups_neighbours_and_leaves_a_suffix():
    passage_a, passage_b = list(range(10, 30)), list(range(10, 14)) + list(range(50, 66))
    prompts = [
        passage_a + [1, 2],  # 0: group A
        passage_b + [3],  # 1: group B (shares only 4 tokens with A)
        passage_a + [1, 5, 6],  # 2: group A, shares 21 tokens with 0
        passage_a,  # 3: group A; its whole prompt is the others' prefix -> prefix 19
        [7, 8],  # 4: alone
        passage_b + [3],  # 5: a duplicate of 1 -> group B, prefix len - 1
    ]
    groups = {n: sorted(m) for n, m in shared_prefixes(prompts, min_shared=8)}
    assert groups == {19: [0, 2, 3], 20: [1, 5]}
    assert shared_prefixes(prompts, min_shared=21) == [(21, [0, 2])]  # passage_a + [1]
    assert shared_prefixes(prompts, min_shared=22) == []


@pytest.mark.parametrize("make", [tiny_llama, tiny_gpt2])
def test_grouped_prefix_scores_match_full_forwards(make):
    """Several questions per 'passage' (one prefix forward each), groups bigger than the batch,
    a duplicate prompt, a prompt that is another's prefix, and loners of length 1 and 3."""
    from test_generative import naive_logprob

    model = make()
    g = torch.Generator().manual_seed(1)
    rand = lambda n: torch.randint(4, 100, (n,), generator=g).tolist()  # noqa: E731
    p1, p2 = rand(18), rand(25)
    prompts = [p1 + rand(3), p2 + rand(2), p1 + rand(5), p1, rand(1), p2 + rand(4), rand(3)]
    prompts += [p1 + rand(2), list(prompts[1])]
    choices = [[rand(k) for k in ks] for ks in ([1, 3], [2, 2], [4, 1, 1], [1, 2], [3, 3])] * 2
    choices = choices[: len(prompts)]
    assert {n for n, _ in shared_prefixes(prompts, 16)} == {17, 25}  # p1 alone keeps 1
    with torch.inference_mode():
        got = choice_logprobs(model, prompts, choices, pad_id=0, batch_size=2)
        plain = choice_logprobs(model, prompts, choices, pad_id=0, batch_size=3, min_shared=None)
        for p, cs, scores, ref in zip(prompts, choices, got, plain, strict=True):
            assert [n for _, n in scores] == [len(c) for c in cs]
            for c, (s, _), (r, _) in zip(cs, scores, ref, strict=True):
                assert s == pytest.approx(naive_logprob(model, p, c), abs=1e-4)
                assert r == pytest.approx(s, abs=1e-4)


def test_answer_kinds():
    kinds = {
        "1867": "year",
        "the 1990s": "year",
        "18th century": "year",
        "In September 1971": "date",
        "5,560 kg": "number",
        "four": "number",
        "the BBC National Orchestra of Wales": "name",
        "Samuel P. Huntington": "name",
        "free trade": "phrase",
    }
    assert {a: answer_kind(a) for a in kinds} == kinds
    assert answer_key("New England Patriots") == ("name", 3)
    assert answer_key("a b c d e f") == ("phrase", 4)  # 4+ words share one length bucket


@pytest.mark.parametrize("strategy,n_near", [("other-articles", 0), ("mixed", 1)])
def test_squad_distractors_from_other_articles(tmp_path, strategy, n_near):
    raw = squad_json()
    raw["data"][0]["paragraphs"][0]["context"] = "Paragraph 0 mentions answer 6-1 by name."
    spec = SPECS.get("squad_mc")
    paras = squad_paragraphs(raw)
    rows = [r for _, r in squad_choices(paras, spec, 4, strategy) if r]
    assert len(rows) == 48
    for r in rows:
        p = int(r["answers"][0].split()[1].split("-")[0])
        others = [c for i, c in enumerate(r["choices"]) if i != r["label"]]
        assert r["choices"][r["label"]] == r["answers"][0] and len(set(r["choices"])) == 4
        same_title = [c for c in others if (int(c.split()[1].split("-")[0]) < 6) == (p < 6)]
        assert len(same_title) == n_near  # the rest come from the other article
        if p == 0:  # a foreign answer found in the passage is never a distractor
            assert "answer 6-1" not in others
    again = [r for _, r in squad_choices(paras, spec, 4, strategy) if r]
    assert again == rows  # seeded: the same rows every time
    long = [r for _, r in squad_choices(paras, spec, 4, strategy, max_answer_words=1) if r]
    assert long == []  # every gold answer here has 2 words
    with pytest.raises(JunkDNAError, match="Did you mean .mixed."):
        list(squad_choices(paras, spec, 4, "mixd"))


def test_cut_prompts_are_reported(caplog):
    from test_generative import word_tokenizer

    from junkdna.heads.causal_lm import encode_choices
    from junkdna.recipe import Recipe

    tok = word_tokenizer()
    rows = [["w1 w2 w3 w4 w5 w6", ["red", "blue green"]], ["w7", ["cat", "red"]]]
    with caplog.at_level("WARNING", logger="junkdna.heads.causal_lm"):
        feats = encode_choices(tok, rows, [0, 1], Recipe(max_length=5), generation=True)
    ids = tok("w1 w2 w3 w4 w5 w6", add_special_tokens=False)["input_ids"]
    assert feats[0]["prompt_ids"] == ids[-3:]  # 5 - the 2-token choice: the end survives
    assert "1 of 2 prompts were cut" in caplog.text
