"""Semantic checks of a parsed study: names exist, combinations are possible.

Nothing here loads a model or data or touches the network: names are looked up in the
registries, local paths are checked on disk, hub ids are taken as given.
"""

from __future__ import annotations

from typing import Any

from junkdna.difficulty import default_label, from_params
from junkdna.errors import JunkDNAError, did_you_mean, unknown
from junkdna.pruning import METHODS
from junkdna.pruning.select import Structure
from junkdna.recipe import Recipe
from junkdna.study.config import PRIMARY_KEYS, Resources
from junkdna.study.spec import PruningPoint
from junkdna.transfer.regimes import REGIMES, regime_names


def recipe_for(study, exp) -> dict[str, Any]:
    """The experiment's recipe dict: study [recipe] overridden by the experiment's keys."""
    return {**study.spec.recipe, **exp.recipe}


def check_study(study) -> None:
    names = [e.name for e in study.spec.experiment]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise JunkDNAError(f"experiment name {dup[0]!r} is used twice; names must be unique")
    _unique(study.spec.study.seeds, "study.seeds")
    _check_primary(study.spec.study.primary)
    for i, exp in enumerate(study.spec.experiment):
        where = f"experiment[{i}] ({exp.name})"
        try:
            _check_experiment(study, exp, where)
        except JunkDNAError as e:
            raise JunkDNAError(f"{_file(study)}{e}") from None
    atlas_settings(study)


def atlas_settings(study) -> dict | None:
    """The study's ``[atlas]`` table resolved (its experiment, default the first; its model,
    default that experiment's first), after checking the experiment exists and the method scores
    weights with the task's data; None without one."""
    cfg = study.spec.atlas
    if cfg is None:
        return None
    names = [e.name for e in study.spec.experiment]
    experiment = cfg.experiment or names[0]
    if experiment not in names:
        raise JunkDNAError(
            f"{_file(study)}[atlas] experiment {experiment!r} is not an experiment of the "
            f"study; valid: {', '.join(names)}"
        )
    task_aware = [n for n in METHODS.names() if getattr(METHODS.get(n), "needs_task", False)]
    if cfg.method not in task_aware:
        raise JunkDNAError(
            f"{_file(study)}[atlas] method {cfg.method!r} is not a task-aware criterion; valid: "
            f"{', '.join(task_aware)}"
        )
    exp = study.spec.experiment[names.index(experiment)]
    return {**cfg.model_dump(), "experiment": experiment, "model": cfg.model or exp.models[0]}


def _check_primary(primary: list[dict[str, str]]) -> None:
    from junkdna.difficulty import DIFFICULTIES

    for k, spec in enumerate(primary):
        where = f"study.primary[{k}]"
        if "difficulty" not in spec:
            raise JunkDNAError(f"{where}: name the setting, e.g. {{difficulty = 'data_adequacy'}}")
        if spec["difficulty"] not in DIFFICULTIES:
            raise unknown(f"{where} difficulty setting", spec["difficulty"], DIFFICULTIES.names())
        for key in spec:
            if key != "difficulty" and key not in PRIMARY_KEYS:
                raise unknown(f"{where} key", key, ["difficulty", *PRIMARY_KEYS])
    _unique([s.get("difficulty") for s in primary], "study.primary (one per setting)")


def _file(study) -> str:
    return f"study file {str(study.path)!r}: " if study.path else "study: "


def _unique(values, key: str) -> None:
    seen = [v for v in values if values.count(v) > 1]
    if seen:
        raise JunkDNAError(f"{key}: {seen[0]!r} is listed twice")


def _check_experiment(study, exp, where: str) -> None:
    for m in exp.models:
        check_model(study, m, f"{where}.models")
    _unique(exp.regimes, f"{where}.regimes")
    choices = regime_names()
    for r in exp.regimes:
        if r not in choices:
            raise JunkDNAError(f"{where}.regimes: unknown regime {r!r}.{did_you_mean(r, choices)}")
    for t in exp.tasks:
        check_task(study, t, exp.regimes, f"{where}.tasks")
    _unique([t.name for t in exp.tasks], f"{where}.tasks")
    _check_difficulty(exp, where)
    _check_regimes_vs_pruning(exp, where)
    for j, block in enumerate(exp.pruning):
        pruning_points(block, f"{where}.pruning[{j}]", study.root)
    _unique(exp.seeds or [], f"{where}.seeds")
    if exp.seeds is not None and not exp.seeds:
        raise JunkDNAError(f"{where}.seeds is empty")
    recipe = recipe_for(study, exp)
    if "seed" in recipe:
        raise JunkDNAError(f"{where}.recipe: 'seed' comes from the seeds list; remove it")
    try:
        Recipe(**recipe)
    except JunkDNAError as e:
        raise JunkDNAError(f"{where}.recipe: {e}") from None
    try:
        Resources(**{**study.spec.resources.model_dump(), **exp.resources})
    except Exception as e:
        raise JunkDNAError(f"{where}.resources: {e}") from None


