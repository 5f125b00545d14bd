"""Translation for setting 2 (majority vs minority languages) and its offline analogue.

OPUS-100 (Zhang et al. 2020) English-centric pairs from the hub, with mBART language codes per
row: Russian and Vietnamese are the paper's majority languages, Gujarati and Burmese its
minority ones (the paper's Table 2).

* ``opus100_en_centric``: the paper's task as the authors ran it. "Following the methodology
  described by Arivazhagan et al. (2019), we utilize pivot data via English to establish 2-to-2
  majority language translation pairs (Ru,Vi) and 2-to-2 minority language translation pairs
  (Gu, My)": English-centric training, two languages to and from English per group (the
  authors' fairseq scripts: ``lang_pairs=en-ru,en-vi,vi-en,ru-en`` and
  ``en-my,en-gu,gu-en,my-en``). Eight directions, one domain each ("en-ru", "ru-en", ...), on
  OPUS-100's own splits; combine with ``MajorityMinority(..., pivot="en")``.
* ``opus100_mix`` (xx->en, domain = xx) and the ``opus100_xx_en`` / ``opus100_en_xx``
  directions.

Every OPUS-100 task scores OPUS-100's *test* split (2,000 sentence pairs per language pair), as
the authors did (``fairseq-generate --gen-subset test``): it is the task's "validation" split,
the one a run scores. OPUS-100's own validation split is not loaded, so ``select = "best"`` on
these tasks would choose an epoch on the scored sentences: keep ``select = "last"``.

Offline analogue for the built-in models: ``multiemo_mix`` - MultiEmo sentiment in English,
German, Polish and Japanese, the 11 files being translations of one another; MajorityMinority
gives each language group its amount of training data (studies/setting2_offline.toml).
"""

from __future__ import annotations

from junkdna.tasks import glue
from junkdna.tasks.bigbench_tasks import MULTIEMO_LABELS
from junkdna.tasks.domains import DOMAIN, MixSource
from junkdna.tasks.spec import HubSource, TaskSpec, register

# ISO code -> mBART (cc25 / mBART-50) language token
MBART_CODES = {"en": "en_XX", "ru": "ru_RU", "vi": "vi_VN", "gu": "gu_IN", "my": "my_MM"}
MAJORITY, MINORITY = ("ru", "vi"), ("gu", "my")
PIVOT = "en"  # the language of every pair (English-centric)
# our split -> OPUS-100's: the scored split is its test split (see the module doc)
SCORED = {"train": "train", "validation": "test"}
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
            source=HubSource("Helsinki-NLP/opus-100", f"en-{xx}", dict(SCORED), formatter=name),
            head="seq2seq",
            text_fields=FIELDS,
            label_field="target",
            metric="sacrebleu",
            lang_fields=LANG_FIELDS,
            family="translation",
            notes="hub only; mBART language codes per row (src_lang/tgt_lang); scores "
            "OPUS-100's test split (2,000 pairs)",
            version="2",  # 2: the test split is scored (was: OPUS-100's validation split)
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
        version="2",
        notes="combine with MajorityMinority(majority=('ru','vi'), minority=('gu','my'), ...); "
        "scores OPUS-100's test split",
    )
)

# The paper's 2-to-2 pairs: each language to and from English, one domain per direction.
EN_CENTRIC = tuple(
    (f"{a}-{b}", f"opus100_{a}_{b}")
    for xx in (*MAJORITY, *MINORITY)
    for a, b in ((PIVOT, xx), (xx, PIVOT))
)
register(
    TaskSpec(
        name="opus100_en_centric",
        description="OPUS-100 en<->ru, en<->vi (majority) and en<->gu, en<->my (minority): "
        "eight directions, one domain each",
        source=MixSource(EN_CENTRIC),
        head="seq2seq",
        text_fields=FIELDS,
        label_field="target",
        metric="sacrebleu",
        lang_fields=LANG_FIELDS,
        domain_field=DOMAIN,
        family="translation",
        notes="hub only; the paper's setting 2 as the authors ran it (English-centric, "
        "Arivazhagan et al. 2019): combine with MajorityMinority(majority=('ru', 'vi'), "
        "minority=('gu', 'my'), pivot='en', group=...); OPUS-100's train split (1M en-ru, 1M "
        "en-vi, 318,306 en-gu, 24,594 en-my pairs) and its test split scored (2,000 pairs "
        "per language pair); SacreBLEU and chrF per direction",
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
