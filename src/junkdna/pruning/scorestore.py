"""Per-weight importance scores of a whole model, held in RAM up to a byte budget and spilled to
disk beyond it.

Task-aware criteria (``junkdna.pruning.importance``) give every prunable weight an fp32 score:
4 bytes per weight, 28 GB for a 7B model, more than a machine may hold beside the model. A
``ScoreStore`` keeps the first tensors it receives in RAM while their total stays within
``ram_bytes`` (default: the environment variable ``JUNKDNA_SCORE_RAM_BYTES``, else 2 GiB) and writes
the rest, one raw little-endian fp32 file per tensor, to a private temporary folder. ``load``
reads a spilled tensor back on demand (one tensor in RAM at a time), and ``fns()`` gives the
name -> function mapping that ``select.select_smallest`` takes, so a global threshold over all
scores never holds them all at once.

Scores are stored in the (out, in) layout of ``models.Prunable.matrix``, in the order they were
put (the forward order of the model's prunable weights).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from junkdna.errors import JunkDNAError

DEFAULT_RAM_BYTES = 2 << 30  # 2 GiB of scores in RAM, the rest on disk
RAM_ENV = "JUNKDNA_SCORE_RAM_BYTES"
DIR_ENV = "JUNKDNA_SCORE_DIR"  # where spill folders go (default: the system's temp folder)


def env_bytes(var: str, default: int) -> int:
    """A byte count from the environment variable ``var`` (an integer >= 0), else ``default``."""
    text = os.environ.get(var)
    if text is None or not text.strip():
        return default
    try:
        value = int(float(text))
    except ValueError:
        raise JunkDNAError(f"{var}={text!r} is not a number of bytes") from None
    if value < 0:
        raise JunkDNAError(f"{var}={text!r} must be >= 0 bytes")
    return value


class ScoreStore:
    """fp32 score tensors by parameter name: in RAM up to ``ram_bytes``, on disk beyond.

    ``put(name, scores)`` adds one tensor (copied to CPU fp32). ``names()`` lists them in the
    order they were put; ``load(name)`` returns one (a RAM tensor is returned as is: do not modify
    it); ``fns()`` maps every name to a function returning its scores. ``info`` is a JSON-able
    description (what ``task_importance`` recorded plus where the scores are kept). ``close()``
    (or leaving the ``with`` block) drops the scores and deletes the spill folder.
    """

    def __init__(self, ram_bytes: int | None = None, folder: str | Path | None = None):
        self.ram_bytes = env_bytes(RAM_ENV, DEFAULT_RAM_BYTES) if ram_bytes is None else ram_bytes
        if isinstance(self.ram_bytes, bool) or not isinstance(self.ram_bytes, int):
            raise JunkDNAError(f"ram_bytes must be an integer, got {ram_bytes!r}")
        self._parent = folder if folder is not None else os.environ.get(DIR_ENV) or None
        self._dir: Path | None = None
        self._finalizer: weakref.finalize | None = None
        self._ram: dict[str, torch.Tensor] = {}
        self._disk: dict[str, tuple[Path, tuple[int, ...]]] = {}
        self._order: list[str] = []
        self._in_ram = 0
        self._spilled = 0
        self._closed = False
        self.meta: dict[str, Any] = {}  # what produced the scores (set by the producer)

    # ------------------------------------------------------------------ writing

    def put(self, name: str, scores: torch.Tensor, owned: bool = False) -> None:
        """Keep ``scores`` (any shape, converted to CPU fp32) under ``name``. ``owned``: the
        caller hands the tensor over and never touches it again, so a CPU fp32 contiguous one
        is kept as it is, without a copy."""
        self._check_open()
        if name in self:
            raise JunkDNAError(f"scores of {name!r} are already stored")
        t = scores.detach().to("cpu", torch.float32).contiguous()
        size = t.numel() * 4
        if self._in_ram + size <= self.ram_bytes:
            if not owned and t.data_ptr() == scores.data_ptr():
                t = t.clone()  # never alias the caller's tensor
            self._ram[name] = t
            self._in_ram += size
        else:
            path = self._folder() / f"{len(self._order):06d}.f32"
            t.numpy().astype("<f4", copy=False).tofile(path)
            self._disk[name] = (path, tuple(t.shape))
            self._spilled += size
        self._order.append(name)

    def _folder(self) -> Path:
        if self._dir is None:
            if self._parent is not None:
                Path(self._parent).mkdir(parents=True, exist_ok=True)
            self._dir = Path(tempfile.mkdtemp(prefix="junkdna-scores-", dir=self._parent))
            # Removed with the store, also when it is garbage-collected without close().
            self._finalizer = weakref.finalize(self, shutil.rmtree, self._dir, True)
        return self._dir

    # ------------------------------------------------------------------ reading

    def names(self) -> list[str]:
        return list(self._order)

    def load(self, name: str) -> torch.Tensor:
        """The scores of ``name`` (fp32, CPU)."""
        self._check_open()
        if name in self._ram:
            return self._ram[name]
        if name not in self._disk:
            raise JunkDNAError(f"no scores stored for {name!r}")
        path, shape = self._disk[name]
        data = np.fromfile(path, dtype="<f4")
        return torch.from_numpy(data.astype(np.float32, copy=False)).view(shape)

    def fns(self) -> dict[str, Callable[[], torch.Tensor]]:
        """name -> function returning its scores, in order (what ``select_smallest`` takes)."""
        return {n: (lambda n=n: self.load(n)) for n in self._order}

    @property
    def info(self) -> dict[str, Any]:
        return {
            **self.meta,
            "weights": len(self._order),
            "score_bytes": self._in_ram + self._spilled,
            "ram_budget_bytes": self.ram_bytes,
            "spilled_bytes": self._spilled,
            "spilled_tensors": len(self._disk),
        }

    @property
    def spill_folder(self) -> Path | None:
        return self._dir

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._ram or name in self._disk

    def __iter__(self):
        return iter(self.names())

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Drop the scores and delete the spill folder (idempotent)."""
        self._ram.clear()
        self._disk.clear()
        self._order.clear()
        self._closed = True
        if self._finalizer is not None:
            self._finalizer()  # runs rmtree once

    def _check_open(self) -> None:
        if self._closed:
            raise JunkDNAError("this ScoreStore was closed")

    def __enter__(self) -> ScoreStore:
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False
