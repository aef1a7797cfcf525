"""retroflow-linear: a tracker sink that exports retro actions to Linear (GraphQL).

Registered through the ``retroflow`` entry point as the plugin ``linear``; configured by the
``[plugins.linear]`` table (:class:`LinearSettings`); used with ``retroflow export --sink linear``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.trackers import SinkBase, lazy_exports, sink_hooks

if TYPE_CHECKING:
    from retroflow_linear._client import LinearClient
    from retroflow_linear.settings import LinearSettings

__all__ = ["LinearClient", "LinearSettings", "LinearSink"]


class LinearSink(SinkBase):
    """The ``linear`` tracker sink (``sleep`` and ``clock`` are injectable for tests)."""

    name = "linear"  # also the settings table, [plugins.linear]
    required = "token and team_id"
    #: One ``issueCreate`` per issue; a small batch bounds a call.
    max_batch = 20
    #: ``find`` looks the issue up by its id; and should it miss a fresh issue, the re-create
    #: collides on that id and returns the issue, so no wait is needed.
    search_lag = 0.0
    client = "retroflow_linear._client:LinearClient"
    settings_class = "retroflow_linear.settings:LinearSettings"


# The client (and requests) and the settings are imported when first used, not when the
# plugin loads.
__getattr__ = lazy_exports(__name__, {"LinearClient": LinearSink.client, "LinearSettings": LinearSink.settings_class})


#: The plugin's hooks: the settings table and the sink.
retroflow_register_settings, retroflow_register_tracker_sinks = sink_hooks(LinearSink)
