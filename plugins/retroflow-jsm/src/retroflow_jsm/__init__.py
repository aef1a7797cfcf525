"""retroflow-jsm: a Jira Service Management Operations (or Opsgenie) alert as a timeline source.

Live from the JSM Operations or Opsgenie REST API over plain HTTP, or from a directory of
saved API replies. Configured in ``[plugins.jsm]``; see the README.
"""

from __future__ import annotations

from .plugin import AlertRef, JsmSource, parse_alert_ref, plugin
from .settings import JsmSettings, ServiceMap

__all__ = ["AlertRef", "JsmSettings", "JsmSource", "ServiceMap", "parse_alert_ref", "plugin"]
