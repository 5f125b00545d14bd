"""Random SIGKILL trials of `junkdna run --workers 2`: nothing lost, nothing duplicated.

A tiny study (a random 2-layer BERT, a toy JSONL task, dense and sparse runs over a few
sparsities and seeds) is first run uninterrupted, for its scores and its time T. Each trial then
runs the same study in a fresh folder and, 1 to --max-kills times, starts the driver in its own
process group and SIGKILLs the whole group (driver and pool workers) at a random moment in
[0.05 T, T]; then it resumes uninterrupted. With --concurrent a second driver runs beside each
killed one (it is never killed): two drivers on one study at once.

Reported, over all trials:

* kills: SIGKILLs that hit a live driver (a launch that finished first is no kill), and the
  runs in flight at that moment (started, not recorded: they must be redone, once);
* runs lost: runs of the plan without a finished row at the end;
* runs duplicated: rows beyond one per run, plus runs started again although they were recorded
  when the launch began, plus (--concurrent) runs started by both drivers while both were alive;
* score mismatches: finished runs whose metrics differ from the uninterrupted run's;
* database integrity (SQLite's integrity_check after each kill) and staging folders that killed
  workers left behind (harmless: hidden, never read).

Usage: python benchmarks/kill_trials.py [--trials 10] [--max-kills 2] [--concurrent] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from study_fixtures import tiny_study_text  # noqa: E402


def make_study(folder: Path, model: Path, task: Path, seeds, sparsities) -> Path:
    folder.mkdir(parents=True)
    (folder / "tiny-bert").symlink_to(model)
    (folder / "toy.jsonl").symlink_to(task)
    path = folder / "study.toml"
    path.write_text(tiny_study_text(sparsities=sparsities, seeds=seeds))
    return path


def driver(study: Path, log: Path) -> subprocess.Popen:
    """`junkdna run STUDY --workers 2` in a new session: its own process group."""
    env = {**os.environ, "JUNKDNA_TEST_LOG": str(log), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "junkdna.cli", "run", str(study), "--workers", "2", "--quiet"]
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )


def group_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[2])  # field 5: the process group


def members(pgid: int) -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and group_of(int(entry)) == pgid:
            out.add(int(entry))
    return out


class LogTail:
    """Reads the hooks' log (``POINT RUN_ID PID``) as it grows; stamps each line with the time
    it was seen and the process group its pid belonged to."""

    def __init__(self, path: Path):
        self.path, self.offset, self.lines = path, 0, []
        self.groups: dict[int, int | None] = {}

    def poll(self) -> None:
        if not self.path.exists():
            return
        with open(self.path) as f:
            f.seek(self.offset)
            text = f.read()
        end = text.rfind("\n") + 1
        self.offset += len(text[:end].encode())
        now = time.time()
        for line in text[:end].splitlines():
            point, run_id, pid = line.split()
            pid = int(pid)
            if pid not in self.groups:
                self.groups[pid] = group_of(pid)
            self.lines.append((now, point, run_id, pid, self.groups[pid]))

    def note_groups(self, pgids: list[int]) -> None:
        for pgid in pgids:
            for pid in members(pgid):
                self.groups.setdefault(pid, pgid)


def done_runs(db: Path) -> dict[str, dict]:
    if not db.exists():
        return {}
    con = sqlite3.connect(db, timeout=60)
    try:
        rows = con.execute("SELECT run_id, status, metrics FROM runs").fetchall()
    finally:
        con.close()
    return {r: {"status": s, "metrics": json.loads(m) if m else None} for r, s, m in rows}


def row_count(db: Path) -> tuple[int, int]:
    con = sqlite3.connect(db, timeout=60)
    try:
        n, unique = con.execute("SELECT COUNT(*), COUNT(DISTINCT run_id) FROM runs").fetchone()
    finally:
        con.close()
    return n, unique


def integrity(db: Path) -> str:
    if not db.exists():
        return "ok"
    con = sqlite3.connect(db, timeout=60)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


@dataclass
class Trial:
    kills: int = 0
    interrupted: int = 0  # runs in flight when their driver was killed (redone later)
    finished_before_kill: int = 0
    by_second: int = 0  # --concurrent: runs the second driver started (both drivers worked)
    lost: int = 0
    duplicated: int = 0
    mismatched: int = 0
    integrity_ok: bool = True
    stale_staging: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def wait_all(procs: list[subprocess.Popen], tail: LogTail, until: float | None) -> None:
    """Poll the log (and the drivers' groups) until every driver exited or ``until`` passed."""
    while any(p.poll() is None for p in procs) and (until is None or time.time() < until):
        tail.note_groups([p.pid for p in procs if p.poll() is None])
        tail.poll()
        time.sleep(0.05)
    tail.poll()


def run_trial(study: Path, ref: dict, t_ref: float, rng: random.Random, args) -> Trial:
    db = study.parent / "out" / "study.db"
    log = study.parent / "log"
    tail = LogTail(log)
    trial = Trial()
    t0 = time.time()
    planned_kills = rng.randint(1, args.max_kills)
    for _ in range(planned_kills):
        before = set(done_runs(db))
        start = len(tail.lines)
        victim = driver(study, log)
        other = driver(study, log) if args.concurrent else None
        procs = [victim] + ([other] if other else [])
        when = time.time() + rng.uniform(0.05, 1.0) * t_ref
        wait_all([victim], tail, when)
        if victim.poll() is not None:  # finished (or failed) before its kill
            trial.finished_before_kill += 1
            if victim.returncode != 0:
                out = victim.stdout.read().decode().strip()
                trial.notes.append(f"driver exited {victim.returncode}: {out}")
        else:
            tail.note_groups([p.pid for p in procs if p.poll() is None])
            tail.poll()
            t_kill = time.time()
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            trial.kills += 1
            recorded = set(done_runs(db))
            started = {
                r for _, point, r, _, g in tail.lines[start:] if point == "run" and g == victim.pid
            }
            trial.interrupted += len(started - recorded)
        if other is not None:
            wait_all([other], tail, None)
            trial.by_second += len(
                {r for _, pt, r, _, g in tail.lines[start:] if pt == "run" and g == other.pid}
            )
            if other.returncode != 0:
                out = other.stdout.read().decode().strip()
                trial.notes.append(f"2nd driver exited {other.returncode}: {out}")
        for p in procs:  # the killed group's workers die with it; wait until they are gone
            deadline = time.time() + 30
            while members(p.pid) and time.time() < deadline:
                time.sleep(0.05)
        if integrity(db) != "ok":
            trial.integrity_ok = False
        launch = tail.lines[start:]
        again = {r for _, point, r, _, _ in launch if point == "run" and r in before}
        trial.duplicated += len(again)
        if other is not None and victim.returncode == -signal.SIGKILL:
            started = {}
            for seen, point, r, _, group in launch:
                if point == "run" and seen <= t_kill:
                    started.setdefault(r, set()).add(group)
            both = {r for r, groups in started.items() if {victim.pid, other.pid} <= groups}
            trial.duplicated += len(both)
        if len(done_runs(db)) == len(ref):
            break
    # The resume, uninterrupted.
    before = set(done_runs(db))
    start = len(tail.lines)
    last = driver(study, log)
    wait_all([last], tail, None)
    out = last.stdout.read().decode()
    if last.returncode != 0:
        trial.notes.append(f"resume exited {last.returncode}: {out.strip()}")
    trial.duplicated += len(
        {r for _, point, r, _, _ in tail.lines[start:] if point == "run" and r in before}
    )
    rows = done_runs(db)
    n, unique = row_count(db)
    trial.duplicated += n - unique
    trial.lost = sum(rows.get(r, {}).get("status") != "done" for r in ref)
    trial.mismatched = sum(r in rows and rows[r]["metrics"] != ref[r]["metrics"] for r in ref)
    trial.integrity_ok &= integrity(db) == "ok"
    runs = db.parent / "runs"
    trial.stale_staging = len([p for p in runs.iterdir() if p.name.startswith(".")])
    trial.seconds = time.time() - t0
    return trial


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--max-kills", type=int, default=2, help="kills per trial: 1..N at random")
    ap.add_argument("--concurrent", action="store_true", help="a second driver beside each")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sparsities", default="0.3,0.5,0.7")
    ap.add_argument("--seeds", default="1,2", help="fine-tuning seeds of the study")
    ap.add_argument("--work", type=Path, default=None, help="keep the trial folders here")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from study_fixtures import make_task_file, make_tiny_bert

    rng = random.Random(args.seed)
    work = args.work or Path(tempfile.mkdtemp(prefix="kill-trials-"))
    work.mkdir(parents=True, exist_ok=True)
    model = make_tiny_bert(work / "tiny-bert")
    task = make_task_file(work / "toy.jsonl")
    seeds = [int(s) for s in args.seeds.split(",")]
    sparsities = [float(s) for s in args.sparsities.split(",")]

    ref_study = make_study(work / "reference", model, task, seeds, sparsities)
    t0 = time.time()
    ref_proc = driver(ref_study, work / "reference" / "log")
    out = ref_proc.communicate()[0].decode()
    t_ref = time.time() - t0
    if ref_proc.returncode != 0:
        print(out)
        return 1
    ref = done_runs(ref_study.parent / "out" / "study.db")
    print(
        f"uninterrupted: {len(ref)} runs with --workers 2 in {t_ref:.1f} s "
        f"(load {os.getloadavg()[0]:.1f}); folder {work}"
    )
    trials = []
    for i in range(args.trials):
        study = make_study(work / f"trial-{i + 1}", model, task, seeds, sparsities)
        t = run_trial(study, ref, t_ref, rng, args)
        trials.append(t)
        print(
            f"trial {i + 1:>2}: kills {t.kills} (runs in flight {t.interrupted}; launches done "
            f"before their kill {t.finished_before_kill}), lost {t.lost}, duplicated {t.duplicated}, score "
            f"mismatches {t.mismatched}, integrity {'ok' if t.integrity_ok else 'BROKEN'}, "
            f"stale staging folders {t.stale_staging}, {t.seconds:.0f} s"
            + "".join(f"\n    {n}" for n in t.notes)
        )
    keys = ("kills", "interrupted", "finished_before_kill", "by_second", "lost", "duplicated",
            "mismatched", "stale_staging")  # fmt: skip
    total = {k: sum(getattr(t, k) for t in trials) for k in keys}
    ok = sum(t.integrity_ok for t in trials)
    mode = "one driver"
    if args.concurrent:
        mode = f"two drivers at once, one killed; the second started {total['by_second']} runs"
    print(
        f"\nkill trials ({mode}, --workers 2): {len(trials)} trials, {total['kills']} kills "
        f"survived, {total['interrupted']} runs in flight when killed and redone "
        f"({total['finished_before_kill']} launches finished before their kill), "
        f"{len(ref)} runs per study\n"
        f"runs lost: {total['lost']}   runs duplicated: {total['duplicated']}   scores differing "
        f"from the uninterrupted run: {total['mismatched']}\n"
        f"database integrity ok: {ok}/{len(trials)}   stale staging folders (harmless): "
        f"{total['stale_staging']}"
    )
    failed = total["lost"] or total["duplicated"] or total["mismatched"] or ok < len(trials)
    failed = failed or any(t.notes for t in trials)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
