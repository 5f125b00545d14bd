"""Translation for setting 2 (majority vs minority languages) and its offline analogue.

OPUS-100 (Zhang et al. 2020) English-centric pairs from the hub, with mBART language codes per
row: Russian and Vietnamese are the paper's majority languages, Gujarati and Burmese its
minority ones (the paper's Table 2).

* ``opus100_pivot``: the paper's task. "Following the methodology described by Arivazhagan et
  al. (2019), we utilize pivot data via English to establish 2-to-2 majority language
  translation pairs (Ru,Vi) and 2-to-2 minority language translation pairs (Gu, My)": Ru<->Vi
  and Gu<->My in both directions, one domain per direction ("ru-vi", "vi-ru", "gu-my",
  "my-gu"), built by ``PivotSource`` from OPUS-100's en-xx corpora joined on their English side.
  OPUS-100 has no ru-vi or gu-my data (its non-English test pairs are among ar, de, fr, nl, ru,
  zh only), and its en-xx corpora were sampled independently, so their own 2,000-sentence dev
  and test sets share almost no English sentence: the join pools all splits of both corpora
  and re-splits the joined sentences (``pivot_splits``).
* ``opus100_mix`` (xx->en) and the ``opus100_xx_en`` / ``opus100_en_xx`` pairs: English-centric.

Offline analogue for the built-in models: ``multiemo_mix`` - MultiEmo sentiment in English,
German, Polish and Japanese, the 11 files being translations of one another; MajorityMinority
gives each language group its amount of training data (studies/setting2_offline.toml).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from junkdna.errors import JunkDNAError
from junkdna.tasks import glue
from junkdna.tasks.bigbench_tasks import MULTIEMO_LABELS
from junkdna.tasks.domains import DOMAIN, MixSource
from junkdna.tasks.spec import SPECS, SPLITS, HubSource, TaskSpec, register
from junkdna.tasks.splits import eval_sizes

# ISO code -> mBART (cc25 / mBART-50) language token
MBART_CODES = {"en": "en_XX", "ru": "ru_RU", "vi": "vi_VN", "gu": "gu_IN", "my": "my_MM"}
MAJORITY, MINORITY = ("ru", "vi"), ("gu", "my")
FIELDS = ("source",)
LANG_FIELDS = ("src_lang", "tgt_lang")


def _opus_formatter(src: str, tgt: str):
    def fmt(row: dict) -> dict:
        pair = row["translation"]
        return {
            "source": pair[src],
            "target": pair[tgt],
            "src_lang": MBART_CODES[src],
            "tgt_lang": MBART_CODES[tgt],
        }

    return fmt


def _opus_spec(src: str, tgt: str) -> str:
    xx = src if tgt == "en" else tgt
    name = f"opus100_{src}_{tgt}"
    glue.FORMATTERS.add(name, _opus_formatter(src, tgt))
    level = "majority" if xx in MAJORITY else "minority"
    register(
        TaskSpec(
            name=name,
            description=f"OPUS-100 translation {src} -> {tgt} ({level} language {xx})",
            source=HubSource("Helsinki-NLP/opus-100", f"en-{xx}", formatter=name),
            head="seq2seq",
            text_fields=FIELDS,
            label_field="target",
            metric="sacrebleu",
            lang_fields=LANG_FIELDS,
            family="translation",
            notes="hub only; mBART language codes per row (src_lang/tgt_lang)",
        )
    )
    return name


_PAIRS = {xx: _opus_spec(xx, "en") for xx in (*MAJORITY, *MINORITY)}
for _xx in (*MAJORITY, *MINORITY):
    _opus_spec("en", _xx)

register(
    TaskSpec(
        name="opus100_mix",
        description="OPUS-100 ru/vi (majority) and gu/my (minority) -> en, one multi-domain task",
        source=MixSource(tuple(_PAIRS.items())),
        head="seq2seq",
        text_fields=FIELDS,
        label_field="target",
        metric="sacrebleu",
        lang_fields=LANG_FIELDS,
        domain_field=DOMAIN,
        family="translation",
        notes="combine with MajorityMinority(majority=('ru','vi'), minority=('gu','my'), ...)",
    )
)

# ----------------------------------------------------------------------------- pivot pairs

PIVOT = "en"
PIVOT_PAIRS = (MAJORITY, MINORITY)  # the paper's 2-to-2 pairs: (ru, vi) and (gu, my)
PIVOT_SPLIT_RULE = (
    "the pair's pivot sentences ordered by blake2b-64 of the English sentence; the first "
    "{n_val} validation, the next {n_test} test, the rest train (10% each, at most 2,000); both "
    "directions of a sentence share its split"
)


def pivot_key(text: str) -> str:
    """The English side as a join key: whitespace collapsed, nothing else changed."""
    return " ".join(str(text).split())


def pivot_table(rows: Iterable[dict], xx: str, pivot: str = PIVOT) -> tuple[dict[str, str], int]:
    """{English sentence: its first xx translation} over OPUS rows ``{"translation": {pivot:
    ..., xx: ...}}`` in the order given, and the number of rows read. Rows with an empty side
    are skipped; a repeated English sentence keeps its first translation."""
    table: dict[str, str] = {}
    n = 0
    for row in rows:
        n += 1
        pair = row["translation"]
        en, other = pivot_key(pair[pivot]), str(pair[xx]).strip()
        if en and other and en not in table:
            table[en] = other
    return table, n


def _hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=8).digest()


def pivot_splits(
    a: str, b: str, table_a: dict[str, str], table_b: dict[str, str]
) -> tuple[dict[str, list[dict]], dict[str, Any]]:
    """The rows of the pair a<->b: every English sentence in both tables gives a->b and b->a
    (domains "a-b" and "b-a"), split by ``PIVOT_SPLIT_RULE`` (a fixed order that depends on the
    sentences only, not on the corpora's row order). Returns the rows per split and sizes."""
    shared = sorted((en for en in table_a if en in table_b), key=lambda en: (_hash(en), en))
    n = len(shared)
    n_val, n_test = eval_sizes(n)
    if n_val < 1:
        raise JunkDNAError(
            f"pivot {a}-{b}: only {n} English sentence(s) are in both corpora; at least 10 are "
            "needed for a validation, a test and a training split"
        )
    cuts = {"validation": shared[:n_val], "test": shared[n_val : n_val + n_test]}
    cuts["train"] = shared[n_val + n_test :]
    codes = {a: MBART_CODES[a], b: MBART_CODES[b]}
    out: dict[str, list[dict]] = {}
    for split, sentences in cuts.items():
        rows = []
        for en in sentences:
            text = {a: table_a[en], b: table_b[en]}
            for src, tgt in ((a, b), (b, a)):
                rows.append(
                    {
                        "source": text[src],
                        "target": text[tgt],
                        "src_lang": codes[src],
                        "tgt_lang": codes[tgt],
                        DOMAIN: f"{src}-{tgt}",
                    }
                )
        out[split] = rows
    sizes = {"pivot_sentences": n, **{s: len(v) for s, v in cuts.items()}}
    rule = PIVOT_SPLIT_RULE.format(n_val=n_val, n_test=n_test)
    return out, {"sizes": sizes, "split_rule": rule}


def _load_corpus(source: HubSource):
    """An en-xx corpus from the hub, every split (a seam: tests put a local fake here)."""
    import datasets

    try:
        return datasets.load_dataset(source.path, source.config)
    except Exception as e:  # offline, unknown id, ...: say what to do instead
        raise JunkDNAError(
            f"could not load {source.describe()} from the hub ({e}); the pivot task needs it. "
            "Without the hub, use the offline analogue (studies/setting2_offline.toml)."
        ) from e


def _corpus_rows(corpus) -> Iterator[dict]:
    """The rows of every split, train first (its translations win a repeated English side)."""
    names = [s for s in SPLITS if s in corpus] + sorted(s for s in corpus if s not in SPLITS)
    for name in names:
        for batch in corpus[name].iter(batch_size=10_000):
            for pair in batch["translation"]:
                yield {"translation": pair}


@dataclass(frozen=True)
class PivotSource:
    """Non-English pairs through English pivot data: each pair (a, b) joins the en-a and en-b
    corpora (``parts``: language -> a registered task whose HubSource is that corpus) on the
    English sentence (``pivot_splits``). Built once per version into the cache
    (``$JUNKDNA_HOME/tasks/<name>/v<version>``: JSONL per split, meta.json written last)."""

    name: str
    parts: tuple[tuple[str, str], ...]  # (language, task whose source is the en-xx corpus)
    pairs: tuple[tuple[str, str], ...]
    pivot: str = PIVOT
    version: str = "1"  # bump when the construction changes

    def __post_init__(self):
        langs = dict(self.parts)
        missing = sorted({x for pair in self.pairs for x in pair} - set(langs))
        if missing:
            raise JunkDNAError(f"pivot source {self.name!r}: no corpus for {missing}")

    @property
    def offline(self) -> bool:
        return all(SPECS.get(t).offline for _, t in self.parts)

    def corpus(self, lang: str) -> HubSource:
        return SPECS.get(dict(self.parts)[lang]).source

    def describe(self) -> str:
        pairs = ",".join(f"{a}<->{b}" for a, b in self.pairs)
        corpora = ",".join(self.corpus(x).describe() for x, _ in self.parts)
        return f"pivot:{pairs} via {self.pivot} ({corpora})"

    def build(self) -> tuple[dict[str, list[dict]], dict[str, Any]]:
        """The joined rows per split and their provenance (reads the hub)."""
        tables, read = {}, {}
        for lang, _ in self.parts:
            tables[lang], n = pivot_table(_corpus_rows(_load_corpus(self.corpus(lang))), lang)
            read[lang] = {"rows": n, "distinct_pivot_sentences": len(tables[lang])}
        out: dict[str, list[dict]] = {s: [] for s in SPLITS}
        pairs = {}
        for a, b in self.pairs:
            rows, meta = pivot_splits(a, b, tables[a], tables[b])
            for split, split_rows in rows.items():
                out[split].extend(split_rows)
            pairs[f"{a}-{b}"] = meta
        info = {
            "source": self.describe(),
            "construction": (
                "pivot through English (Arivazhagan et al. 2019): the en-a and en-b corpora, all "
                "splits pooled, joined on the exact English sentence (whitespace collapsed; the "
                "first translation of a repeated sentence); both directions per sentence"
            ),
            "corpora": read,
            "pairs": pairs,
        }
        return out, info

    def load(self, load_task=None, archive=None) -> tuple[dict, dict]:
        """The splits (built on first use, then read from the cache) and their info."""
        import datasets

        from junkdna.paths import atomic_write_text, cache_dir

        folder = cache_dir("tasks", self.name, f"v{self.version}")
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            rows, info = self.build()
            for split, split_rows in rows.items():
                text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in split_rows)
                atomic_write_text(folder / f"{split}.jsonl", text)
            atomic_write_text(meta_path, json.dumps(info, indent=2, ensure_ascii=False))
        info = json.loads(meta_path.read_text())
        splits = {
            s: datasets.load_dataset("json", data_files=str(folder / f"{s}.jsonl"), split="train")
            for s in SPLITS
        }
        return splits, info


