"""retroflow-linear: a tracker sink that exports retro actions to Linear (GraphQL).

Registered through the ``retroflow`` entry point as the plugin ``linear``; configured by the
``[plugins.linear]`` table (:class:`LinearSettings`); used with ``retroflow export --sink linear``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import attrs

from retroflow import Secret
from retroflow.trackers import SinkBase, TrackerSettings, lazy_exports, sink_hooks

if TYPE_CHECKING:
    from retroflow_linear._client import LinearClient

__all__ = ["LinearClient", "LinearSettings", "LinearSink"]


@attrs.frozen
class LinearSettings(TrackerSettings):
    """``[plugins.linear]``, besides the request settings of :class:`~retroflow.trackers.TrackerSettings`.

    :ivar token: an environment reference (``"env:LINEAR_API_KEY"``) to a personal API key
        (sent as ``Authorization: <key>``) or, with ``auth = "oauth"``, an OAuth access token
        (sent as ``Authorization: Bearer <token>``).
    :ivar team_id: the id of the team issues are created in.
    :ivar auth: ``"key"`` (personal API key) or ``"oauth"``.
    :ivar label_ids: ids of labels every issue gets.
    :ivar assignees: ``"owner=userId"`` entries mapping an action's owner to a Linear user id.
    :ivar api_url: the GraphQL endpoint.
    """

    token: Secret
    team_id: str
    auth: Literal["key", "oauth"] = "key"
    label_ids: list[str] = attrs.field(factory=list)
    assignees: list[str] = attrs.field(factory=list)
    api_url: str = "https://api.linear.app/graphql"


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


# The client (and requests) is imported when first used, not when the plugin loads.
__getattr__ = lazy_exports(__name__, {"LinearClient": LinearSink.client})


#: The plugin's hooks: the settings table and the sink.
retroflow_register_settings, retroflow_register_tracker_sinks = sink_hooks(LinearSink, LinearSettings)
