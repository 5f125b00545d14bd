"""Study files: validation errors name the key (with a suggestion), plans are stable and shared
masks are counted; every shipped study file validates and plans without loading a model."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from junkdna.errors import JunkDNAError
from junkdna.study import load_study, parse_study, plan_study

STUDIES = sorted((Path(__file__).parents[1] / "studies").glob("*.toml"))

BASE = {
    "study": {"name": "t", "seeds": [1, 2]},
    "recipe": {"lr": 1e-3, "epochs": 1},
    "experiment": [
        {
            "name": "a",
            "models": ["minilm"],
            "tasks": ["multiemo_en"],
            "difficulty": [
                {"setting": "data_adequacy", "fraction": 0.1},
                {"setting": "data_adequacy", "fraction": 1.0},
            ],
            "regimes": ["dense", "sparse"],
            "pruning": [
                {"methods": ["magnitude"], "sparsities": [0.2, 0.5]},
                {"methods": ["magnitude"], "structures": ["2:4"]},
            ],
        }
    ],
}


def study(**changes):
    data = copy.deepcopy(BASE)
    exp = data["experiment"][0]
    for key, value in changes.items():
        if key.startswith("p0_"):
            exp["pruning"][0][key[3:]] = value
        else:
            exp[key] = value
    return data


def error_of(data) -> str:
    with pytest.raises(JunkDNAError) as e:
        parse_study(data)
    return str(e.value)


def test_unknown_keys_name_the_key_with_a_suggestion():
    data = copy.deepcopy(BASE)
    data["experiments"] = data.pop("experiment")
    msg = error_of(data)
    assert "unknown key 'experiments'" in msg and "Did you mean 'experiment'" in msg
    msg = error_of(study(prunning=[]))
    assert "experiment[0].prunning" in msg and "Did you mean 'pruning'" in msg
    msg = error_of(study(p0_sparsity=[0.5]))
    assert "experiment[0].pruning[0].sparsity" in msg and "'sparsities'" in msg


@pytest.mark.parametrize(
    ("changes", "needles"),
    [
        ({"p0_structures": ["2:4"], "p0_sparsities": [0.3]}, ["pruning[0].sparsities", "0.5"]),
        ({"p0_methods": ["wanda"]}, ["pruning[0].calibration", "needs calibration"]),
        ({"p0_calibration": {"nsamples": 4}}, ["calibration is unused"]),
        ({"regimes": ["sparse"]}, ["regimes", "add 'dense'"]),
        ({"regimes": ["dense"]}, ["pruning is unused"]),
        ({"regimes": ["dense", "sprase"]}, ["unknown regime 'sprase'", "'sparse'"]),
        ({"tasks": ["multiemo_eng"]}, ["tasks", "'multiemo_en'"]),
        ({"difficulty": [{"setting": "data_adequcy", "fraction": 0.5}]}, ["'data_adequacy'"]),
        ({"difficulty": [{"setting": "data_adequacy", "fraction": 2}]}, ["difficulty[0]"]),
        ({"difficulty": [{"setting": "data_adequacy", "frac": 0.5}]}, ["no parameter(s) frac"]),
        ({"p0_sparsities": [0.0, 0.5]}, ["sparsities", "dense reference"]),
        ({"p0_scopes": ["rows"]}, ["does not support scope 'rows'"]),
        ({"p0_methods": ["magnitud"]}, ["'magnitude'"]),
        ({"recipe": {"lr": 1e-3, "epoch": 2}}, ["recipe", "'epochs'"]),
        ({"recipe": {"seed": 3}}, ["seed", "seeds list"]),
        ({"seeds": [1, 1]}, ["seeds", "listed twice"]),
        ({"models": ["./no/such/folder"]}, ["does not exist"]),
        (
            {"tasks": ["multiemo_en"], "difficulty": [{"setting": "human_model_gap"}]},
            ["human_model_gap needs a human score", "multiemo_en"],
        ),
        (
            {
                "tasks": [{"name": "mine", "file": __file__}],
                "difficulty": [{"setting": "dense_headroom"}],
            },
            ["dense_headroom needs the task's majority-class baseline", "'mine'"],
        ),
        (
            {"tasks": ["sst2"], "difficulty": [{"setting": "dense_headroom"}]},
            ["dense_headroom needs the task's majority-class baseline", "'sst2'"],
        ),
    ],
)
def test_impossible_combinations_are_errors(changes, needles):
    msg = error_of(study(**changes))
    for needle in needles:
        assert needle in msg, msg


def test_plan_counts_runs_and_shared_masks():
    plan = plan_study(parse_study(study()))
    # per (level, seed): 1 dense + 2 unstructured + 1 N:M sparse = 4; 2 levels x 2 seeds = 16
    assert len(plan.runs) == 16
    s = plan.summary()
    assert s["by_regime"] == {"dense": 4, "sparse": 12}
    # 3 masks (0.2, 0.5, 2:4), each shared by 2 levels x 2 seeds
    assert s["masks"] == 3 and s["shared_masks"] == 3
    assert sorted(plan.mask_usage().values()) == [4, 4, 4]
    nm = [r for r in plan.runs if r.pruning and r.pruning.structure == "2:4"]
    assert {r.pruning.sparsity for r in nm} == {0.5}
    assert {r.pruning.scope for r in nm} == {"layer"}
    dense = [r for r in plan.runs if r.regime == "dense"]
    assert all(r.pruning is None and r.mask_key is None for r in dense)


def test_run_ids_are_stable_and_depend_only_on_what_is_computed():
    ids = [r.run_id for r in plan_study(parse_study(study())).runs]
    assert len(set(ids)) == len(ids)
    assert ids == [r.run_id for r in plan_study(parse_study(study())).runs]
    renamed = study(name="b", recipe={})
    renamed_ids = {r.run_id for r in plan_study(parse_study(renamed)).runs}
    assert renamed_ids == set(ids)  # a name and an explicit-but-default key change nothing
    explicit = study(recipe={"warmup_ratio": 0.06})  # Recipe's default, written out
    assert {r.run_id for r in plan_study(parse_study(explicit)).runs} == set(ids)
    changed = study(recipe={"lr": 5e-4})
    assert not {r.run_id for r in plan_study(parse_study(changed)).runs} & set(ids)


def test_a_run_listed_by_two_experiments_is_one_run():
    data = copy.deepcopy(BASE)
    second = copy.deepcopy(data["experiment"][0]) | {"name": "b", "save_weights": True}
    second["difficulty"] = second["difficulty"][1:]  # overlaps on the fraction=1.0 level
    data["experiment"].append(second)
    plan = plan_study(parse_study(data))
    assert len(plan.runs) == 16
    full = [r for r in plan.runs if r.labels.level == "fraction=1.0"]
    assert full and all(r.labels.save_weights for r in full)


@pytest.mark.parametrize("path", STUDIES, ids=[p.stem for p in STUDIES])
def test_shipped_study_files_validate_and_plan_without_loading_models(path, monkeypatch):
    import transformers

    def forbidden(*a, **k):
        raise AssertionError("planning must not load a model or tokenizer")

    for cls in (transformers.PreTrainedModel, transformers.AutoTokenizer, transformers.AutoConfig):
        monkeypatch.setattr(cls, "from_pretrained", forbidden)
    monkeypatch.setattr("junkdna.models.load_model", forbidden)
    plan = plan_study(load_study(path))
    assert plan.runs
    assert len({r.run_id for r in plan.runs}) == len(plan.runs)
    for run in plan.runs:
        if run.regime not in ("dense", "none"):
            assert run.mask_key is not None


def test_shipped_studies_include_the_quickstart_and_the_paper():
    names = {p.stem for p in STUDIES}
    assert "quickstart" in names
    for fig in ("figure1", "figure2", "figure3", "figure4", "figure5", "figure6", "figure10"):
        assert any(n.startswith(fig + "_") or n == fig for n in names), fig
    assert any(n.startswith("table1") for n in names)


def test_old_key_criteria_still_parses_with_a_deprecation_warning():
    from junkdna.errors import JunkDNADeprecationWarning

    data = study()
    for block in data["experiment"][0]["pruning"]:
        block["criteria"] = block.pop("methods")
    with pytest.warns(JunkDNADeprecationWarning, match="'criteria' is deprecated; use 'methods'"):
        old = plan_study(parse_study(data))
    assert [r.run_id for r in old.runs] == [r.run_id for r in plan_study(parse_study(study())).runs]


def test_run_ids_and_mask_keys_are_those_of_run_format_2():
    """Finished studies keep working: the ids of this grid, computed by junkdna before the typed
    RunSpec existed (run format 2), must not change when fields are renamed or moved."""
    import hashlib

    plan = plan_study(parse_study(study()))
    ids = sorted(r.run_id for r in plan.runs)
    assert len(ids) == 16
    assert hashlib.sha256(",".join(ids).encode()).hexdigest()[:16] == "d0cd3c8ceb43a27d"
    keys = sorted({r.mask_key for r in plan.runs if r.mask_key})
    assert keys == ["5754d524e03ead03", "f2bcddde192659b4", "ffdc7873509e7a0d"]


@pytest.mark.parametrize(
    ("primary", "needle"),
    [
        ([{"method": "magnitude"}], "name the setting"),
        ([{"difficulty": "data_adequcy"}], "Did you mean 'data_adequacy'"),
        ([{"difficulty": "data_adequacy", "metod": "wanda"}], "Did you mean 'method'"),
        ([{"difficulty": "data_adequacy"}] * 2, "listed twice"),
    ],
)
def test_declared_primary_tests_are_checked(primary, needle):
    data = study()
    data["study"]["primary"] = primary
    assert needle in error_of(data)
