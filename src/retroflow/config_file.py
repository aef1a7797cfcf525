"""Finding ``retroflow.toml``, without importing what reads it (:mod:`retroflow.config`,
which exports these names too): ``retroflow --help`` looks for the file, and reads it only
when there is one."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from retroflow.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["CONFIG_ENV", "CONFIG_NAME", "find_config_file"]

CONFIG_ENV = "RETROFLOW_CONFIG"
CONFIG_NAME = "retroflow.toml"


def find_config_file(option: str | os.PathLike[str] | None, cwd: Path | None = None) -> Path | None:
    """``--config``, then ``$RETROFLOW_CONFIG``, then ``./retroflow.toml``; ``None`` if none."""
    if option:
        return _existing(option, "given with --config")
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return _existing(from_env, f"given in ${CONFIG_ENV}")
    # os.path, not pathlib, for the usual look: `retroflow --help` in a directory without a
    # config file then imports no pathlib (nor urllib.parse, which it imports).
    candidate = os.path.join(cwd if cwd is not None else os.getcwd(), CONFIG_NAME)
    return _path(candidate) if os.path.isfile(candidate) else None


def _existing(name: str | os.PathLike[str], given: str) -> Path:
    path = _path(name)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found ({given})")
    return path


def _path(name: str | os.PathLike[str]) -> Path:
    from pathlib import Path

    return Path(name)
