"""retroflow-github: a tracker sink that exports retro actions to GitHub Issues, and a
timeline source of deploy history.

The sink is registered through the ``retroflow`` entry point as the plugin ``github``;
configured by the ``[plugins.github]`` table (:class:`GitHubSettings`); used with
``retroflow export --sink github``. The source is the plugin ``github-deploys``
(:mod:`retroflow_github.deploys`, ``[plugins.github-deploys]``). Both send their requests
through :class:`retroflow_github._http.GitHubHttp`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from retroflow import Secret
from retroflow.trackers import SinkBase, TrackerSettings, lazy_exports, sink_hooks

if TYPE_CHECKING:
    from retroflow_github._client import GitHubClient

__all__ = ["GitHubClient", "GitHubSettings", "GitHubSink"]


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


class GitHubSink(SinkBase):
    """The ``github`` tracker sink (``sleep`` and ``clock`` are injectable for tests)."""

    name = "github"  # also the settings table, [plugins.github]
    required = "repo and token"
    #: One request per issue (GitHub has no bulk create); a small batch bounds a call.
    max_batch = 20
    #: ``find`` lists issues rather than searching (the search index trails by minutes);
    #: the list can still trail a create by a moment on a replica.
    search_lag = 10.0
    client = "retroflow_github._client:GitHubClient"


# The client (and requests) is imported when first used, not when the plugin loads.
__getattr__ = lazy_exports(__name__, {"GitHubClient": GitHubSink.client})


#: The plugin's hooks: the settings table and the sink.
retroflow_register_settings, retroflow_register_tracker_sinks = sink_hooks(GitHubSink, GitHubSettings)
