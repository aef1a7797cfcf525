"""retroflow-jira: a tracker sink that exports retro actions to Jira and reads their status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.trackers import SinkBase, sink_module

if TYPE_CHECKING:
    from retroflow_jira._client import JiraClient
    from retroflow_jira.settings import JiraSettings

__all__ = ["JiraClient", "JiraSettings", "JiraSink"]


class JiraSink(SinkBase):
    """The ``jira`` tracker sink."""

    name = "jira"
    #: Jira's bulk create takes at most 50 issues per request.
    max_batch = 50
    #: Jira Cloud search is eventually consistent: a new ticket may take seconds to minutes
    #: to show up in ``find``.
    search_lag = 120.0
    client = "retroflow_jira._client:JiraClient"
    settings_class = "retroflow_jira.settings:JiraSettings"


retroflow_register_settings, retroflow_register_tracker_sinks, __getattr__ = sink_module(JiraSink)
