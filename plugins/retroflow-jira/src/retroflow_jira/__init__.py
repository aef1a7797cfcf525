"""retroflow-jira: a tracker sink that exports retro actions to Jira and reads their status.

Registered through the ``retroflow`` entry point as the plugin ``jira``; configured by the
``[plugins.jira]`` table (:class:`JiraSettings`); used with ``retroflow export --sink jira``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import attrs

from retroflow import Secret
from retroflow.trackers import SinkBase, TrackerSettings, lazy_exports, sink_hooks

if TYPE_CHECKING:
    from retroflow_jira._client import JiraClient

__all__ = ["JiraClient", "JiraSettings", "JiraSink"]


@attrs.frozen
class JiraSettings(TrackerSettings):
    """``[plugins.jira]``, besides the request settings of :class:`~retroflow.trackers.TrackerSettings`.

    :ivar url: the site, e.g. ``https://example.atlassian.net`` or a Server/Data Center base URL.
    :ivar project: the project key tickets are created in, e.g. ``OPS``.
    :ivar token: an environment reference (``"env:JIRA_TOKEN"``): a Cloud API token, or a
        Server/Data Center personal access token.
    :ivar email: the Atlassian account the API token belongs to (Cloud only).
    :ivar deployment: ``"cloud"`` (basic auth with email and API token, search through
        ``/search/jql``) or ``"server"`` (bearer personal access token, ``/search``).
    :ivar issue_type: the issue type name (or numeric id) of created tickets.
    :ivar labels: labels every ticket gets, besides ``retroflow`` and its idempotency label.
    :ivar assignees: ``"owner=accountId"`` entries (``owner=username`` on Server) mapping an
        action's owner to a Jira user; owners not listed leave the ticket unassigned.
    :ivar priority: set the priority from the action's score (turn off when the project's
        create screen has no priority field).
    :ivar due_date: set the due date from the action's (turn off when the create screen has
        no due date field).
    :ivar wont_do_resolutions: resolutions that make a done ticket count as "won't do".
    :ivar remote_link: add a remote link from each ticket to the incident and the retro.
    """

    url: str
    project: str
    token: Secret
    email: str | None = None
    deployment: Literal["cloud", "server"] = "cloud"
    issue_type: str = "Task"
    labels: list[str] = attrs.field(factory=list)
    assignees: list[str] = attrs.field(factory=list)
    priority: bool = True
    due_date: bool = True
    wont_do_resolutions: list[str] = attrs.field(
        factory=lambda: ["Won't Do", "Won't Fix", "Declined", "Duplicate", "Cannot Reproduce"]
    )
    remote_link: bool = True


class JiraSink(SinkBase):
    """The ``jira`` tracker sink.

    ``sleep`` and ``clock`` are injectable so tests never wait for real.
    """

    name = "jira"  # also the settings table, [plugins.jira]
    required = "url, project and token"
    #: Jira's bulk create takes at most 50 issues per request.
    max_batch = 50
    #: Jira Cloud search is eventually consistent: a new ticket may take seconds to minutes
    #: to show up in ``find``.
    search_lag = 120.0
    client = "retroflow_jira._client:JiraClient"


# The client (and the jira client library) is imported when first used, not when the plugin loads.
__getattr__ = lazy_exports(__name__, {"JiraClient": JiraSink.client})


#: The plugin's hooks: the settings table and the sink.
retroflow_register_settings, retroflow_register_tracker_sinks = sink_hooks(JiraSink, JiraSettings)
