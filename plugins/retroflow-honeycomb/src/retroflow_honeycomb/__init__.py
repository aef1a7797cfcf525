"""retroflow-honeycomb: Honeycomb markers as a retroflow timeline source.

Live from the Honeycomb API over plain HTTP, or from a directory of saved API replies.
Configured in ``[plugins.honeycomb]``; see the README.
"""

from __future__ import annotations

from .plugin import HoneycombSource, incident_window, plugin
from .settings import DatasetMap, HoneycombSettings

__all__ = ["DatasetMap", "HoneycombSettings", "HoneycombSource", "incident_window", "plugin"]
