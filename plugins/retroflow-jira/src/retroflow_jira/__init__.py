"""retroflow-jira: a tracker sink that exports retro actions to Jira and reads their status.

Registered through the ``retroflow`` entry point as the plugin ``jira``; configured by the
``[plugins.jira]`` table (:class:`JiraSettings`); used with ``retroflow export --sink jira``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.trackers import SinkBase, lazy_exports, sink_hooks

if TYPE_CHECKING:
    from retroflow_jira._client import JiraClient
    from retroflow_jira.settings import JiraSettings

__all__ = ["JiraClient", "JiraSettings", "JiraSink"]


class JiraSink(SinkBase):
    """The ``jira`` tracker sink.

    ``sleep`` and ``clock`` are injectable so tests never wait for real.
    """

    name = "jira"  # also the settings table, [plugins.jira]
    required = "url, project and token"
    #: Jira's bulk create takes at most 50 issues per request.
    max_batch = 50
    #: Jira Cloud search is eventually consistent: a new ticket may take seconds to minutes
    #: to show up in ``find``.
    search_lag = 120.0
    client = "retroflow_jira._client:JiraClient"
    settings_class = "retroflow_jira.settings:JiraSettings"


# The client (and the jira client library) is imported when first used, not when the plugin loads.
__getattr__ = lazy_exports(__name__, {"JiraClient": JiraSink.client, "JiraSettings": JiraSink.settings_class})


#: The plugin's hooks: the settings table and the sink.
retroflow_register_settings, retroflow_register_tracker_sinks = sink_hooks(JiraSink)
