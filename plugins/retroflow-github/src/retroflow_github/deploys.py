"""The ``github-deploys`` timeline source: what was deployed and released around an incident.

Deployments with their statuses (of the environments asked for), releases, and the runs of
named deploy workflows on the default branch, from GitHub's REST API or from a directory
of saved replies. Configured in ``[plugins.github-deploys]``, apart from the issue sink's
``[plugins.github]``: a source needs neither the sink's repository nor write access.

It asks for the ``incident`` and ``timeline`` the other sources give, so retroflow calls it
after them; it reads from ``window_hours`` before the incident began until it resolved.
The HTTP client (and ``requests``) is imported when the source first runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from retroflow import utcnow
from retroflow.lazy import lazy_exports
from retroflow.sources import ChangeSource

if TYPE_CHECKING:
    from retroflow import Config, SourceResult
    from retroflow.sources import ChangeWindow as Window

    from .deploy_settings import DeployRepo, GitHubDeploySettings

# The model, the settings and the window are imported when the source runs: every command
# loads every plugin.

__all__ = ["TABLE", "DeployRepo", "GitHubDeploySettings", "GitHubDeploySource", "Window", "plugin"]

TABLE = "github-deploys"


class GitHubDeploySource(ChangeSource):
    """The plugin; :data:`plugin` is the instance the entry point registers. Tests pass a
    ``session`` (mocked), a ``sleep`` that does not sleep and a fixed ``clock``."""

    table = TABLE
    settings_class = "retroflow_github.deploy_settings:GitHubDeploySettings"

    def __init__(
        self,
        *,
        session: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(session=session, sleep=sleep, now=clock)

    def collect(self, settings: GitHubDeploySettings, window: Window, config: Config) -> SourceResult:
        from ._deploys import DeployHistory  # the HTTP client: imported when used

        history = DeployHistory.open(
            settings,
            where=f"{config.label}: [plugins.{TABLE}]",
            session=self._session,
            sleep=self._sleep,
            clock=self._now,
        )
        return history.collect(window)


#: The instance the ``retroflow`` entry point registers.
plugin = GitHubDeploySource()


__getattr__ = lazy_exports(
    __name__,
    {
        "DeployRepo": "retroflow_github.deploy_settings:DeployRepo",
        "GitHubDeploySettings": "retroflow_github.deploy_settings:GitHubDeploySettings",
        "Window": "retroflow.sources:ChangeWindow",
    },
)
