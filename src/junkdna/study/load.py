"""Read a study file: TOML -> validated models (``junkdna.study.config``) -> semantic checks
(``junkdna.study.checks``) -> a ``Study``."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from junkdna.errors import JunkDNAError
from junkdna.study.checks import check_study
from junkdna.study.config import Study, StudyFile, config_error


def load_study(path: str | Path) -> Study:
    path = Path(path)
    if not path.is_file():
        raise JunkDNAError(f"study file {str(path)!r} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise JunkDNAError(f"study file {str(path)!r} is not valid TOML: {e}") from None
    return parse_study(data, path.resolve())


def parse_study(data: dict[str, Any], path: Path | None = None) -> Study:
    try:
        spec = StudyFile(**data)
    except ValidationError as e:
        raise config_error(e, StudyFile, path) from None
    study = Study(spec, path)
    check_study(study)
    return study
