"""BIG-bench archive handling on a small local archive with the real member layout (no network)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from junkdna.data import bigbench
from junkdna.errors import JunkDNAError

LABELS = ("ambivalent", "positive", "negative", "neutral")


def multiemo_examples(n: int = 60) -> list[dict]:
    """Parallel-style sentiment examples: class = i % 4 except every 5th is 'negative'."""
    out = []
    for i in range(n):
        label = "negative" if i % 5 == 0 else LABELS[i % 4]
        out.append(
            {
                "input": f"sentence {i} is {label}",
                "target_scores": {k: int(k == label) for k in LABELS},
            }
        )
    out.append({"input": "", "target_scores": {k: int(k == "neutral") for k in LABELS}})  # dropped
    return out


SQUAD = {
    "data": [
        {
            "title": "A",
            "paragraphs": [
                {"context": "First  paragraph.", "qas": []},
                {"context": "Second.", "qas": []},
            ],
        },
        {
            "title": "B",
            "paragraphs": [{"context": "First paragraph.", "qas": []}, {"context": " ", "qas": []}],
        },
    ]
}


def default_members() -> dict[str, object]:
    twins = [
        {
            "input": f"Context Word: w{i}.",
            "target": [
                f"Sentence 1: The cup beat the bowl {i} since the _ was big. \nAnswer1: cup. \n"
                f"Sentence 2: The cup beat the bowl {i} since the _ was small. \nAnswer2: bowl."
            ],
        }
        for i in range(30)
    ]
    vitc = [
        {
            "input": f"Title {i}: passage {i}.\nClaim: claim {i}.",
            "target_scores": {
                "True": int(i % 3 == 0),
                "False": int(i % 3 == 1),
                "Neither": int(i % 3 == 2),
            },
        }
        for i in range(30)
    ]
    return {
        "multiemo/all_sentence_en/task.json": {"examples": multiemo_examples()},
        "multiemo/all_sentence_pl/task.json": {"examples": multiemo_examples()},
        "vitaminc_fact_verification/task.json": {"examples": vitc},
        "natural_instructions/subtask029_winogrande_full_object/task.json": {"examples": twins},
        bigbench.SQUAD_DEV: SQUAD,
        "other_task/task.json": {"examples": []},
    }


def make_archive(
    tmp_path: Path, members: dict[str, object] | None = None, fetch=False
) -> bigbench.Archive:
    """A tar.gz with the sdist's member paths; returns an Archive pinned to its own sha256."""
    path = tmp_path / "archive" / bigbench.FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for member, content in (members or default_members()).items():
            data = json.dumps(content).encode()
            info = tarfile.TarInfo(bigbench.TASKS_PREFIX + member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return bigbench.Archive(path, bigbench.sha256_of(path), fetch=fetch, raw_dir=tmp_path / "raw")


def test_extract_only_needed_members(tmp_path):
    archive = make_archive(tmp_path)
    got = bigbench.extract(["multiemo/all_sentence_en/task.json"], archive)
    files = [p for p in (tmp_path / "raw").rglob("*") if p.is_file()]
    assert files == [got["multiemo/all_sentence_en/task.json"]]
    assert len(json.loads(files[0].read_text())["examples"]) == 61


def test_missing_member_is_a_clear_error(tmp_path):
    with pytest.raises(JunkDNAError, match="no member.*nope/task.json"):
        bigbench.extract(["nope/task.json"], make_archive(tmp_path))


def test_squad_paragraphs_dedup_and_order(tmp_path):
    texts = bigbench.squad_paragraphs(bigbench.SQUAD_DEV, make_archive(tmp_path))
    assert texts == [
        "First paragraph.",
        "Second.",
    ]  # whitespace normalised, duplicate and blank dropped


def test_corrupt_archive_detected_without_fetch(tmp_path):
    archive = make_archive(tmp_path)
    data = archive.path.read_bytes()
    archive.path.write_bytes(data[: len(data) // 2])  # truncated download
    with pytest.raises(JunkDNAError, match="does not match the pinned sha256"):
        bigbench.extract(["multiemo/all_sentence_en/task.json"], archive)


def test_corrupt_archive_is_refetched(tmp_path, monkeypatch):
    archive = make_archive(tmp_path, fetch=True)
    good = archive.path.read_bytes()
    archive.path.write_bytes(b"garbage")
    calls = []

    def fake_download(dest):  # stands in for `pip download`
        calls.append(dest)
        dest.write_bytes(good)

    monkeypatch.setattr(bigbench, "_download", fake_download)
    got = bigbench.extract(["multiemo/all_sentence_en/task.json"], archive)
    assert calls == [archive.path]
    assert got["multiemo/all_sentence_en/task.json"].is_file()


def test_unverified_broken_archive_is_a_clear_error(tmp_path):
    archive = make_archive(tmp_path)
    data = archive.path.read_bytes()
    archive.path.write_bytes(data[: len(data) // 2])
    unpinned = bigbench.Archive(archive.path, sha256=None, fetch=False, raw_dir=tmp_path / "raw")
    with pytest.raises(JunkDNAError, match="unreadable|no member"):
        bigbench.extract(["other_task/task.json", "vitaminc_fact_verification/task.json"], unpinned)


def test_download_uses_pip(tmp_path, monkeypatch):
    seen = {}

    def fake_run(cmd, **kw):
        seen["cmd"] = cmd
        out = Path(cmd[cmd.index("-d") + 1]) / bigbench.FILENAME
        out.write_bytes(b"x")
        return type("R", (), {"returncode": 0, "stderr": ""})()

    monkeypatch.setattr(bigbench.subprocess, "run", fake_run)
    dest = tmp_path / bigbench.FILENAME
    bigbench._download(dest)
    assert seen["cmd"][1:5] == ["-m", "pip", "download", "--no-deps"]
    assert seen["cmd"][-1] == "bigbench==1.0.0"
    assert dest.read_bytes() == b"x"
    assert [p.name for p in tmp_path.iterdir()] == [bigbench.FILENAME]  # temp folder cleaned up
