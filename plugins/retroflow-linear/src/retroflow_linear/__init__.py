"""retroflow-linear: a tracker sink that exports retro actions to Linear (GraphQL)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.trackers import SinkBase, sink_module

if TYPE_CHECKING:
    from retroflow_linear._client import LinearClient
    from retroflow_linear.settings import LinearSettings

__all__ = ["LinearClient", "LinearSettings", "LinearSink"]


class LinearSink(SinkBase):
    """The ``linear`` tracker sink: one ``issueCreate`` per issue."""

    name = "linear"
    #: ``find`` looks the issue up by its id; and should it miss a fresh issue, the re-create
    #: collides on that id and returns the issue, so no wait is needed.
    search_lag = 0.0
    client = "retroflow_linear._client:LinearClient"
    settings_class = "retroflow_linear.settings:LinearSettings"


retroflow_register_settings, retroflow_register_tracker_sinks, __getattr__ = sink_module(LinearSink)
