"""retroflow-pagerduty: a PagerDuty incident as a retroflow timeline source.

Live from the REST API v2 (through the ``pagerduty`` client) or from a directory of saved
API replies. Configured in ``[plugins.pagerduty]``; see ``docs/pagerduty.md``.
"""

from __future__ import annotations

from .plugin import PagerDutySource, parse_incident_ref, plugin
from .settings import PagerDutySettings

__all__ = ["PagerDutySettings", "PagerDutySource", "parse_incident_ref", "plugin"]
