"""Every path junkdna writes by default derives from JUNKDNA_HOME (default ~/.cache/junkdna)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from junkdna.errors import JunkDNAError


def home() -> Path:
    return Path(os.environ.get("JUNKDNA_HOME", Path.home() / ".cache" / "junkdna")).expanduser()


def cache_dir(*parts: str) -> Path:
    path = home().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it over `final` only if the block succeeds.

    Readers never see a half-written file, and a failure leaves nothing behind.
    """
    final = Path(final)
    if final.exists() and not final.is_file():
        # Renaming over /dev/full or a folder would replace it: refuse instead.
        raise JunkDNAError(
            f"{str(final)!r} exists and is not a regular file (a folder, a device or a "
            "pipe); give the path of a file to write"
        )
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    except OSError as e:  # name the file asked for, not the temporary one
        raise OSError(e.errno, e.strerror, str(final)) from e
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; give the final file the mode a plain open() would have.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        with _os_errors(final, tmp_path):
            yield tmp_path
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def _os_errors(final: Path, temporary: Path) -> Iterator[None]:
    """A failed write names the path the user asked for (``final``), not our ``temporary`` one
    (or a file inside it); a library that reports an I/O failure in its own type (safetensors:
    "... (os error 28)") raises the OSError it is, so that a full disk reads as one everywhere."""
    try:
        yield
    except OSError as e:
        if e.errno is None:
            raise
        name = Path(final if e.filename is None else e.filename)
        if name.is_relative_to(temporary):
            name = final / name.relative_to(temporary) if name != temporary else final
        if str(name) == e.filename:
            raise
        raise OSError(e.errno, e.strerror or str(e), str(name)) from e
    except Exception as e:
        m = re.search(r"os error (\d+)", str(e))
        if m is None:
            raise
        code = int(m.group(1))
        raise OSError(code, os.strerror(code), str(final)) from e


def check_writable_folder(path: str | os.PathLike, what: str = "output folder") -> None:
    """Fail fast (before hours of work) where ``path`` cannot become a writable folder: it, or
    the nearest part of it that exists, is a file, on a read-only file system, or not ours."""
    path = Path(path)
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        name = "it" if p == path else repr(str(p))
        raise JunkDNAError(
            f"{what} {str(path)!r}: {name} is a file, not a folder; choose a folder path"
        )
    if os.statvfs(p).f_flag & os.ST_RDONLY:
        raise JunkDNAError(
            f"{what} {str(path)!r} is on a read-only file system; choose a writable folder"
        )
    if not os.access(p, os.W_OK | os.X_OK):
        raise JunkDNAError(f"{what} {str(path)!r} is not writable by you; choose a writable folder")


@contextmanager
def staged_folder(out: str | os.PathLike, what: str = "output folder") -> Iterator[Path]:
    """Yield an empty hidden folder inside ``out``; if the block succeeds, move each of its files
    into ``out`` (renames on one file system). On any failure the stage goes, and so does every
    folder this call created: a failed command leaves nothing half-written behind."""
    out = Path(out)
    check_writable_folder(out, what)
    created, p = [], out
    while not p.exists() and p != p.parent:
        created.append(p)
        p = p.parent
    ok, stage = False, None
    try:
        out.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".stage-", dir=out))
        with _os_errors(out, stage):
            yield stage
            for f in sorted(stage.iterdir()):
                os.replace(f, out / f.name)
        ok = True
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        if not ok:
            for d in created:  # deepest first
                try:
                    d.rmdir()
                except OSError:
                    break


def atomic_write_text(final: str | os.PathLike, text: str) -> None:
    with atomic_path(final) as tmp:
        tmp.write_text(text)


@contextmanager
def file_lock(path: str | Path):
    """An exclusive advisory lock (``flock``) on ``path`` for the block: parallel workers on a
    cold cache take turns, so one of them converts or downloads and the others find it done."""
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
