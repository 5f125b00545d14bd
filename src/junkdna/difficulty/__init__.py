"""The paper's difficulty settings as small objects that compose with any task; one registry
(``DIFFICULTIES``), one name per setting. See ``difficulty.base`` for what a setting owns (its
levels, description and measure, larger = harder).

1. DataAdequacy - how much training data (``sampling``).
2. MajorityMinority - majority vs minority languages of a multi-domain task, one group per level,
   measured by its share of pre-training (the paper's Table 2) or fine-tuning data (``sampling``);
   LanguageProbe - the same, evaluation only, on parallel text, measured by the group's dense
   bits per byte (``language``).
3. ExternalInformation - open vs closed book (``external``).
4. HumanModelGap - across tasks: the normalized human-model gap; DenseHeadroom - the same idea
   for tasks without a published human score (``gaps``).

    from junkdna.difficulty import from_params
    level = from_params("data_adequacy", {"fraction": 0.1})
    task = level.apply(task, seed)            # task.info["difficulty"] records the level
    level.measure(level.run_facts(task.info))  # 10.0 (or full / kept rows, as sampled)
"""

# Importing the settings registers them (each class's ``@register``).
from junkdna.difficulty.base import (
    ALIASES,
    DIFFICULTIES,
    NO_FACTS,
    Difficulty,
    RunFacts,
    current_name,
    default_label,
    from_params,
    level_from_label,
    measure_run,
    register,
)
from junkdna.difficulty.external import QA_SAMPLE_SEED, ExternalInformation
from junkdna.difficulty.gaps import (
    PAPER_TABLE1,
    DenseHeadroom,
    HumanModelGap,
    headroom_gap,
    normalized_gap,
    paper_table1,
)
from junkdna.difficulty.language import LanguageProbe
from junkdna.difficulty.sampling import PAPER_TABLE2, DataAdequacy, MajorityMinority

__all__ = [
    "ALIASES",
    "DIFFICULTIES",
    "NO_FACTS",
    "PAPER_TABLE1",
    "PAPER_TABLE2",
    "QA_SAMPLE_SEED",
    "DataAdequacy",
    "DenseHeadroom",
    "Difficulty",
    "ExternalInformation",
    "HumanModelGap",
    "LanguageProbe",
    "MajorityMinority",
    "RunFacts",
    "current_name",
    "default_label",
    "from_params",
    "headroom_gap",
    "level_from_label",
    "measure_run",
    "normalized_gap",
    "paper_table1",
    "register",
]
