"""What a difficulty setting is, and the one registry of them (``DIFFICULTIES``).

A setting is a frozen dataclass whose fields are the parameters of one level. It owns, in one
place: its ``name`` (the study file's, the results table's and the analysis's: there is no
other), a one-line ``description``, ``params()`` (JSON-able, stored with every result),
``apply(task, seed) -> TaskData`` (a new TaskData whose ``info["difficulty"]`` records the level)
and ``measure(facts)``: the level's difficulty, larger = harder, which both the study export and
the analysis call, so the two cannot disagree.

``from_params(name, params)`` rebuilds a level from a study file or a stored result,
``level_from_label`` from a results table's level label (when only the table is at hand), and
``measure_run(info)`` measures the level a run's task info records.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from junkdna.errors import JunkDNAError, deprecated
from junkdna.registry import Registry
from junkdna.tasks.base import TaskData

DIFFICULTIES: Registry[type[Difficulty]] = Registry("difficulty setting")

# Names the analysis used before the study file's names were the only ones; results tables
# exported then carry them, so the analysis still reads them (with a deprecation warning).
ALIASES = {"across_tasks": "human_model_gap", "external_info": "external_information"}


def register(cls):
    DIFFICULTIES.add(cls.name, cls)
    return cls


@dataclass(frozen=True)
class RunFacts:
    """What is known about one level beyond its parameters; None where unknown. A NaN (an empty
    cell of a results table) counts as unknown. Scores are in the metric's units, as in the
    results table (accuracy 0.9, not 90)."""

    train_full: int | None = None  # training rows of the full split
    train_kept: int | None = None  # training rows the run trained on
    dense: float | None = None  # the dense model's score at this level
    human: float | None = None  # the task's human score
    baseline: float | None = None  # the task's majority-class baseline

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and math.isnan(value):
                object.__setattr__(self, f.name, None)


NO_FACTS = RunFacts()


@dataclass(frozen=True)
class Difficulty:
    name: ClassVar[str]
    setting: ClassVar[int]  # the paper's setting number (1-4)
    description: ClassVar[str]  # one line: what the setting varies
    measure_label: ClassVar[str]  # one line: what ``measure`` returns
    # The parameter a bare level label stands for (a label without "="), e.g. "0.25" for a
    # data-adequacy fraction; None: a bare label names no parameter.
    label_param: ClassVar[str | None] = None
    # What the measure needs from every task of the experiment (the study checks ask these, so a
    # study cannot plan runs whose difficulty would be unknown).
    needs_human_score: ClassVar[bool] = False
    needs_baseline: ClassVar[bool] = False  # unless the study file gives a difficulty_value

    def fits_regime(self, finetunes: bool) -> str | None:
        """None if this level can run under a regime that fine-tunes (``finetunes``) or only
        evaluates; else why not (a level without training data cannot be fine-tuned)."""
        return None

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def apply(self, task: TaskData, seed: int = 0) -> TaskData:
        raise NotImplementedError

    def measure(self, facts: RunFacts = NO_FACTS) -> float | None:
        """This level's difficulty (larger = harder); None where ``facts`` lack what it needs."""
        raise NotImplementedError

    def run_facts(self, info: dict[str, Any]) -> RunFacts:
        """The facts a run's task info records (the dense score is not among them: it is another
        run's result, which the analysis adds)."""
        return RunFacts(
            human=(info.get("human") or {}).get("value"),
            baseline=(info.get("majority_baseline") or {}).get("validation"),
        )

    def record(self, task: TaskData, seed: int, **changes: Any) -> TaskData:
        """A copy of `task` with `changes` and this setting stamped into its info."""
        entry = {"name": self.name, "setting": self.setting, "params": self.params(), "seed": seed}
        info = {**task.info, "difficulty": entry, **changes.pop("info", {})}
        return dataclasses.replace(task, info=info, **changes)


def from_params(name: str, params: dict[str, Any] | None = None) -> Difficulty:
    cls = DIFFICULTIES.get(name)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params or {}) - fields)
    if unknown:
        raise JunkDNAError(
            f"difficulty {name!r} has no parameter(s) {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(fields)) or 'none'}"
        )
    return cls(**(params or {}))


def current_name(name: str) -> str:
    """``name``, or the setting an old spelling (``ALIASES``) stands for, with a
    deprecation warning that names it."""
    new = ALIASES.get(name)
    if new is None:
        return name
    deprecated(f"the difficulty setting name {name!r}", f"{new!r} (as in study files)")
    return new


def default_label(params: dict[str, Any]) -> str:
    """A level's label when the study file gives none: its parameters as ``key=value`` pairs
    joined by commas, sorted, ``None`` values left out (``level_from_label`` reads it back)."""
    pairs = {k: v for k, v in sorted(params.items()) if v is not None}
    return ",".join(f"{k}={v}" for k, v in pairs.items()) or "default"


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word such as closed-book


def level_from_label(name: str, label: str) -> Difficulty | None:
    """The level a results table's label names: ``key=value`` pairs joined by commas (a study's
    default label) or a bare value of the setting's ``label_param``; any label for a setting
    without parameters. None for an unknown setting or a label that names no valid level
    (a free-form label such as "half": then only a given difficulty_value measures it)."""
    if name not in DIFFICULTIES:
        return None
    cls = DIFFICULTIES.get(name)
    if not dataclasses.fields(cls):
        return cls()  # one level whatever its label (e.g. "gap")
    # Split before each "key=": a value may hold commas itself, e.g. majority=('ru', 'vi').
    pairs = [part.split("=", 1) for part in re.split(r",(?=\w+=)", str(label))]
    if all(len(p) == 2 for p in pairs):
        params = {k.strip(): _value(v.strip()) for k, v in pairs}
    else:
        params = {} if cls.label_param is None else {cls.label_param: _value(str(label))}
    try:
        return from_params(name, params)
    except (JunkDNAError, TypeError, ValueError):
        return None


def measure_run(info: dict[str, Any]) -> float | None:
    """The difficulty of the level a run's task info records: None without one, or where its
    measure needs what one run does not know (the dense score: the analysis adds it)."""
    entry = info.get("difficulty")
    if not entry:
        return None
    try:
        level = from_params(entry["name"], entry.get("params"))
    except JunkDNAError:
        return None  # recorded by another junkdna version, with parameters this one lacks
    return level.measure(level.run_facts(info))
