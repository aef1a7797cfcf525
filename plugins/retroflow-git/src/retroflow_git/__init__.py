"""retroflow-git: a local Git repository's history around an incident as ``change`` events.

Commits of the deployed branch's first-parent line (merges with their pull request), and
tags as releases, read through the ``git`` command. Configured in ``[plugins.git]``; see
``docs/sources.md``. :mod:`retroflow_git.history` (the git reading) imports nothing from
retroflow, so the names below are loaded when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["TABLE", "GitSettings", "GitSource", "RepoSettings", "plugin"]

#: The plugin's name and its settings table, ``[plugins.git]``.
TABLE = "git"

_HOMES = {"GitSettings": ".settings", "RepoSettings": ".settings", "GitSource": ".plugin", "plugin": ".plugin"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