register(
    TaskSpec(
        name="opus100_pivot",
        description="OPUS-100 Ru<->Vi (majority) and Gu<->My (minority) through English pivot "
        "data, both directions, one domain per direction",
        source=PivotSource(
            "opus100_pivot",
            tuple((x, f"opus100_en_{x}") for x in (*MAJORITY, *MINORITY)),
            PIVOT_PAIRS,
        ),
        head="seq2seq",
        text_fields=FIELDS,
        label_field="target",
        metric="sacrebleu",
        lang_fields=LANG_FIELDS,
        domain_field=DOMAIN,
        family="translation",
        notes="hub only; the paper's setting 2 (combine with MajorityMinority(majority=('ru', "
        "'vi'), minority=('gu', 'my'), group=...)); OPUS-100 has no ru-vi or gu-my data, so "
        "pairs are joined on the English side of its en-xx corpora, all splits pooled and "
        "re-split by a hash of the English sentence (PIVOT_SPLIT_RULE); SacreBLEU per direction",
    )
)

MULTIEMO_MIX = ("en", "de", "pl", "ja")  # majority English; European and Asian minorities
register(
    TaskSpec(
        name="multiemo_mix",
        description="MultiEmo sentiment, English + German/Polish/Japanese as one multi-domain task",
        source=MixSource(tuple((d, f"multiemo_{d}") for d in MULTIEMO_MIX)),
        head="classification",
        text_fields=("text",),
        metric="accuracy",
        num_labels=len(MULTIEMO_LABELS),
        label_names=MULTIEMO_LABELS,
        domain_field=DOMAIN,
        family="multiemo",
        notes="offline analogue of setting 2; parallel files share one split, so no sentence "
        "leaks across splits through a translation",
    )
)
