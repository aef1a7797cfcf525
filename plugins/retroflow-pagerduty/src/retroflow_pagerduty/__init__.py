"""retroflow-pagerduty: a PagerDuty incident as a retroflow timeline source.

Live from the REST API v2 (through the ``pagerduty`` client) or from a directory of saved
API replies. Configured in ``[plugins.pagerduty]``; see ``docs/pagerduty.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.lazy import lazy_exports

if TYPE_CHECKING:
    from .refs import parse_incident_ref
    from .settings import PagerDutySettings

__all__ = ["TABLE", "PagerDutySettings", "PagerDutySource", "parse_incident_ref", "plugin"]

#: The plugin's name and its settings table, ``[plugins.pagerduty]``.
TABLE = "pagerduty"

# The plugin module itself is light (what it runs is imported when it runs); it is
# imported here so that ``plugin`` is the instance, not the module of that name.
from .plugin import PagerDutySource, plugin  # noqa: E402

# Loaded when first used: loading the plugin imports no more than it needs.
__getattr__ = lazy_exports(
    __name__, {"PagerDutySettings": ".settings:PagerDutySettings", "parse_incident_ref": ".refs:parse_incident_ref"}
)
