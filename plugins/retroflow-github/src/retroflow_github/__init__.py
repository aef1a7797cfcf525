"""retroflow-github: a tracker sink that exports retro actions to GitHub Issues, and a
timeline source of deploy history.

The sink is the plugin ``github``, the source the plugin ``github-deploys``
(:mod:`retroflow_github.deploys`, ``[plugins.github-deploys]``). Both send their requests
through :class:`retroflow_github._http.GitHubHttp`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.trackers import SinkBase, sink_module

if TYPE_CHECKING:
    from retroflow_github._client import GitHubClient
    from retroflow_github.settings import GitHubSettings

__all__ = ["GitHubClient", "GitHubSettings", "GitHubSink"]


class GitHubSink(SinkBase):
    """The ``github`` tracker sink: one request per issue (GitHub has no bulk create)."""

    name = "github"
    #: ``find`` lists issues rather than searching (the search index trails by minutes);
    #: the list can still trail a create by a moment on a replica.
    search_lag = 10.0
    client = "retroflow_github._client:GitHubClient"
    settings_class = "retroflow_github.settings:GitHubSettings"


retroflow_register_settings, retroflow_register_tracker_sinks, __getattr__ = sink_module(GitHubSink)
