"""retroflow-slack: the incident's Slack channel as a retroflow timeline source.

Live through slack-sdk's ``WebClient`` or from a workspace export folder. Configured in
``[plugins.slack]``; see the README and ``docs/sources.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.lazy import lazy_exports

if TYPE_CHECKING:
    from .settings import SlackSettings

__all__ = ["TABLE", "SlackSettings", "SlackSource", "plugin"]

#: The plugin's name and its settings table, ``[plugins.slack]``.
TABLE = "slack"

# The plugin module itself is light (what it runs is imported when it runs); it is
# imported here so that ``plugin`` is the instance, not the module of that name.
from .plugin import SlackSource, plugin  # noqa: E402

# Loaded when first used: loading the plugin imports no more than it needs.
__getattr__ = lazy_exports(__name__, {"SlackSettings": ".settings:SlackSettings"})
