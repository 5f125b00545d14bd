"""The study file (TOML) as validated pydantic models.

A study is a list of *experiments*; each expands to the grid
models x tasks x difficulty levels x seeds x (regimes x pruning points). Study-level ``[recipe]``
and ``[resources]`` are defaults that an experiment may override key by key.

Unknown keys are rejected here (with a did-you-mean); ``junkdna.study.load`` parses a file and
runs the semantic checks of ``junkdna.study.checks`` (names, paths, impossible combinations).
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from junkdna.errors import JunkDNAError, deprecated, did_you_mean


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resources(_Strict):
    """What one run needs (a Ray task's resource request; torch threads for local runs)."""

    num_cpus: float = Field(1, gt=0)
    num_gpus: float = Field(0, ge=0)


class Calibration(_Strict):
    """Calibration text for methods that need activations (Wanda, SparseGPT), or the labelled
    examples of the task-aware methods (taylor, fisher: ``source = "task"``, the only source they
    take; their nsamples defaults to 256, and seqlen does not apply)."""

    # "default" (LAMBADA's passages, data/texts.py), a .txt/.jsonl file, or "task" (the run's own
    # training inputs, encoded by its head)
    source: str = "default"
    nsamples: int = Field(128, ge=1)
    seqlen: int = Field(512, ge=2)
    seed: int = 0


class Pruning(_Strict):
    """One block of pruning points: methods x structures x sparsities (x scopes x budgets)."""

    methods: list[str] = Field(min_length=1)
    structures: list[str] = ["unstructured"]
    sparsities: list[float] | None = None  # required for unstructured; implied by N:M
    scopes: list[str | None] = [None]  # None = the method's default scope
    # Layer budgets (junkdna.pruning.budgets): "uniform", "owl", "owl:M=7,lambda=0.1",
    # "linear:0.1", or a list of block sparsities (a grid axis, like sparsities)
    budgets: list[str | list[float]] = ["uniform"]
    calibration: Calibration | None = None
    include: list[str] = []
    exclude: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _criteria_alias(cls, data: Any) -> Any:
        # Study files written before "method" became the one word used `criteria = [...]`.
        if isinstance(data, dict) and "criteria" in data and "methods" not in data:
            deprecated("the study key 'criteria'", "'methods'")
            data = {("methods" if k == "criteria" else k): v for k, v in data.items()}
        return data


class Difficulty(BaseModel):
    """``{setting = "data_adequacy", fraction = 0.1}``: any registered setting with its params.

    ``label`` names the level in tables and figures (default: its parameters, e.g.
    ``fraction=0.1``); ``value`` is an optional numeric difficulty measure (larger = harder).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    setting: str
    label: str | None = None
    value: float | None = None

    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Task(_Strict):
    """A registered task (``name`` only) or a local JSONL/CSV file (``file``)."""

    name: str
    file: str | None = None
    text_fields: list[str] = ["text"]
    label_field: str = "label"
    choices_field: str | None = None  # local multiple-choice task: the list of choices
    head: str = "classification"
    metric: str | None = None
    validation: str | None = None  # local validation file (default: a seeded 20% hold-out)
    max_validation: int | None = Field(None, ge=1)  # score on the first N validation rows
    # A fixed training budget (a seeded stratified sample, applied before any difficulty setting)
    train_examples: int | None = Field(None, ge=1)
    human_score: float | None = None  # published human score (setting 4), metric units
    difficulty_value: float | None = None  # a given difficulty measure for this task


class Experiment(_Strict):
    name: str
    models: list[str] = Field(min_length=1)
    tasks: list[Task] = Field(min_length=1)
    difficulty: list[Difficulty] = []  # empty: the task as it is (difficulty "none")
    regimes: list[str] = Field(min_length=1)
    seeds: list[int] | None = None  # default: [study] seeds
    pruning: list[Pruning] = []
    recipe: dict[str, Any] = {}  # overrides of the study's [recipe]
    resources: dict[str, Any] = {}  # overrides of the study's [resources]
    save_weights: bool = False  # keep the fine-tuned weights (e.g. for linear mode connectivity)

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_names(cls, v):
        # A plain string is a registered task name.
        return [{"name": t} if isinstance(t, str) else t for t in v] if isinstance(v, list) else v


class StudyInfo(_Strict):
    name: str = Field(pattern=r"^[\w.-]+$")
    description: str = ""
    output: str | None = None  # default: $JUNKDNA_HOME/studies/<name>; relative to the file
    seeds: list[int] = [0]
    # The primary test of a difficulty setting, declared before the data: {difficulty = NAME}
    # plus any of model, method, structure, scope, regime naming one test of that setting. The
    # report Holm-adjusts the primaries across settings; a setting not listed gets its default.
    primary: list[dict[str, str]] = []


# The keys (besides ``difficulty``) that name one test of a setting in ``[study] primary``.
PRIMARY_KEYS = ("model", "method", "structure", "scope", "regime")


class Atlas(_Strict):
    """``[atlas]``: where each task's important weights lie (``junkdna.atlas``), computed after
    the runs for every task of ``experiment`` (default: the first experiment) and, in the report,
    set against the sweep's achievable sparsities (predict before you sweep)."""

    experiment: str | None = None  # the sweep whose tasks the atlas covers and predicts
    model: str | None = None  # default: the experiment's first model
    method: str = "fisher"  # a task-aware criterion: "fisher" or "taylor"
    sparsity: float = Field(0.5, gt=0, lt=1)
    nsamples: int = Field(256, ge=1)  # labelled training examples per task
    batch_size: int = Field(8, ge=1)
    seed: int = 0  # the examples' sample and the task head's initialisation


# What a claim of a replication is tested by (``analysis.replication``): the two-level test of a
# difficulty setting, a section-5 regime comparison, the loss-barrier test over seeds, or nothing
# (a claim the study cannot test, with the reason in ``why``).
CLAIM_TESTS = ("difficulty", "regimes", "lmc", "none")


class ClaimPower(_Strict):
    pilot_sd: float | None = Field(None, gt=0)  # the sd of one unit's value the pilot measured
    source: str = ""  # which pilot, on which data (never the data the test uses)


class Claim(_Strict):
    """``[[claim]]``: one claim of the paper and the test that answers it, declared before any
    data (``junkdna report`` writes the replication table when a study has claims)."""

    id: str = Field(pattern=r"^[\w.-]+$")
    claim: str  # the paper's claim in one sentence
    where: str  # section and figure of the paper
    test: str  # one of CLAIM_TESTS
    experiments: list[str] = []  # the study's experiments whose runs it reads
    select: dict[str, Any] = {}  # keys naming one test (difficulty, regime, level, comparison...)
    delta: float | None = Field(None, gt=0)  # the effect (easier - harder) a replication must find
    unit: str = "seed"  # seed, item or task
    n: int | None = Field(None, ge=1)  # the units the design declares
    power: ClaimPower = ClaimPower()
    why: str = ""  # for test = "none": why the study cannot test it, what would
    figure: str = ""  # the paper's figure this row's small figure is drawn after


class StudyFile(_Strict):
    study: StudyInfo
    recipe: dict[str, Any] = {}
    resources: Resources = Resources()
    experiment: list[Experiment] = Field(min_length=1)
    atlas: Atlas | None = None
    claim: list[Claim] = []

    @model_validator(mode="after")
    def _claims(self):
        names = [e.name for e in self.experiment]
        seen = set()
        for c in self.claim:
            if c.id in seen:
                raise ValueError(f"claim {c.id!r} is declared twice")
            seen.add(c.id)
            if c.test not in CLAIM_TESTS:
                raise ValueError(
                    f"claim {c.id!r}: test {c.test!r} is not one of {', '.join(CLAIM_TESTS)}"
                )
            for e in c.experiments:
                if e not in names:
                    raise ValueError(
                        f"claim {c.id!r}: no experiment {e!r}; the study has {', '.join(names)}"
                    )
            if c.test != "none" and (c.delta is None or c.n is None or not c.experiments):
                raise ValueError(
                    f"claim {c.id!r}: a tested claim declares delta, n and its experiments"
                )
            if c.test == "none" and not c.why:
                raise ValueError(f"claim {c.id!r}: an untested claim says why in 'why'")
        return self


class Study:
    """A validated study file plus where it lives (relative paths resolve against its folder)."""

    def __init__(self, spec: StudyFile, path: Path | None):
        self.spec = spec
        self.path = path
        self.root = path.parent if path is not None else Path.cwd()

    @property
    def name(self) -> str:
        return self.spec.study.name

    @property
    def output(self) -> Path:
        from junkdna.paths import home

        out = self.spec.study.output
        if out is None:
            return home() / "studies" / self.name
        p = Path(out).expanduser()
        return p if p.is_absolute() else self.root / p

    def resolve_path(self, text: str) -> Path:
        p = Path(text).expanduser()
        return p if p.is_absolute() else self.root / p


def config_error(e: ValidationError, root: type[BaseModel], path: Path | None) -> JunkDNAError:
    where = f"study file {str(path)!r}: " if path else "study: "
    lines = []
    for err in e.errors():
        loc = err["loc"]
        key = key_path(loc)
        if err["type"] == "extra_forbidden":
            valid = _fields_at(root, loc[:-1])
            lines.append(f"unknown key {key!r}.{did_you_mean(str(loc[-1]), valid)}")
        elif err["type"] == "missing":
            lines.append(f"missing key {key!r}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{key}: {msg} (got {err.get('input')!r})")
    return JunkDNAError(where + "; ".join(lines))


def key_path(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields_at(model: type[BaseModel], loc) -> list[str]:
    """The field names valid at ``loc`` (walking through lists and nested models)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            return []
        current = _model_in(fields[part].annotation)
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
