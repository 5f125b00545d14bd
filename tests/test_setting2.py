"""Setting 2 as the paper ran it, and its offline analogue.

* The English-centric task (opus100_en_centric): en<->ru, en<->vi, en<->gu, en<->my, one domain
  per direction, OPUS-100's train split and its test split scored, checked on a small local fake
  of the OPUS rows (the hub is never reached).
* MajorityMinority levels: one language group each (English the pivot: "en-ru" is majority);
  zero-shot = no fine-tuning data, few-shot = the group's own directions; the measure (the
  inverse of the group's share of the two groups' data) orders majority < minority,
  hand-computed from the paper's Table 2 and from OPUS-100's pair counts.
* studies/figure2_majority_minority.toml plans the paper's design (zero-shot under regime
  "none", few-shot fine-tuned) and, reduced to a tiny mBART on the fake OPUS rows, runs end to
  end: the zero-shot runs fine-tune nothing, the few-shot runs do, beam search decodes, and the
  masks include the embeddings.
* studies/setting2_offline.toml plans, and a reduced copy on tiny models runs end to end with a
  report whose two-level test has a finite p.
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from datasets import Dataset, DatasetDict

sys.path.insert(0, str(Path(__file__).parent))
from test_translation import WORDS  # noqa: E402

from junkdna.difficulty import MajorityMinority, from_params, level_from_label  # noqa: E402
from junkdna.difficulty.sampling import PAPER_TABLE2, RunFacts  # noqa: E402
from junkdna.errors import JunkDNAError  # noqa: E402
from junkdna.tasks import translation  # noqa: E402
from junkdna.tasks.registry import get_spec, load_task  # noqa: E402

STUDIES = Path(__file__).resolve().parents[1] / "studies"
FIGURE2 = STUDIES / "figure2_majority_minority.toml"
OFFLINE = STUDIES / "setting2_offline.toml"
PAPER_LEVEL = {"majority": ["ru", "vi"], "minority": ["gu", "my"]}
MAJOR = {"en-ru", "ru-en", "en-vi", "vi-en"}
MINOR = {"en-gu", "gu-en", "en-my", "my-en"}


# ----------------------------------------------------------------------------- fake OPUS-100


def english(i: int) -> str:
    """A distinct English sentence of tokenizer words (the tiny mBART's vocabulary)."""
    return " ".join(WORDS[(i // len(WORDS) ** k) % len(WORDS)] for k in range(3)) + f" {i}"


# (train, validation, test) pairs of each fake en-xx corpus; sentence ids start at ``first``
FAKE = {"ru": (12, 3, 4, 0), "vi": (10, 3, 4, 100), "gu": (6, 3, 4, 200), "my": (4, 3, 4, 300)}


def corpus(xx: str) -> DatasetDict:
    """An en-xx corpus: sentence i translated as "<xx> <english i>", in OPUS-100's three
    splits (train, validation, test: consecutive ids)."""
    n_train, n_val, n_test, first = FAKE[xx]
    cuts = {"train": n_train, "validation": n_val, "test": n_test}
    out, i = {}, first
    for split, n in cuts.items():
        rows = [
            {"translation": {"en": english(k), xx: f"{xx} {english(k)}"}} for k in range(i, i + n)
        ]
        out[split] = Dataset.from_list(rows)
        i += n
    return DatasetDict(out)


def split_ids(xx: str, split: str) -> list[int]:
    n_train, n_val, n_test, first = FAKE[xx]
    start = {"train": 0, "validation": n_train, "test": n_train + n_val}[split]
    n = {"train": n_train, "validation": n_val, "test": n_test}[split]
    return list(range(first + start, first + start + n))


@pytest.fixture
def opus(tmp_path, monkeypatch):
    """The fake corpora behind datasets.load_dataset; returns the configs it was asked."""
    import datasets

    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    data, asked = {f"en-{xx}": corpus(xx) for xx in FAKE}, []

    def load(path, config=None, *a, **k):
        assert path == "Helsinki-NLP/opus-100" and not a and not k
        asked.append(config)
        return data[config]

    monkeypatch.setattr(datasets, "load_dataset", load)
    return asked


def sentence_of(text: str) -> str:
    return text.split(" ", 1)[1]  # "<xx> <english>" -> english


# ----------------------------------------------------------------------------- the task


def test_en_centric_task_from_fake_opus_rows(opus):
    task = load_task("opus100_en_centric")
    assert sorted(set(opus)) == ["en-gu", "en-my", "en-ru", "en-vi"]
    assert task.lang_fields == ("src_lang", "tgt_lang") and task.metric == "sacrebleu"
    assert set(task.train["domain"]) == set(task.validation["domain"]) == MAJOR | MINOR
    assert task.test is None  # OPUS-100's validation split is not loaded
    for split, ours in (("train", task.train), ("test", task.validation)):  # test is scored
        for xx in FAKE:
            want = {english(i) for i in split_ids(xx, split)}
            fwd = [r for r in ours if r["domain"] == f"en-{xx}"]
            back = [r for r in ours if r["domain"] == f"{xx}-en"]
            assert {r["source"] for r in fwd} == want == {r["target"] for r in back}
            assert all(r["target"] == f"{xx} {r['source']}" for r in fwd)
            code = translation.MBART_CODES[xx]
            assert {(r["src_lang"], r["tgt_lang"]) for r in fwd} == {("en_XX", code)}
            assert {(r["src_lang"], r["tgt_lang"]) for r in back} == {(code, "en_XX")}
    sizes = task.info["sizes"]
    assert sizes["train"] == {f"{a}-{b}": FAKE[xx][0] for xx in FAKE
                              for a, b in (("en", xx), (xx, "en"))}  # fmt: skip
    assert set(sizes["validation"].values()) == {4}  # each direction: its test split


def test_en_centric_spec_names_hub_corpora_that_exist():
    spec = get_spec("opus100_en_centric")
    assert not spec.offline and spec.domain_field == "domain"
    parts = dict(spec.source.parts)
    assert set(parts) == MAJOR | MINOR
    for direction, part in parts.items():
        hub = get_spec(part).source
        xx = next(x for x in direction.split("-") if x != "en")
        assert (hub.path, hub.config) == ("Helsinki-NLP/opus-100", f"en-{xx}")
        assert dict(hub.splits) == {"train": "train", "validation": "test"}
        assert get_spec(part).version == "2"


# ----------------------------------------------------------------------------- levels


def level(group: str, mode: str = "few-shot", **kw) -> MajorityMinority:
    return MajorityMinority(
        ("ru", "vi"), ("gu", "my"), group=group, mode=mode, pivot="en", **kw
    )  # fmt: skip


def test_levels_on_the_en_centric_task(opus):
    task = load_task("opus100_en_centric")
    # all pairs: each group trains on its four directions, both groups' rows recorded
    n = {xx: FAKE[xx][0] for xx in FAKE}
    major, minor = 2 * (n["ru"] + n["vi"]), 2 * (n["gu"] + n["my"])  # 44, 20
    maj = level("majority").apply(task, seed=1)
    assert set(maj.train["domain"]) == MAJOR and len(maj.train) == major
    assert set(maj.validation["domain"]) == MAJOR and len(maj.validation) == 4 * 4
    assert maj.info["majority_minority"]["group_train_rows"] == {
        "majority": major, "minority": minor,
    }  # fmt: skip
    assert maj.info["majority_minority"]["domains"] == sorted(MAJOR)
    mnr = level("minority", eval_examples=2).apply(task, seed=1)
    assert set(mnr.train["domain"]) == MINOR and len(mnr.train) == minor
    # the first 2 scored rows per direction: the same sentences both ways
    fwd = [r["source"] for r in mnr.validation if r["domain"] == "en-gu"]
    back = [r["target"] for r in mnr.validation if r["domain"] == "gu-en"]
    assert len(mnr.validation) == 8 and len(fwd) == 2 and fwd == back
    # a smaller budget: at most 5 pairs per direction (en-my has 4: all kept)
    small = level("minority", majority_examples=5, minority_examples=5).apply(task, seed=1)
    assert small.info["majority_minority"]["group_train_rows"] == {
        "majority": 4 * 5, "minority": 2 * 5 + 2 * 4,
    }  # fmt: skip
    # nested: a seed's 2 pairs per direction lie inside its 5
    two = level("minority", majority_examples=5, minority_examples=2).apply(task, seed=1)
    assert set(two.train["source"]) <= set(small.train["source"])
    # zero-shot: no fine-tuning data at all; evaluated on the group's directions
    zero = level("minority", "zero-shot", data="cc25").apply(task, seed=1)
    assert len(zero.train) == 0 and set(zero.validation["domain"]) == MINOR
    assert zero.info["majority_minority"]["mode"] == "zero-shot"
    # without the pivot no direction belongs to a group: English is in neither
    with pytest.raises(JunkDNAError, match="covers the majority language"):
        MajorityMinority(("ru", "vi"), ("gu", "my"), group="majority").apply(task)


def test_the_pivot_decides_which_directions_a_group_owns():
    lv = level("majority")
    present = ["en-ru", "ru-en", "en-gu", "ru-vi", "ru-gu", "en", "de-en", "ru"]
    assert lv.domains(present, "majority") == ["en-ru", "ru", "ru-en", "ru-vi"]
    assert lv.domains(present, "minority") == ["en-gu"]
    # without a pivot, as before: only domains wholly inside the group
    plain = MajorityMinority(("ru", "vi"), ("gu", "my"), group="majority")
    assert plain.domains(present, "majority") == ["ru", "ru-vi"]
    assert "pivot" not in plain.params() and lv.params()["pivot"] == "en"


def test_measures_hand_computed_from_table2_and_opus100():
    assert PAPER_TABLE2 == {
        "ru": (278.0, 116.0), "vi": (137.3, 42.0), "gu": (1.9, 22.0), "my": (1.6, 2.5),
    }  # fmt: skip
    # zero-shot, CC-25 pre-training GB: (278.0 + 137.3 + 1.9 + 1.6) / group
    zero = {g: level(g, "zero-shot", data="cc25").measure() for g in ("majority", "minority")}
    assert zero["majority"] == pytest.approx(418.8 / 415.3)  # 1.0084
    assert zero["minority"] == pytest.approx(418.8 / 3.5)  # 119.66
    # OPUS-100 fine-tuning MB: (116 + 42 + 22 + 2.5) / group
    opus = {g: level(g, data="opus100").measure() for g in ("majority", "minority")}
    assert opus["majority"] == pytest.approx(182.5 / 158)  # 1.155
    assert opus["minority"] == pytest.approx(182.5 / 24.5)  # 7.449
    # few-shot on all of OPUS-100 (figure 2): the rows the runs record, both directions each:
    # majority 2 x (1M + 1M), minority 2 x (318,306 + 24,594)
    rows = {"majority": 4_000_000, "minority": 685_800}
    full = {g: level(g).measure(RunFacts(4_685_800, rows[g])) for g in rows}
    assert full["majority"] == pytest.approx(4_685_800 / 4_000_000)  # 1.171
    assert full["minority"] == pytest.approx(4_685_800 / 685_800)  # 6.833
    # all rows from the parameters alone: unknown until a run records them
    assert level("majority").measure() is None
    # capped pairs per direction: known from the parameters (the same number of directions)
    capped = level("minority", majority_examples=3000, minority_examples=1000).measure()
    assert capped == pytest.approx(4 / 1)
    for measures in (zero, opus, full):
        assert measures["majority"] < measures["minority"]


def test_the_run_measure_is_the_label_measure(opus):
    from junkdna.difficulty import default_label, measure_run

    task = load_task("opus100_en_centric")
    for group, rows in (("majority", 44), ("minority", 20)):
        lv = level(group)
        run = lv.apply(task, seed=3)
        assert measure_run(run.info) == pytest.approx(64 / rows)
        assert level_from_label(lv.name, default_label(lv.params())) == lv
    zero = level("majority", "zero-shot", data="cc25")
    assert measure_run(zero.apply(task).info) == pytest.approx(418.8 / 415.3)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"group": "majority", "mode": "zero-shot"}, "no fine-tuning data to measure"),
        ({"mode": "zero-shot", "data": "cc25", "minority_examples": 5}, "not fine-tuned"),
        ({"group": "both"}, "group must be"),
        ({"mode": "one-shot"}, "mode must be"),
        ({"data": "cc100"}, "data must be one of train, cc25, opus100"),
        ({"minority": ["gu", "xx"], "data": "cc25"}, "no size for \\['xx'\\]"),
        ({"minority": ["ru"]}, "distinct"),
        ({"minority_examples": 0}, "positive integer"),
        ({"pivot": "ru"}, "cannot be a majority or minority language"),
    ],
)
def test_bad_levels_are_refused(params, needle):
    with pytest.raises(JunkDNAError, match=needle):
        from_params("majority_minority", {**PAPER_LEVEL, **params})


