"""Translation for setting 2 (majority vs minority languages) and its offline analogue.

OPUS-100 (Zhang et al. 2020) English-centric pairs from the hub, with mBART language codes per
row: Russian and Vietnamese are the paper's majority languages, Gujarati and Burmese its
minority ones. ``opus100_mix`` joins them into one multi-domain task (domain = language).

Offline analogue for the built-in models: ``multiemo_mix`` - MultiEmo sentiment in English
(majority) and other languages (minority domains), the 11 files being translations of one
another; MajorityMinority gives each domain its amount of training data.
"""

from __future__ import annotations

from junkdna.tasks import glue
from junkdna.tasks.bigbench_tasks import MULTIEMO_LABELS
from junkdna.tasks.domains import DOMAIN, MixSource
from junkdna.tasks.spec import HubSource, TaskSpec, register

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
