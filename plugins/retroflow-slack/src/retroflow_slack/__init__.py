"""retroflow-slack: the incident's Slack channel as a retroflow timeline source.

Live through slack-sdk's ``WebClient`` or from a workspace export folder. Configured in
``[plugins.slack]``; see the README and ``docs/sources.md``.
"""

from __future__ import annotations

from .plugin import SlackSource, plugin
from .settings import SlackSettings

__all__ = ["SlackSettings", "SlackSource", "plugin"]