# ----------------------------------------------------------------------------- figure 2


def forbid_model_loading(monkeypatch):
    import transformers

    def forbidden(*a, **k):
        raise AssertionError("planning must not load a model or tokenizer")

    for cls in (transformers.PreTrainedModel, transformers.AutoTokenizer, transformers.AutoConfig):
        monkeypatch.setattr(cls, "from_pretrained", forbidden)
    monkeypatch.setattr("junkdna.models.load_model", forbidden)


def test_figure2_plans_the_papers_design(monkeypatch):
    from junkdna.study import load_study, plan_study
    from junkdna.transfer.regimes import REGIMES

    forbid_model_loading(monkeypatch)
    plan = plan_study(load_study(FIGURE2))
    assert {r.model for r in plan.runs} == {"facebook/mbart-large-cc25"}
    assert {r.task_name for r in plan.runs} == {"opus100_en_centric"}
    by_level: dict[str, set] = {}
    measures = {}
    for run in plan.runs:
        params = run.difficulty["params"]
        assert params["majority"] == ["ru", "vi"] and params["minority"] == ["gu", "my"]
        assert params["pivot"] == "en"
        by_level.setdefault(run.labels.level, set()).add(run.regime)
        lv = from_params("majority_minority", params)
        measures[run.labels.level] = lv.measure()
        finetunes = REGIMES.get(run.regime).finetunes
        assert finetunes == (params["mode"] == "few-shot"), run.labels.level
    assert by_level == {
        "zero-shot majority": {"none"},
        "zero-shot minority": {"none"},
        "few-shot majority": {"dense", "sparse"},
        "few-shot minority": {"dense", "sparse"},
    }
    assert measures["zero-shot majority"] < measures["zero-shot minority"]
    assert measures["zero-shot minority"] == pytest.approx(418.8 / 3.5)
    # few-shot trains on all pairs: the runs record how many (the reduced run below)
    assert measures["few-shot majority"] is measures["few-shot minority"] is None


