"""Recovery without the network or a cluster: hub downloads retried only for passing failures
(a stand-in loader raises huggingface_hub's and httpx's own exception classes), study folders on
network file systems refused (a fake mounts table), staged output folders all-or-nothing."""

from __future__ import annotations

import errno

import httpx2
import pytest
from huggingface_hub import errors as hf

from junkdna.errors import HubError, JunkDNAError
from junkdna.models import RETRY_DELAYS_S, hub_call, hub_failure

URL = "https://huggingface.co/api/models/org/model"


def _http(cls, status: int, message: str = "hub says no"):
    request = httpx2.Request("GET", URL)
    return cls(message, response=httpx2.Response(status, request=request))


def _connect_error():
    return httpx2.ConnectError(
        "[Errno 101] Network is unreachable", request=httpx2.Request("GET", URL)
    )


def _wrapped(e: Exception) -> OSError:
    """What transformers raises: its own OSError, the hub's error as the cause."""
    try:
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files") from e
    except OSError as wrapped:
        return wrapped


class Loader:
    """A stand-in for ``from_pretrained``: raises the given errors in turn, then returns."""

    def __init__(self, *errors: Exception):
        self.errors, self.calls = list(errors), 0

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "model"


def _call(loader):
    slept: list[float] = []
    try:
        return hub_call(loader, "org/model", sleep=slept.append), slept
    except HubError as e:
        e.slept = slept  # type: ignore[attr-defined]
        raise


@pytest.mark.parametrize(
    "error",
    [
        _connect_error(),
        httpx2.ReadTimeout("read timed out", request=httpx2.Request("GET", URL)),
        _http(hf.HfHubHTTPError, 503),
        _http(hf.HfHubHTTPError, 429),
        _wrapped(_connect_error()),
    ],
    ids=["connect", "timeout", "http-503", "http-429", "wrapped-by-transformers"],
)
def test_a_passing_failure_is_retried_with_back_off(error):
    loader = Loader(error, error)
    result, slept = _call(loader)
    assert result == "model" and loader.calls == 3
    assert slept == list(RETRY_DELAYS_S[:2]) == [1.0, 2.0]


def test_retries_are_bounded_and_the_last_failure_is_one_line():
    loader = Loader(*[_connect_error()] * 10)
    with pytest.raises(HubError) as info:
        _call(loader)
    assert loader.calls == len(RETRY_DELAYS_S) + 1 == 4
    assert info.value.slept == [1.0, 2.0, 4.0]
    msg = str(info.value)
    assert "\n" not in msg and "could not be reached after 4 tries" in msg
    assert "Network is unreachable" in msg and "'org/model'" in msg


@pytest.mark.parametrize(
    "error, words",
    [
        (_http(hf.RepositoryNotFoundError, 404), ["unknown hub id", "HF_TOKEN"]),
        (_http(hf.GatedRepoError, 403), ["gated repository", "accept its terms", "HF_TOKEN"]),
        (_wrapped(_http(hf.GatedRepoError, 401)), ["gated repository"]),
        (_http(hf.HfHubHTTPError, 401), ["refused access (HTTP 401)", "HF_TOKEN"]),
        (_http(hf.HfHubHTTPError, 403), ["refused access (HTTP 403)"]),
        (_wrapped(_http(hf.RepositoryNotFoundError, 404)), ["unknown hub id"]),
        (hf.OfflineModeIsEnabled("offline"), ["hub offline or unknown id"]),
    ],
    ids=["not-found", "gated", "gated-wrapped", "401", "403", "not-found-wrapped", "offline"],
)
def test_a_permanent_failure_is_not_retried_and_says_which(error, words):
    loader = Loader(error, error)
    with pytest.raises(HubError) as info:
        _call(loader)
    assert loader.calls == 1 and info.value.slept == []
    msg = str(info.value)
    assert "\n" not in msg and "'org/model'" in msg
    for w in words:
        assert w in msg


def test_other_errors_pass_through_untouched():
    for error in (ValueError("bad config"), _http(hf.HfHubHTTPError, 400)):
        loader = Loader(error)
        with pytest.raises(type(error)):
            _call(loader)
        assert loader.calls == 1
    assert hub_failure(KeyError("x")) is None