def check_model(study, name: str, key: str) -> None:
    from junkdna.models import resolve

    if name.startswith((".", "/", "~")):
        path = study.resolve_path(name)
        if not path.exists():
            raise JunkDNAError(f"{key}: model folder {str(path)!r} does not exist")
        name = str(path)
    try:
        resolve(name)  # aliases and folders are checked; hub ids are taken as given
    except JunkDNAError as e:
        raise JunkDNAError(f"{key}: {e}") from None


# The keys of a study's task that describe a local file (a registered task has its own).
FILE_KEYS = frozenset(
    {"text_fields", "label_field", "choices_field", "head", "metric", "validation"}
)


def check_task(study, task, regimes, key: str) -> None:
    from junkdna.heads import HEADS

    if task.file is not None:
        if not study.resolve_path(task.file).is_file():
            raise JunkDNAError(f"{key}: task file {task.file!r} does not exist")
        if task.validation and not study.resolve_path(task.validation).is_file():
            raise JunkDNAError(f"{key}: validation file {task.validation!r} does not exist")
        if task.head not in HEADS:
            raise unknown(f"head of local task {task.name!r}", task.head, HEADS.names())
        head = task.head
        from junkdna.tasks.local import check_choices_field

        try:
            check_choices_field(head, task.choices_field)
        except JunkDNAError as e:
            raise JunkDNAError(f"{key}: task {task.name!r}: {e}") from None
    else:
        given = sorted(task.model_fields_set & FILE_KEYS)
        if given:  # keys the run would ignore: an error, never a silent no-op
            raise JunkDNAError(
                f"{key}: {', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to a local "
                f"task file (give file = ...); registered task {task.name!r} brings its own"
            )
        from junkdna.tasks.registry import get_spec

        try:
            head = get_spec(task.name).head
        except JunkDNAError as e:
            raise JunkDNAError(f"{key}: {e}") from None
    for regime in regimes:
        finetunes = REGIMES.get(regime).finetunes  # "none" only evaluates
        if not HEADS.get(head).supports(finetunes):
            able = [name for name, kind in HEADS.items() if kind.supports(finetunes)]
            raise JunkDNAError(
                f"{key}: task {task.name!r} has head {head!r}, which regime {regime!r} does not "
                f"support yet (supported: {', '.join(able)})"
            )


def task_human_score(task) -> float | None:
    if task.human_score is not None or task.file is not None:
        return task.human_score
    from junkdna.tasks.registry import get_spec

    human = get_spec(task.name).human
    return None if human is None else human.value


def _check_difficulty(exp, where: str) -> None:

    labels = []
    for k, d in enumerate(exp.difficulty):
        try:
            obj = from_params(d.setting, d.params())
        except JunkDNAError as e:
            raise JunkDNAError(f"{where}.difficulty[{k}]: {e}") from None
        labels.append(level_label(d))
        for regime in exp.regimes:
            why = obj.fits_regime(REGIMES.get(regime).finetunes)
            if why:
                raise JunkDNAError(f"{where}.difficulty[{k}] with regime {regime!r}: {why}")
        # The setting says what its measure needs; every task must be able to provide it.
        if obj.needs_human_score:
            for t in exp.tasks:
                if task_human_score(t) is None:
                    raise JunkDNAError(
                        f"{where}.difficulty[{k}]: {obj.name} needs a human score, and task "
                        f"{t.name!r} has none; give it one (tasks = [{{name = {t.name!r}, "
                        f"human_score = ...}}]) or choose a task that has one"
                    )
        if obj.needs_baseline:
            for t in exp.tasks:
                if t.difficulty_value is None and not _has_majority_baseline(t):
                    raise JunkDNAError(
                        f"{where}.difficulty[{k}]: {obj.name} needs the task's majority-class "
                        f"baseline, and task {t.name!r} has none (only offline tasks get one, from "
                        "`junkdna data prepare`); give it a difficulty_value or use an offline task"
                    )
    _unique(labels, f"{where}.difficulty (level labels)")
    settings = {d.setting for d in exp.difficulty}
    if len(settings) > 1:
        raise JunkDNAError(
            f"{where}.difficulty mixes settings {sorted(settings)}; one experiment varies one "
            "setting (split them into two experiments)"
        )


def _has_majority_baseline(task) -> bool:
    if task.file is not None:
        return False
    from junkdna.tasks.registry import get_spec

    return get_spec(task.name).offline


