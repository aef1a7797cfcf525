"""``[plugins.jira]``: :class:`JiraSettings`, imported when settings are read (the package
exports it; loading the plugin does not import it)."""

from __future__ import annotations

from typing import Literal

import attrs

from retroflow import Secret
from retroflow.trackers import TrackerSettings

__all__ = ["JiraSettings"]


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
