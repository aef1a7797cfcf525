"""retroflow-honeycomb: Honeycomb markers as a retroflow timeline source.

Live from the Honeycomb API over plain HTTP, or from a directory of saved API replies.
Configured in ``[plugins.honeycomb]``; see the README.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .settings import DatasetMap, HoneycombSettings

__all__ = ["TABLE", "DatasetMap", "HoneycombSettings", "HoneycombSource", "incident_window", "plugin"]

#: The plugin's name and its settings table, ``[plugins.honeycomb]``.
TABLE = "honeycomb"

# The plugin module itself is light (what it runs is imported when it runs); it is
# imported here so that ``plugin`` is the instance, not the module of that name.
from .plugin import HoneycombSource, incident_window, plugin  # noqa: E402

# Loaded when first used: loading the plugin imports no more than it needs.
_HOMES = {
    "DatasetMap": ".settings",
    "HoneycombSettings": ".settings",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