def level_label(d) -> str:
    """A level's name in tables and figures: the study file's ``label``, else its parameters."""
    return d.label if d.label is not None else default_label(d.params())


def _check_regimes_vs_pruning(exp, where: str) -> None:
    regimes = [REGIMES.get(r) for r in exp.regimes]
    masked = [r.name for r in regimes if r.needs_masks()]
    if masked and not exp.pruning:
        raise JunkDNAError(
            f"{where}.pruning: regime(s) {masked} need masks, but the experiment has no "
            "[[experiment.pruning]] block"
        )
    for r in regimes:
        if r.takes_masks() and exp.pruning and r.reference not in exp.regimes:
            raise JunkDNAError(
                f"{where}.regimes: {masked or [r.name]} are normalized by {r.reference} transfer "
                f"of the same task, level and seed; add {r.reference!r} to regimes"
            )
    if exp.pruning and not any(r.takes_masks() for r in regimes):
        takers = [n for n in regime_names() if REGIMES.get(n).takes_masks()]
        raise JunkDNAError(
            f"{where}.pruning is unused: regimes {exp.regimes} apply no mask "
            f"(add {', '.join(repr(t) for t in takers)})"
        )


def pruning_points(block, where: str, root=None) -> list[PruningPoint]:
    """Expand one [[experiment.pruning]] block into resolved pruning points (``root``: where a
    budget's .json file resolves, the study file's folder)."""
    from junkdna.pruning.budgets import parse_budget

    _unique(block.methods, f"{where}.methods")
    _unique(block.structures, f"{where}.structures")
    _unique(block.sparsities or [], f"{where}.sparsities")
    crits = []
    for c in block.methods:
        try:
            crits.append(METHODS.get(c))
        except JunkDNAError as e:
            raise JunkDNAError(f"{where}.methods: {e}") from None
    budgets = []
    for b in block.budgets:
        try:
            budgets.append(parse_budget(b, root))
        except JunkDNAError as e:
            raise JunkDNAError(f"{where}.budgets: {e}") from None
    _unique([b.text() for b in budgets], f"{where}.budgets")
    calibrated = [c.name for c in crits if c.needs_calibration]
    owl = [b.text() for b in budgets if b.needs_calibration]
    # taylor/fisher: the examples come from the run's task ({source = "task"} by default)
    tasky = [c.name for c in crits if c.needs_task]
    if (calibrated or owl) and block.calibration is None:
        what = f"method {calibrated[0]!r}" if calibrated else f"budget {owl[0]!r}"
        raise JunkDNAError(
            f"{where}.calibration: {what} needs calibration data; add "
            "calibration = {source = 'default', nsamples = 128, seqlen = 512}"
        )
    if block.calibration is not None and not calibrated and not owl and not tasky:
        raise JunkDNAError(
            f"{where}.calibration is unused: none of {block.methods} needs calibration"
        )
    points = []
    for st_text in block.structures:
        try:
            st = Structure.parse(st_text)
        except JunkDNAError as e:
            raise JunkDNAError(f"{where}.structures: {e}") from None
        if st.is_nm:
            if block.sparsities is not None and any(s != st.sparsity for s in block.sparsities):
                raise JunkDNAError(
                    f"{where}.sparsities: structure {st} fixes the sparsity at {st.sparsity:g}, "
                    f"but sparsities = {block.sparsities}; put N:M structures in their own "
                    "[[experiment.pruning]] block without sparsities"
                )
            sparsities = [st.sparsity]
        else:
            if not block.sparsities:
                raise JunkDNAError(f"{where}.sparsities: unstructured pruning needs sparsities")
            sparsities = block.sparsities
        for s in sparsities:
            if not 0 < s < 1:
                raise JunkDNAError(
                    f"{where}.sparsities: {s!r} is not in (0, 1) (sparsity 0 is the dense "
                    "reference, which the plan adds itself)"
                )
        for crit in crits:
            for scope in block.scopes:
                if st.is_nm and scope is not None:
                    raise JunkDNAError(f"{where}.scopes: scope does not apply to N:M ({st})")
                cal = block.calibration.model_dump() if block.calibration else None
                if crit.needs_task and block.calibration is not None:
                    # only the keys given: the method's own defaults fill in the rest
                    cal = block.calibration.model_dump(exclude_unset=True)
                for s in sparsities:
                    for bud in budgets:
                        try:
                            point = PruningPoint.resolve(
                                crit.name, None if st.is_nm else s, str(st), scope, cal,
                                block.include, block.exclude, bud,
                            )  # fmt: skip
                        except JunkDNAError as e:
                            raise JunkDNAError(f"{where}: {e}") from None
                        points.append(point)
    return points
