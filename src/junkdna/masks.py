"""MaskSet: parameter name -> bool tensor (True = kept), with the settings that produced it."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from junkdna.errors import JunkDNAError
from junkdna.paths import atomic_path

log = logging.getLogger(__name__)

# A layer keeping at most this fraction of its weights is reported as collapsed: the paper blames
# such layers for global magnitude pruning failing at high sparsity.
COLLAPSE_KEEP_FRACTION = 0.01
FORMAT = "junkdna.maskset/1"


@dataclass
class LayerStats:
    name: str
    total: int
    kept: int

    @property
    def sparsity(self) -> float:
        return 1.0 - self.kept / self.total if self.total else 0.0

    @property
    def collapsed(self) -> bool:
        return self.kept <= COLLAPSE_KEEP_FRACTION * self.total


@dataclass
class MaskSet(Mapping[str, torch.Tensor]):
    """Masks for the prunable weights of one model, in the parameters' own shapes.

    ``metadata`` records how the masks were made (method, settings, model id, versions); it is
    stored with the masks so that a mask file explains itself.
    """

    masks: dict[str, torch.Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, m in self.masks.items():
            if m.dtype != torch.bool:
                raise JunkDNAError(f"mask {name!r} has dtype {m.dtype}; masks are bool")

    # Mapping interface
    def __getitem__(self, name: str) -> torch.Tensor:
        return self.masks[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.masks)

    def __len__(self) -> int:
        return len(self.masks)

    # ------------------------------------------------------------------ statistics
    def layer_stats(self) -> list[LayerStats]:
        return [
            LayerStats(n, m.numel(), int(torch.count_nonzero(m))) for n, m in self.masks.items()
        ]

    @property
    def total(self) -> int:
        return sum(m.numel() for m in self.masks.values())

    @property
    def kept(self) -> int:
        return sum(int(torch.count_nonzero(m)) for m in self.masks.values())

    @property
    def sparsity(self) -> float:
        return 1.0 - self.kept / self.total if self.total else 0.0

    def collapsed_layers(self) -> list[str]:
        return [s.name for s in self.layer_stats() if s.collapsed]

    def warn_collapse(self) -> list[str]:
        collapsed = self.collapsed_layers()
        if collapsed:
            log.warning(
                "layer collapse: %d layer(s) keep at most %.0f%% of their weights: %s",
                len(collapsed),
                100 * COLLAPSE_KEEP_FRACTION,
                ", ".join(collapsed[:8]) + (" ..." if len(collapsed) > 8 else ""),
            )
        return collapsed

    def report(self) -> dict[str, Any]:
        layers = self.layer_stats()
        return {
            "sparsity": self.sparsity,
            "total": self.total,
            "kept": self.kept,
            "collapsed_layers": [s.name for s in layers if s.collapsed],
            "layers": {
                s.name: {"total": s.total, "kept": s.kept, "sparsity": s.sparsity} for s in layers
            },
            "metadata": self.metadata,
        }

    # ------------------------------------------------------------------ model interaction
    def check_compatible(self, model: nn.Module) -> dict[str, nn.Parameter]:
        params = dict(model.named_parameters(remove_duplicate=False))
        missing = [n for n in self.masks if n not in params]
        if missing:
            raise JunkDNAError(
                f"masks do not fit this model: {len(missing)} masked parameter(s) are missing, "
                f"e.g. {missing[0]!r} (masks made for {self.metadata.get('model', '?')!r})"
            )
        for n, m in self.masks.items():
            if tuple(params[n].shape) != tuple(m.shape):
                raise JunkDNAError(
                    f"mask {n!r} has shape {tuple(m.shape)} but the model's parameter has "
                    f"{tuple(params[n].shape)} (masks made for {self.metadata.get('model', '?')!r})"
                )
        return {n: params[n] for n in self.masks}

    @torch.no_grad()
    def apply(self, model: nn.Module) -> None:
        """Zero the pruned weights of ``model`` in place."""
        for n, p in self.check_compatible(model).items():
            p.mul_(self.masks[n].to(p.device))  # in place, one layer at a time: no big temporary

    def to(self, device: torch.device | str) -> MaskSet:
        return MaskSet({n: m.to(device) for n, m in self.masks.items()}, dict(self.metadata))

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write ``masks.safetensors`` atomically (bool tensors, metadata as JSON)."""
        from safetensors.torch import save_file

        path = Path(path)
        meta = {
            "format": FORMAT,
            "metadata": json.dumps(self.metadata, sort_keys=True),
            "order": json.dumps(list(self.masks)),  # safetensors sorts keys; keep forward order
        }
        tensors = {n: m.contiguous().cpu() for n, m in self.masks.items()}
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=meta)
        return path

    @staticmethod
    def file_of(path: str | os.PathLike) -> Path:
        """The masks file of ``path`` (a folder holding masks.safetensors, or the file)."""
        path = Path(path)
        if path.is_dir():
            path = path / "masks.safetensors"
        if not path.is_file():
            raise JunkDNAError(
                f"mask file {str(path)!r} does not exist; give the folder that `junkdna prune "
                "--out` wrote (with masks.safetensors) or that file"
            )
        return path

    @classmethod
    def check_file(cls, path: str | os.PathLike) -> dict[str, str]:
        """Read and check only the header of a masks file (cheap, before a model loads): it is
        a readable safetensors file, a junkdna mask file, of a format this junkdna reads."""
        from safetensors import safe_open

        path = cls.file_of(path)
        try:
            with safe_open(str(path), framework="pt") as f:
                header = f.metadata() or {}
        except Exception as e:  # safetensors raises several types for a corrupt file
            raise _corrupt(path, e) from e
        _check_format(path, header)
        return header

    @classmethod
    def load(cls, path: str | os.PathLike) -> MaskSet:
        from safetensors import safe_open

        path = cls.file_of(path)
        try:
            with safe_open(str(path), framework="pt") as f:
                header = f.metadata() or {}
                masks = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open API)
        except Exception as e:  # safetensors raises several types for a corrupt file
            raise _corrupt(path, e) from e
        _check_format(path, header)
        try:
            metadata = json.loads(header.get("metadata", "{}"))
            order = json.loads(header.get("order", "[]"))
        except json.JSONDecodeError as e:
            raise _corrupt(path, f"its metadata is not JSON: {e}") from e
        if sorted(order) != sorted(masks):
            raise _corrupt(path, "the names in its header and its tensors differ")
        try:
            return cls({n: masks[n] for n in order}, metadata)
        except JunkDNAError as e:
            raise JunkDNAError(f"mask file {str(path)!r}: {e}") from None


def _corrupt(path: Path, why) -> JunkDNAError:
    return JunkDNAError(
        f"mask file {str(path)!r} is corrupt or truncated ({why}); write it again with "
        "`junkdna prune`"
    )


def _check_format(path: Path, header: dict[str, str]) -> None:
    fmt = header.get("format")
    if fmt == FORMAT:
        return
    name, _, version = (fmt or "").partition("/")
    if name == FORMAT.split("/")[0]:
        newer = version.isdigit() and int(version) > int(FORMAT.split("/")[1])
        raise JunkDNAError(
            f"mask file {str(path)!r} has format {fmt}, "
            + ("written by a newer junkdna" if newer else "which no junkdna release wrote")
            + f"; this junkdna reads {FORMAT}: "
            + ("upgrade junkdna, or " if newer else "")
            + "prune again with this junkdna"
        )
    raise JunkDNAError(
        f"{str(path)!r} is not a junkdna mask file (its header has no format {FORMAT}: "
        f"{'format ' + repr(fmt) if fmt else 'a plain safetensors file?'}); give masks that "
        "`junkdna prune` wrote"
    )
