"""Setting 2 as the paper ran it, and its offline analogue.

* The pivot task (opus100_pivot): Ru<->Vi and Gu<->My joined on the English side of OPUS-100's
  en-xx corpora, checked on a small local fake of the OPUS rows (the hub is never reached).
* MajorityMinority levels: one language group each; zero-shot = no fine-tuning data, few-shot =
  the group's own pairs; the measure (the inverse of the group's share of the two groups' data)
  orders majority < minority, hand-computed from the paper's Table 2.
* studies/figure2_majority_minority.toml plans the paper's design (zero-shot under regime
  "none", few-shot fine-tuned) and, reduced to a tiny mBART on the fake OPUS rows, runs end to
  end: the zero-shot runs fine-tune nothing, the few-shot runs do.
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


# ----------------------------------------------------------------------------- fake OPUS-100


def english(i: int) -> str:
    """A distinct English sentence of tokenizer words (the tiny mBART's vocabulary)."""
    return " ".join(WORDS[(i // len(WORDS) ** k) % len(WORDS)] for k in range(3)) + f" {i}"


def corpus(xx: str, ids: list[int], extra: list[dict] = ()) -> DatasetDict:
    """An en-xx corpus: sentence i translated as "<xx> <english i>", spread over the three
    splits (the pivot pools them), plus ``extra`` raw rows at the end of train."""
    rows = [{"translation": {"en": english(i), xx: f"{xx} {english(i)}"}} for i in ids]
    train = rows[: len(rows) // 2] + list(extra)
    half = rows[len(rows) // 2 :]
    return DatasetDict(
        {
            "train": Dataset.from_list(train),
            "validation": Dataset.from_list(half[: len(half) // 2]),
            "test": Dataset.from_list(half[len(half) // 2 :]),
        }
    )


def fake_opus(n_major: int = 40, n_minor: int = 30) -> dict[str, DatasetDict]:
    """en-ru and en-vi share sentences 0..n_major-1 (in different splits of the two corpora),
    en-gu and en-my share 100..100+n_minor-1; each corpus also has sentences of its own."""
    major, minor = list(range(n_major)), list(range(100, 100 + n_minor))
    return {
        "en-ru": corpus(
            "ru",
            major + [500, 501],
            [
                {"translation": {"en": "  " + english(0).replace(" ", "  "), "ru": "dup"}},
                {"translation": {"en": english(502), "ru": ""}},  # empty side: skipped
            ],
        ),
        "en-vi": corpus("vi", major[::-1] + [600]),  # another order, other splits
        "en-gu": corpus("gu", minor + [700]),
        "en-my": corpus("my", minor[::-1]),
    }


@pytest.fixture
def opus(tmp_path, monkeypatch):
    """The fake corpora behind translation._load_corpus; returns the configs it was asked."""
    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    data, asked = fake_opus(), []

    def load(source):
        assert source.path == "Helsinki-NLP/opus-100"
        asked.append(source.config)
        return data[source.config]

    monkeypatch.setattr(translation, "_load_corpus", load)
    return asked


def sentence_of(text: str) -> str:
    return text.split(" ", 1)[1]  # "<xx> <english>" -> english


# ----------------------------------------------------------------------------- the pivot task


def test_pivot_table_keeps_the_first_translation_and_skips_empty_sides():
    rows = [
        {"translation": {"en": "a  b", "ru": "x"}},
        {"translation": {"en": " a b ", "ru": "y"}},  # the same English after whitespace
        {"translation": {"en": "c", "ru": " "}},
        {"translation": {"en": "", "ru": "z"}},
    ]
    table, n = translation.pivot_table(rows, "ru")
    assert table == {"a b": "x"} and n == 4


def test_pivot_splits_both_directions_and_no_sentence_in_two_splits():
    table_a = {english(i): f"ru {english(i)}" for i in range(30)}
    table_b = {english(i): f"vi {english(i)}" for i in range(10, 45)}  # 20 shared
    rows, meta = translation.pivot_splits("ru", "vi", table_a, table_b)
    assert meta["sizes"] == {"pivot_sentences": 20, "validation": 2, "test": 2, "train": 16}
    seen = {}
    for split, split_rows in rows.items():
        assert len(split_rows) == 2 * meta["sizes"][split]
        for fwd, back in zip(split_rows[::2], split_rows[1::2], strict=True):
            assert (fwd["domain"], back["domain"]) == ("ru-vi", "vi-ru")
            assert (fwd["src_lang"], fwd["tgt_lang"]) == ("ru_RU", "vi_VN")
            assert (back["src_lang"], back["tgt_lang"]) == ("vi_VN", "ru_RU")
            assert fwd["source"] == back["target"] and fwd["target"] == back["source"]
            assert fwd["source"].startswith("ru ") and fwd["target"].startswith("vi ")
            en = sentence_of(fwd["source"])
            assert sentence_of(fwd["target"]) == en and en not in seen
            seen[en] = split
    assert set(seen) == {english(i) for i in range(10, 30)}
    # the split depends on the sentences only, not on the order of the corpora's rows
    again, _ = translation.pivot_splits(
        "ru", "vi", dict(reversed(table_a.items())), dict(reversed(table_b.items()))
    )
    assert again == rows
    with pytest.raises(JunkDNAError, match="only 3 English sentence"):
        translation.pivot_splits("ru", "vi", table_a, {english(i): "v" for i in range(3)})


def test_pivot_task_from_fake_opus_rows(opus):
    task = load_task("opus100_pivot")
    assert sorted(opus) == ["en-gu", "en-my", "en-ru", "en-vi"]
    splits = {s: getattr(task, s) for s in ("train", "validation", "test")}
    domains = {d for ds in splits.values() for d in ds["domain"]}
    assert domains == {"ru-vi", "vi-ru", "gu-my", "my-gu"}  # both directions of both pairs
    assert task.lang_fields == ("src_lang", "tgt_lang") and task.metric == "sacrebleu"
    pair_of = {"ru-vi": "ru-vi", "vi-ru": "ru-vi", "gu-my": "gu-my", "my-gu": "gu-my"}
    where: dict[tuple[str, str], str] = {}
    for split, ds in splits.items():
        for row in ds:
            en = sentence_of(row["source"])
            assert sentence_of(row["target"]) == en
            key = (pair_of[row["domain"]], en)
            assert where.setdefault(key, split) == split  # one split per sentence and pair
    majors = {en for pair, en in where if pair == "ru-vi"}
    # pooled over the corpora's splits; whitespace variants joined, the first translation kept
    assert majors == {english(i) for i in range(40)}
    assert {en for pair, en in where if pair == "gu-my"} == {english(i) for i in range(100, 130)}
    info = task.info
    assert info["pairs"]["ru-vi"]["sizes"] == {
        "pivot_sentences": 40, "validation": 4, "test": 4, "train": 32,
    }  # fmt: skip
    assert info["pairs"]["gu-my"]["sizes"]["pivot_sentences"] == 30
    assert info["corpora"]["ru"]["rows"] == 44 and "Arivazhagan" in info["construction"]
    # built once: the second load reads the cache, not the hub
    opus.clear()
    again = load_task("opus100_pivot")
    assert opus == [] and again.train["source"] == task.train["source"]


def test_pivot_spec_names_hub_corpora_that_exist():
    spec = get_spec("opus100_pivot")
    assert not spec.offline and spec.domain_field == "domain"
    configs = {x: spec.source.corpus(x) for x, _ in spec.source.parts}
    assert {x: (s.path, s.config) for x, s in configs.items()} == {
        x: ("Helsinki-NLP/opus-100", f"en-{x}") for x in ("ru", "vi", "gu", "my")
    }
    assert spec.source.pairs == (("ru", "vi"), ("gu", "my"))


# ----------------------------------------------------------------------------- levels


def level(group: str, mode: str = "few-shot", **kw) -> MajorityMinority:
    return MajorityMinority(
        ("ru", "vi"), ("gu", "my"), group=group, mode=mode, **kw
    )  # fmt: skip


def test_levels_on_the_pivot_task(opus):
    task = load_task("opus100_pivot")
    few = level("majority", majority_examples=10, minority_examples=4, eval_examples=3)
    maj = few.apply(task, seed=1)
    assert sorted(set(maj.train["domain"])) == ["ru-vi", "vi-ru"]
    assert len(maj.train) == 20 and set(maj.validation["domain"]) == {"ru-vi", "vi-ru"}
    # the first 3 validation rows per direction: the same sentences in both directions
    fwd = [r["source"] for r in maj.validation if r["domain"] == "ru-vi"]
    back = [r["target"] for r in maj.validation if r["domain"] == "vi-ru"]
    assert len(fwd) == 3 and fwd == back
    entry = maj.info["majority_minority"]
    assert entry["group_train_rows"] == {"majority": 20, "minority": 8}
    minor = level("minority", majority_examples=10, minority_examples=4).apply(task, seed=1)
    assert sorted(set(minor.train["domain"])) == ["gu-my", "my-gu"] and len(minor.train) == 8
    assert set(minor.validation["domain"]) == {"gu-my", "my-gu"}
    # zero-shot: no fine-tuning data at all; evaluated on the group's pairs
    zero = level("minority", "zero-shot", data="cc25").apply(task, seed=1)
    assert len(zero.train) == 0 and set(zero.validation["domain"]) == {"gu-my", "my-gu"}
    assert zero.info["majority_minority"]["mode"] == "zero-shot"
    # nested: a seed's 2 rows per domain lie inside its 4
    two = level("minority", majority_examples=10, minority_examples=2).apply(task, seed=1)
    assert set(two.train["source"]) <= set(minor.train["source"])
    # a count above what a domain has keeps all of it (and the measure says what was kept)
    many = level("minority", majority_examples=10, minority_examples=10_000).apply(task, seed=1)
    assert many.info["majority_minority"]["group_train_rows"] == {"majority": 20, "minority": 48}


def test_measures_hand_computed_from_table2():
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
    # few-shot rows (figure 2: 6,449 and 1,000 pairs per direction, two directions each)
    rows = {
        g: level(g, majority_examples=6449, minority_examples=1000).measure()
        for g in ("majority", "minority")
    }
    assert rows["majority"] == pytest.approx(14898 / 12898)
    assert rows["minority"] == pytest.approx(14898 / 2000)
    assert rows["minority"] == pytest.approx(opus["minority"], rel=1e-3)  # Table 2's ratio
    for measures in (zero, opus, rows):
        assert measures["majority"] < measures["minority"]
    # what the runs sampled wins over the parameters; all rows (None) need the run's facts
    facts = RunFacts(train_full=30, train_kept=10)
    assert level("minority").measure(facts) == 3.0
    assert level("majority").measure() is None


def test_the_run_measure_is_the_label_measure(opus):
    from junkdna.difficulty import default_label, measure_run

    task = load_task("opus100_pivot")
    for group in ("majority", "minority"):
        lv = level(group, majority_examples=10, minority_examples=4)
        run = lv.apply(task, seed=3)
        assert measure_run(run.info) == pytest.approx(28 / (20 if group == "majority" else 8))
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
    assert {r.task_name for r in plan.runs} == {"opus100_pivot"}
    by_level: dict[str, set] = {}
    measures = {}
    for run in plan.runs:
        params = run.difficulty["params"]
        assert params["majority"] == ["ru", "vi"] and params["minority"] == ["gu", "my"]
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
    assert measures["few-shot majority"] < measures["few-shot minority"]
    assert measures["zero-shot minority"] == pytest.approx(418.8 / 3.5)


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


def test_figure2_reduced_runs_zero_shot_without_and_few_shot_with_finetuning(opus, tmp_path):
    from junkdna.analysis.report import build_report
    from junkdna.study import parse_study, plan_study
    from junkdna.study.driver import open_store, run_study
    from junkdna.study.export import results_table

    model = str(save_tiny_mbart(tmp_path / "tiny-mbart"))
    load_task("opus100_pivot")  # the pivot data in the cache, built here from the fake rows
    data = tomllib.loads(FIGURE2.read_text())
    data["study"]["output"] = str(tmp_path / "out")
    data["recipe"] |= {"epochs": 1, "batch_size": 4, "eval_batch_size": 8, "max_length": 16,
                       "target_max_length": 16, "max_new_tokens": 4, "precision": "fp32",
                       "device": "cpu"}  # fmt: skip
    data["resources"] = {"num_cpus": 1, "num_gpus": 0}
    for exp in data["experiment"]:
        exp["models"] = [model]
        exp["pruning"] = [exp["pruning"][0] | {"sparsities": [0.5]}]  # one point, no N:M
        for lv in exp["difficulty"]:
            lv["eval_examples"] = 3
            if lv["mode"] == "few-shot":
                lv |= {"majority_examples": 6, "minority_examples": 2}
    study = parse_study(data, tmp_path / "figure2.toml")
    plan = plan_study(study)
    assert len(plan.runs) == 8
    rep = run_study(plan, progress=False)
    assert (rep.done, rep.failed) == (8, 0), rep
    df = results_table(plan, open_store(study))
    assert set(df["metric"]) == {"bleu"}
    for row in df.itertuples():
        metrics = json.loads(row.metrics)
        dirs = ("ru-vi", "vi-ru") if "majority" in row.level else ("gu-my", "my-gu")
        assert {f"bleu/{d}" for d in dirs} | {f"chrf/{d}" for d in dirs} <= set(metrics)
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
    assert few["difficulty_value"].max() == pytest.approx(16 / 4)  # 2 x 6 + 2 x 2 rows
    # every run kept its sentences (chrF per sentence: the unit of the zero-shot test)
    items = store.items()
    assert set(items) == set(df["run_id"])
    assert all(items[r].metric == "chrf_sentence" for r in df["run_id"])
    assert {len(items[r]) for r in df["run_id"]} == {6}  # 3 sentences x 2 directions
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
    out = capsys.readouterr().out
    assert "setting2_offline" in out
    from junkdna.study import load_study, plan_study

    plan = plan_study(load_study(OFFLINE))
    assert {r.task_name for r in plan.runs} == {"multiemo_mix"}
    levels = {}
    for run in plan.runs:
        lv = from_params("majority_minority", run.difficulty["params"])
        levels[lv.group] = lv.measure()
    assert set(levels) == {"majority", "minority"} and levels["majority"] < levels["minority"]
    assert all(math.isfinite(v) for v in levels.values())


def test_offline_analogue_reduced_end_to_end(tmp_path, monkeypatch):
    """The shipped offline study on a tiny BERT and a fake archive: every run finishes and the
    report has the majority/minority two-level test with a finite p."""
    from study_fixtures import make_tiny_bert
    from test_bigbench import default_members, make_archive, multiemo_examples

    from junkdna.analysis.report import build_report
    from junkdna.data import bigbench
    from junkdna.study import parse_study, plan_study
    from junkdna.study.driver import open_store, run_study
    from junkdna.study.export import results_table

    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    members = dict(default_members())
    for lang in translation.MULTIEMO_MIX:
        members[f"multiemo/all_sentence_{lang}/task.json"] = {"examples": multiemo_examples(120)}
    fake = make_archive(tmp_path, members)
    wanted = [m for m in members if m.startswith("multiemo/")]
    bigbench.extract(
        wanted,
        bigbench.Archive(fake.path, None, fetch=False, raw_dir=bigbench.default_archive().raw),
    )
    bert = str(make_tiny_bert(tmp_path / "tiny-bert"))
    data = tomllib.loads(OFFLINE.read_text())
    real = plan_study(parse_study(tomllib.loads(OFFLINE.read_text()), OFFLINE))
    data["study"]["output"] = str(tmp_path / "out")
    data["recipe"] |= {"epochs": 1, "batch_size": 4, "eval_batch_size": 16}
    for exp in data["experiment"]:
        exp["models"] = [bert]
        exp.get("recipe", {}).pop("epochs", None)
        for lv in exp["difficulty"]:
            lv |= {"majority_examples": 16, "minority_examples": 4, "eval_examples": 8}
    study = parse_study(data, tmp_path / "setting2_offline.toml")
    plan = plan_study(study)
    assert len(plan.runs) == len(real.runs)  # the same grid, a tiny budget
    rep = run_study(plan, progress=False)
    assert (rep.done, rep.failed) == (len(plan.runs), 0), rep
    df = results_table(plan, open_store(study))
    assert df["difficulty_value"].notna().all()
    paths = build_report(df, tmp_path / "report", {"study": "reduced setting 2"},
                         items=open_store(study).items())  # fmt: skip
    tests = pd.read_csv(tmp_path / "report" / "tables" / "hypothesis.csv")
    row = tests[tests["difficulty"] == "majority_minority"]
    assert len(row) == 1, tests
    row = row.iloc[0]
    assert row["test"].startswith("two-level") and row["unit"] == "seed"
    # one unit per seed (a seed whose tiny dense model scores 0 has no normalized score)
    assert math.isfinite(row["p_value"]) and 2 <= row["n_units"] <= len(data["study"]["seeds"])
    assert row["easier"] == "majority (en)" and row["harder"] == "minority (ja)"
    assert "not testable" not in str(row["verdict"]).lower()
    assert "majority_minority" in (tmp_path / "report" / "report.md").read_text()
    assert Path(paths["verdict"]).is_file()


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
