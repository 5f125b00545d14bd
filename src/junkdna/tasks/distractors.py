"""Distractors for multiple choice built from extractive QA answers (``squad_mc``).

A strategy (``DISTRACTORS``) says how many of the k-1 distractors are *near* (answers to other
questions about the same paragraph, then the same article: spans of the passage itself) and the
rest are *foreign*: answers from other articles (other titles) of the same answer kind and
length, which never occur in the question's passage.

Why it matters: near distractors are as plausible as the gold answer without the passage, so a
closed-book model sits at chance and the task cannot show a closed- vs open-book gap. Foreign
distractors of the same kind ("a year" against years, "a name" against names, same number of
words) leave the question informative on its own, and in the open book only the gold answer is in
the passage.

The answer kind is a cheap surface heuristic (``answer_kind``): year, date, number, name
(capitalized content words) or phrase. Everything is deterministic: candidate pools are in file
order and every draw uses the question's own seeded generator.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator

import numpy as np

from junkdna.registry import Registry
from junkdna.tasks.metrics import normalize_answer

# strategy name -> k -> how many of the k-1 distractors come from the same passage/article
DISTRACTORS: Registry[Callable[[int], int]] = Registry("distractor strategy")
DISTRACTORS.add("same-passage", lambda k: k - 1)
DISTRACTORS.add("mixed", lambda k: 1)
DISTRACTORS.add("other-articles", lambda k: 0)

_YEAR = re.compile(r"(the )?(c\. )?(\d{3,4}s?|\d{1,2}(st|nd|rd|th) century)( (ad|bc|bce|ce))?")
_MONTH = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|"
    r"december|century|centuries)\b"
)
_NUMBER = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fifteen|"
    r"twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?|dozen|half|quarter|"
    r"twice|once|percent)\b"
)
_SMALL = re.compile(r"(of|the|and|de|la|le|van|von|der|du|in|for|on|a|an|at|to|&|da|di|del)")
MAX_LENGTH_BUCKET = 4  # answers of 4+ words compete with any other 4+ word answer


def answer_kind(text: str) -> str:
    """year | date | number | name | phrase, from the surface of an answer."""
    low = " ".join(str(text).lower().split()).strip(" .,;")
    if _YEAR.fullmatch(low):
        return "year"
    if _MONTH.search(low):
        return "date"
    if any(ch.isdigit() for ch in low) or _NUMBER.search(low):
        return "number"
    content = [w for w in str(text).split() if not _SMALL.fullmatch(w.lower())]
    if content and all(w[:1].isupper() or not w[:1].isalpha() for w in content):
        return "name"
    return "phrase"


def answer_key(text: str) -> tuple[str, int]:
    return answer_kind(text), min(len(str(text).split()), MAX_LENGTH_BUCKET)


class ForeignPool:
    """Answers by (kind, length bucket), each with its article title, in file order."""

    def __init__(self, answers: list[tuple[str, str]]):  # (title, answer)
        self.by_key: dict[tuple[str, int], list[tuple[str, str]]] = defaultdict(list)
        self.by_kind: dict[str, list[tuple[str, str]]] = defaultdict(list)
        seen: set[tuple[str, str]] = set()
        for title, ans in answers:
            if (title, norm := normalize_answer(ans)) in seen or not norm:
                continue
            seen.add((title, norm))
            key = answer_key(ans)
            self.by_key[key].append((title, ans))
            self.by_kind[key[0]].append((title, ans))
        self.everything = [x for pool in self.by_kind.values() for x in pool]

    def draw(self, gold: str, title: str, rng: np.random.Generator) -> Iterator[str]:
        """Same kind and length first, then same kind, then anything; never the same title."""
        key = answer_key(gold)
        for pool in (self.by_key[key], self.by_kind[key[0]], self.everything):
            for j in rng.permutation(len(pool)):
                if pool[j][0] != title:
                    yield pool[j][1]


def clashes(candidate: str, taken: list[str]) -> bool:
    """Too close to a gold answer or a chosen option: equal, or one inside the other."""
    c = f" {normalize_answer(candidate)} "
    for t in taken:
        t = f" {normalize_answer(t)} "
        if not c.strip() or c in t or t in c:
            return True
    return False


def pick_distractors(
    near: list[str],
    foreign: Iterator[str],
    golds: list[str],
    passage_norm: str,
    n_near: int,
    n_total: int,
) -> list[str] | None:
    """``n_near`` distractors from ``near`` then the rest from ``foreign``, skipping any that
    occur in the passage (``normalize_answer`` of it); None when there are not enough."""
    out: list[str] = []
    for cand in near:
        if len(out) == n_near:
            break
        if not clashes(cand, golds + out):
            out.append(cand)
    if len(out) < n_near:
        return None
    text = f" {passage_norm} "
    for tries, cand in enumerate(foreign):
        if len(out) >= n_total or tries > 10_000:
            break
        if not clashes(cand, golds + out) and f" {normalize_answer(cand)} " not in text:
            out.append(cand)
    return out if len(out) == n_total else None
