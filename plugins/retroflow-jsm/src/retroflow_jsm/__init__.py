"""retroflow-jsm: a Jira Service Management Operations (or Opsgenie) alert as a timeline source.

Live from the JSM Operations or Opsgenie REST API over plain HTTP, or from a directory of
saved API replies. Configured in ``[plugins.jsm]``; see the README.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.lazy import lazy_exports

if TYPE_CHECKING:
    from .refs import AlertRef, parse_alert_ref
    from .settings import JsmSettings, ServiceMap

__all__ = ["TABLE", "AlertRef", "JsmSettings", "JsmSource", "ServiceMap", "parse_alert_ref", "plugin"]

#: The plugin's name and its settings table, ``[plugins.jsm]``.
TABLE = "jsm"

# The plugin module itself is light (what it runs is imported when it runs); it is
# imported here so that ``plugin`` is the instance, not the module of that name.
from .plugin import JsmSource, plugin  # noqa: E402

# Loaded when first used: loading the plugin imports no more than it needs.
__getattr__ = lazy_exports(
    __name__,
    {
        "AlertRef": ".refs:AlertRef",
        "JsmSettings": ".settings:JsmSettings",
        "ServiceMap": ".settings:ServiceMap",
        "parse_alert_ref": ".refs:parse_alert_ref",
    },
)