def save_tiny_mbart(folder: Path) -> Path:
    """A tiny random mBART and a tokenizer of the test words with mBART's language codes, saved
    so that AutoTokenizer reloads them (a Unigram vocabulary: what MBartTokenizer rebuilds)."""
    from test_translation import tiny_mbart
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import MBartTokenizerFast

    vocab = ["<s>", "<pad>", "</s>", "<unk>", *WORDS]
    words = Tokenizer(models.Unigram([(w, 0.0) for w in vocab], unk_id=3))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = MBartTokenizerFast(tokenizer_object=words, src_lang="en_XX", tgt_lang="ru_RU")
    tiny_mbart(len(tok)).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_figure2_reduced_runs_zero_shot_without_and_few_shot_with_finetuning(
    opus, tmp_path, monkeypatch
):
    """The study file as shipped (beam 5, embeddings pruned, all pairs) on a tiny mBART and the
    fake OPUS rows, with fewer tokens and one pruning point."""
    from safetensors.torch import load_file

    from junkdna.analysis.report import build_report
    from junkdna.heads import generation
    from junkdna.study import parse_study, plan_study
    from junkdna.study.driver import open_store, run_study
    from junkdna.study.export import results_table

    model = str(save_tiny_mbart(tmp_path / "tiny-mbart"))
    beams = []
    real = generation.generate_kwargs

    def spy(tokenizer, recipe):  # what every generate() call of the runs was given
        beams.append(recipe.num_beams)
        return real(tokenizer, recipe)

    monkeypatch.setattr("junkdna.heads.seq2seq.generate_kwargs", spy)
    data = tomllib.loads(FIGURE2.read_text())
    data["study"]["output"] = str(tmp_path / "out")
    data["recipe"] |= {"batch_size": 4, "eval_batch_size": 8, "max_length": 16,
                       "target_max_length": 16, "max_new_tokens": 4, "precision": "fp32",
                       "device": "cpu"}  # fmt: skip
    data["resources"] = {"num_cpus": 1, "num_gpus": 0}
    for exp in data["experiment"]:
        exp["models"] = [model]
        exp["pruning"] = [exp["pruning"][0] | {"sparsities": [0.5]}]  # one point, no N:M
        for lv in exp["difficulty"]:
            lv["eval_examples"] = 3
    study = parse_study(data, tmp_path / "figure2.toml")
    plan = plan_study(study)
    assert len(plan.runs) == 8
    rep = run_study(plan, progress=False)
    assert (rep.done, rep.failed) == (8, 0), rep
    assert beams and set(beams) == {5}
    df = results_table(plan, open_store(study))
    assert set(df["metric"]) == {"bleu"}
    for row in df.itertuples():
        metrics = json.loads(row.metrics)
        dirs = MAJOR if "majority" in row.level else MINOR
        assert {f"bleu/{d}" for d in dirs} | {f"chrf/{d}" for d in dirs} <= set(metrics)
        assert not any(k.endswith(tuple((MAJOR | MINOR) - dirs)) for k in metrics)
    # the mask prunes the embeddings with the projections, one threshold for all
    (path,) = (tmp_path / "out" / "masks").glob("*/masks.safetensors")  # one point, one mask
    masks = load_file(str(path))
    embeds = {"encoder.embed_tokens.weight", "encoder.embed_positions.weight",
              "decoder.embed_positions.weight"}  # fmt: skip
    assert embeds <= set(masks) and "decoder.embed_tokens.weight" not in masks  # tied: once
    kept = sum(int(m.sum()) for m in masks.values())
    assert kept == pytest.approx(0.5 * sum(m.numel() for m in masks.values()), abs=1)
    store = open_store(study)
    for rec in store.rows():
        regime = rec["config"]["regime"]
        info = rec["invariants"]
        mode = info["task_info"]["majority_minority"]["mode"]
        assert (regime == "none") == (mode == "zero-shot")
        if mode == "zero-shot":  # no fine-tuning data, no training steps
            assert info["n_train"] == 0 and "steps" not in rec["timings"]
        else:
            assert info["n_train"] > 0 and rec["timings"]["steps"] > 0
    zero = df[df["regime"] == "none"]
    few = df[df["regime"] != "none"]
    assert set(zero["level"]) == {"zero-shot majority", "zero-shot minority"}
    assert set(few["regime"]) == {"dense", "sparse"}
    # the measure reaches the results table: majority < minority in both regimes
    for part in (zero, few):
        value = part.groupby("level")["difficulty_value"].first()
        easy, hard = sorted(value.index)  # "... majority" < "... minority"
        assert value[easy] < value[hard]
    assert zero["difficulty_value"].max() == pytest.approx(418.8 / 3.5)
    assert few["difficulty_value"].max() == pytest.approx(64 / 20)  # all pairs: 44 + 20 rows
    assert few["difficulty_value"].min() == pytest.approx(64 / 44)
    # every run kept its sentences (chrF per sentence: the unit of the zero-shot test)
    items = store.items()
    assert set(items) == set(df["run_id"])
    assert all(items[r].metric == "chrf_sentence" for r in df["run_id"])
    assert {len(items[r]) for r in df["run_id"]} == {12}  # 3 sentences x 4 directions
    # A random tiny mBART scores BLEU 0, so nothing normalizes: the report builds, and the
    # two-level tests themselves are checked on the offline analogue below.
    build_report(df, tmp_path / "report", {"study": "reduced figure 2"}, items=items)
    md = (tmp_path / "report" / "report.md").read_text()
    assert "zero-shot minority" in md and "few-shot majority" in md


