"""The readings ``junkdna ppl`` and ``junkdna compare`` print beside the scores: peak memory of a
block (CPU resident set, CUDA allocations) and the fraction of zeros among the prunable weights.
"""

from __future__ import annotations

import re
import resource
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn


def _rss_kb(key: str) -> int | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    m = re.search(rf"^{key}:\s+(\d+) kB", status, re.M)
    return int(m.group(1)) if m else None


def reset_cpu_peak() -> bool:
    """Reset this process's resident-set high-water mark (Linux >= 4.0: ``clear_refs`` 5); False
    where that is not possible (the peak is then the process's lifetime peak)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class PeakMemory:
    """Peak memory of a block: CPU resident set (high-water mark, reset on entry where Linux
    allows) and, on CUDA, ``torch.cuda.max_memory_allocated``. Bytes; ``baseline`` is the
    resident set on entry."""

    def __enter__(self) -> PeakMemory:
        from junkdna.memory import Releaser

        Releaser(every=0).step(1)  # give freed heap pages back first
        self.resettable = reset_cpu_peak()
        self.baseline = (_rss_kb("VmRSS") or 0) * 1024
        self.cuda = torch.cuda.is_available()
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        self.cpu_peak = self.gpu_peak = 0
        return self

    def __exit__(self, *exc) -> bool:
        hwm = _rss_kb("VmHWM")
        if hwm is None:  # no /proc: ru_maxrss (KiB on Linux, bytes on macOS), never reset
            maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.cpu_peak = maxrss if sys.platform == "darwin" else maxrss * 1024
            self.resettable = False
        else:
            self.cpu_peak = hwm * 1024
        if self.cuda:
            torch.cuda.synchronize()
            self.gpu_peak = int(torch.cuda.max_memory_allocated())
        return False

    def as_dict(self) -> dict[str, Any]:
        return {
            "cpu_peak_mb": round(self.cpu_peak / 2**20, 1),
            "cpu_baseline_mb": round(self.baseline / 2**20, 1),
            "cpu_peak_reset": self.resettable,
            "gpu_peak_mb": round(self.gpu_peak / 2**20, 1) if self.cuda else None,
        }


def prunable_sparsity(model: nn.Module) -> dict[str, Any]:
    """Fraction of exact zeros among the prunable weights of the model as it is now."""
    from junkdna.models import parameters_by_name, prunable_weights

    params = parameters_by_name(model)
    zeros = total = 0
    for name in prunable_weights(model):
        p = params[name]
        zeros += int((p == 0).sum())
        total += p.numel()
    return {"sparsity": zeros / total if total else 0.0, "prunable_weights": total}
