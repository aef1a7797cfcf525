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

from retroflow.trackers import SinkBase, lazy_exports, sink_hooks

if TYPE_CHECKING:
    from retroflow_github._client import GitHubClient
    from retroflow_github.settings import GitHubSettings

__all__ = ["GitHubClient", "GitHubSettings", "GitHubSink"]


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
    settings_class = "retroflow_github.settings:GitHubSettings"


# The client (and requests) and the settings are imported when first used, not when the
# plugin loads.
__getattr__ = lazy_exports(__name__, {"GitHubClient": GitHubSink.client, "GitHubSettings": GitHubSink.settings_class})


#: The plugin's hooks: the settings table and the sink.
retroflow_register_settings, retroflow_register_tracker_sinks = sink_hooks(GitHubSink)