def test_offline_missing_file_is_offline_not_transient(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    error = _wrapped(hf.LocalEntryNotFoundError("outgoing traffic has been disabled"))
    assert hub_failure(error) == "offline"


def test_an_offline_hub_id_fails_fast_through_load_model(monkeypatch, tmp_path):
    import time

    from junkdna.models import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    with pytest.raises(HubError, match="hub offline or unknown id"):
        load_model("someorg/not-in-the-cache")
    assert time.perf_counter() - t0 < 5


# ----------------------------------------------------------------------------- network FS

MOUNTS = r"""sysfs /sys sysfs rw,nosuid 0 0
/dev/vda1 / ext4 rw,relatime 0 0
server:/export /mnt/shared nfs4 rw,relatime,vers=4.2 0 0
//nas/lab /mnt/lab\040drive cifs rw 0 0
user@host:/data /home/u/remote fuse.sshfs rw 0 0
/dev/vdb1 /mnt/shared/local-cache ext4 rw 0 0
tmpfs /tmp tmpfs rw 0 0
"""


@pytest.mark.parametrize(
    "folder, fs",
    [
        ("/mnt/shared/studies/s1", "nfs4"),
        ("/mnt/lab drive/s", "cifs"),
        ("/home/u/remote/x", "fuse.sshfs"),
        ("/mnt/shared/local-cache/s", None),  # a local disk mounted inside the NFS share
        ("/home/u/studies", None),
        ("/tmp/s", None),
        ("/mnt/sharedX/s", None),  # a prefix of the name is not the mount
    ],
)
def test_network_file_systems_are_detected_from_the_mounts_table(folder, fs, monkeypatch):
    from junkdna.study.store import check_local_filesystem, mount_of

    monkeypatch.delenv("JUNKDNA_ALLOW_NETWORK_FS", raising=False)
    found = mount_of(folder, MOUNTS)
    if fs is None:
        assert found is None or found[1] not in ("nfs4", "cifs", "fuse.sshfs")
        check_local_filesystem(folder, MOUNTS)
        return
    assert found is not None and found[1] == fs
    with pytest.raises(JunkDNAError) as info:
        check_local_filesystem(folder, MOUNTS)
    msg = str(info.value)
    assert "\n" not in msg and f"network file system ({fs} at" in msg
    assert "local disk" in msg and "JUNKDNA_ALLOW_NETWORK_FS=1" in msg
    monkeypatch.setenv("JUNKDNA_ALLOW_NETWORK_FS", "1")
    check_local_filesystem(folder, MOUNTS)  # the override


def test_this_machines_test_folder_is_accepted(tmp_path):
    from junkdna.study.store import Store

    Store(tmp_path / "s.db").close()  # reads the real /proc/mounts


# ----------------------------------------------------------------------------- staged folders


def test_a_staged_folder_is_all_or_nothing(tmp_path):
    from junkdna.paths import staged_folder

    out = tmp_path / "a" / "b"
    with pytest.raises(OSError) as info, staged_folder(out) as stage:
        (stage / "one.txt").write_text("1")
        raise OSError(errno.ENOSPC, "No space left on device", str(stage / "two.txt"))
    assert info.value.filename == str(out / "two.txt")  # the user's path, not the stage's
    assert not (tmp_path / "a").exists()  # every folder it made is gone again
    with staged_folder(out) as stage:
        (stage / "one.txt").write_text("1")
    assert [p.name for p in out.iterdir()] == ["one.txt"]


def test_a_library_io_error_reads_as_the_os_error_it_is(tmp_path):
    from junkdna.errors import os_error
    from junkdna.paths import atomic_path

    target = tmp_path / "m.safetensors"
    with pytest.raises(OSError) as info, atomic_path(target):
        raise RuntimeError("Error while serializing: I/O error: No space left (os error 28)")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []
    assert "no space left on device; free some space" in str(os_error(info.value))


# ----------------------------------------------------------------------------- local workers


def test_a_local_worker_that_dies_fails_its_run_and_the_study_goes_on(tmp_path, monkeypatch):
    """A pool worker that dies (here: exits at the start of one run, as an out-of-memory kill
    would) fails the runs the pool held; the pool is rebuilt and the other runs finish."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from study_fixtures import write_study

    from junkdna.study import load_study, plan_study
    from junkdna.study.driver import open_store, run_study

    plan = plan_study(load_study(write_study(tmp_path, sparsities=(0.3, 0.5))))
    ids = [r.run_id for r in plan.runs]
    monkeypatch.setenv("JUNKDNA_TEST_FAIL", f"run:{ids[0]}:exit")
    rep = run_study(plan, workers=2, progress=False)
    rows = {r["run_id"]: r for r in open_store(plan.study).rows()}
    assert sorted(rows) == sorted(ids)  # every run recorded, once
    assert rows[ids[0]]["status"] == "failed" and "worker died" in rows[ids[0]]["error"]
    assert rows[ids[2]]["status"] == "done"  # submitted after the pool broke: a new pool ran it
    assert rep.done + rep.failed == 3
