"""retroflow-datadog: Datadog monitor alerts and change events as a retroflow timeline source.

Live from the Events API v2 over plain HTTP, or from a directory of saved API replies.
Configured in ``[plugins.datadog]``; see the README.
"""

from __future__ import annotations

from .plugin import DatadogSource, incident_window, plugin
from .settings import DatadogSettings, ServiceMap

__all__ = ["DatadogSettings", "DatadogSource", "ServiceMap", "incident_window", "plugin"]
