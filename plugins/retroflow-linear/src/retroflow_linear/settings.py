"""``[plugins.linear]``: :class:`LinearSettings`, imported when settings are read (the package
exports it; loading the plugin does not import it)."""

from __future__ import annotations

from typing import Literal

import attrs

from retroflow import Secret
from retroflow.trackers import TrackerSettings

__all__ = ["LinearSettings"]


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