# ----------------------------------------------------------------------------- offline analogue


def test_offline_analogue_plans(monkeypatch, capsys):
    from junkdna.cli import main

    forbid_model_loading(monkeypatch)
    code = main(["plan", str(OFFLINE)])
    assert code in (0, None)
    assert "setting2_offline" in capsys.readouterr().out
    from junkdna.study import load_study, plan_study

    plan = plan_study(load_study(OFFLINE))
    assert {r.task_name for r in plan.runs} == {"udhr_lm"}
    assert {r.regime for r in plan.runs} == {"none"}  # evaluation only
    groups = {tuple(r.difficulty["params"]["languages"]) for r in plan.runs}
    assert groups == {("rus", "vie"), ("guj", "mya")}  # the paper's Figure 2 languages
    assert len(plan.runs) == 8  # 2 groups x (dense + 3 sparsities)


def test_offline_analogue_reduced_end_to_end(tmp_path, monkeypatch):
    """The shipped offline study on a tiny LLaMA and the real udhr source, 3 articles: every run
    finishes and the report has the language_probe two-level test over items (articles)."""
    from conftest import tiny_llama
    from test_generative import word_tokenizer

    from junkdna.analysis.report import build_report
    from junkdna.data import sources
    from junkdna.study import parse_study, plan_study
    from junkdna.study.driver import open_store, run_study
    from junkdna.study.export import results_table

    udhr = sources.ensure("udhr")
    monkeypatch.setenv(sources.get_source("udhr").env, str(udhr))
    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    llama = tmp_path / "tiny-llama"
    tiny_llama().save_pretrained(llama)
    word_tokenizer().save_pretrained(llama)
    data = tomllib.loads(OFFLINE.read_text())
    real = plan_study(parse_study(tomllib.loads(OFFLINE.read_text()), OFFLINE))
    data["study"]["output"] = str(tmp_path / "out")
    data["recipe"] |= {"max_length": 64}
    for exp in data["experiment"]:
        exp["models"] = [str(llama)]
        for lv in exp["difficulty"]:
            lv["items"] = [1, 3, 4]
    study = parse_study(data, tmp_path / "setting2_offline.toml")
    plan = plan_study(study)
    assert len(plan.runs) == len(real.runs)  # the same grid, a tiny budget
    rep = run_study(plan, progress=False)
    assert (rep.done, rep.failed) == (len(plan.runs), 0), rep
    df = results_table(plan, open_store(study))
    build_report(df, tmp_path / "report", {"study": "reduced setting 2"},
                 items=open_store(study).items(), primary=study.spec.study.primary)  # fmt: skip
    tests = pd.read_csv(tmp_path / "report" / "tables" / "hypothesis.csv")
    row = tests[tests["difficulty"] == "language_probe"]
    assert len(row) == 1, tests
    row = row.iloc[0]
    assert row["unit"] == "item" and row["n_units"] == 3
    assert math.isfinite(row["p_value"])


def test_a_zero_shot_level_under_a_fine_tuning_regime_is_refused(tmp_path):
    """It would train 0 steps and pass silently: the study check says why instead."""
    import tomllib

    from junkdna.errors import JunkDNAError
    from junkdna.study import parse_study, plan_study

    path = Path(__file__).resolve().parents[1] / "studies" / "figure2_majority_minority.toml"
    data = tomllib.loads(path.read_text())
    zero = next(e for e in data["experiment"] if e["name"] == "zero-shot")
    zero["regimes"] = ["dense", "sparse"]
    with pytest.raises(JunkDNAError, match="zero-shot level has no training data"):
        plan_study(parse_study(data, tmp_path / "f2.toml"))
