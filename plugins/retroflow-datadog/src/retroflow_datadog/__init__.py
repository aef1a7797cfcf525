"""retroflow-datadog: Datadog monitor alerts and change events as a retroflow timeline source.

Live from the Events API v2 over plain HTTP, or from a directory of saved API replies.
Configured in ``[plugins.datadog]``; see the README.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.lazy import exports_by_module, lazy_exports

if TYPE_CHECKING:
    from .settings import DatadogSettings, ServiceMap

__all__ = ["TABLE", "DatadogSettings", "DatadogSource", "ServiceMap", "incident_window", "plugin"]

#: The plugin's name and its settings table, ``[plugins.datadog]``.
TABLE = "datadog"

# The plugin module itself is light (what it runs is imported when it runs); it is
# imported here so that ``plugin`` is the instance, not the module of that name.
from .plugin import DatadogSource, incident_window, plugin  # noqa: E402

# Loaded when first used: loading the plugin imports no more than it needs.
__getattr__ = lazy_exports(__name__, exports_by_module({".settings": ("DatadogSettings", "ServiceMap")}))
