"""``[plugins.github]``: :class:`GitHubSettings`, imported when settings are read (the package
exports it; loading the plugin does not import it)."""

from __future__ import annotations

import attrs

from retroflow import Secret
from retroflow.trackers import TrackerSettings

__all__ = ["GitHubSettings"]


@attrs.frozen
class GitHubSettings(TrackerSettings):
    """``[plugins.github]``, besides the request settings of :class:`~retroflow.trackers.TrackerSettings`.

    :ivar repo: the repository issues are created in, ``"owner/name"``.
    :ivar token: an environment reference (``"env:GITHUB_TOKEN"``) to a token with Issues
        read and write access to ``repo`` (sent as ``Authorization: Bearer``).
    :ivar api_url: the REST API root; ``https://HOST/api/v3`` for GitHub Enterprise Server.
    :ivar labels: labels every issue gets.
    :ivar marker_label: the label that marks retroflow's issues; :meth:`find` lists issues
        with it. Setting labels needs push access: GitHub silently drops them otherwise.
    :ivar assignees: ``"owner=login"`` entries mapping an action's owner to a GitHub login.
    :ivar in_progress_labels: labels that make an open issue count as "in progress".
    """

    repo: str
    token: Secret
    api_url: str = "https://api.github.com"
    labels: list[str] = attrs.field(factory=list)
    marker_label: str = "retroflow"
    assignees: list[str] = attrs.field(factory=list)
    in_progress_labels: list[str] = attrs.field(factory=lambda: ["in progress"])
