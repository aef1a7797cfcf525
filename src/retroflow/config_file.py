"""Finding ``retroflow.toml``, without importing what reads it (:mod:`retroflow.config`,
which exports these names too): ``retroflow --help`` looks for the file, and reads it only
when there is one."""

from __future__ import annotations

import os
from pathlib import Path

from retroflow.errors import ConfigError

__all__ = ["CONFIG_ENV", "CONFIG_NAME", "find_config_file"]

CONFIG_ENV = "RETROFLOW_CONFIG"
CONFIG_NAME = "retroflow.toml"


def find_config_file(option: str | os.PathLike[str] | None, cwd: Path | None = None) -> Path | None:
    """``--config``, then ``$RETROFLOW_CONFIG``, then ``./retroflow.toml``; ``None`` if none."""
    if option:
        path = Path(option)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found (given with --config)")
        return path
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found (given in ${CONFIG_ENV})")
        return path
    candidate = (cwd or Path.cwd()) / CONFIG_NAME
    return candidate if candidate.is_file() else None
