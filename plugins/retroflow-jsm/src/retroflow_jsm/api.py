"""Talking to JSM Operations or Opsgenie over plain ``requests``: bounded retries, pages.

The two APIs are one mapping apart: JSM Operations (``api.atlassian.com/jsm/ops/api/
{cloudId}/v1/alerts``, basic auth with an Atlassian account's email and API token) is the
Opsgenie surface rehosted; Opsgenie (``api.opsgenie.com/v2/alerts``, ``GenieKey`` auth)
answers until 2027-04-05. A retro costs ``1 + ⌈logs/100⌉ + ⌈notes/100⌉`` requests (one more
for a list whose last page is exactly full). Retries come from :mod:`retroflow.http`, as
for every retroflow client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests
import structlog

from retroflow import SourceError
from retroflow.sources import SourceApi

from .replies import Replies, unwrap, unwrap_list
from .settings import TABLE, JsmSettings

__all__ = ["PAGE_SIZE", "AlertNotFound", "JsmApi"]

log = structlog.get_logger(__name__)
PAGE_SIZE = 100


class AlertNotFound(SourceError):
    """The API does not know the alert asked for (HTTP 404)."""


class JsmApi(SourceApi):
    """GET requests to JSM Operations or Opsgenie (setting ``api``)."""

    table = TABLE
    not_found = AlertNotFound

    @property
    def service(self) -> str:
        return "Opsgenie" if self.settings.is_opsgenie else "Jira Service Management"

    @property
    def _alerts(self) -> str:
        return str(self.settings.base_url) + ("/v2/alerts" if self.settings.is_opsgenie else "/v1/alerts")

    def credentials(self, session: requests.Session) -> dict[str, str]:
        """A ``GenieKey`` header (Opsgenie), or basic auth with the email (JSM)."""
        settings: JsmSettings = self.settings
        if settings.token is None:
            raise SourceError(f"[plugins.{TABLE}] token is not set")
        if settings.is_opsgenie:
            return {"Authorization": f"GenieKey {settings.token.reveal()}"}
        if not (settings.cloud_id and settings.email):
            raise SourceError(f'[plugins.{TABLE}] cloud_id and email are needed for api = "jsm"')
        session.auth = (settings.email, settings.token.reveal())
        return {}

    def said(self, body: Any) -> str:
        """The API's ``message``, or its ``errors``' details or titles."""
        if not isinstance(body, Mapping):
            return ""
        errors = body.get("errors")
        details = (
            [e.get("detail") or e.get("title") for e in errors if isinstance(e, Mapping)]
            if isinstance(errors, list)
            else []
        )
        return str(body.get("message") or "; ".join(str(d) for d in details if d))

    def hint(self, status: int) -> str:
        if self.settings.is_opsgenie:
            return (
                f"check [plugins.{TABLE}] token; an Opsgenie API key that may read alerts, of the account's region "
                '(api = "opsgenie-eu" for EU)'
            )
        return (
            f"check [plugins.{TABLE}] email, token and cloud_id; "
            "the account needs JSM Operations access and the read:ops-alert scope"
        )

    # --- one alert ------------------------------------------------------------------------

    def collect(self, identifier: str, *, tiny: bool = False) -> Replies:
        """The alert (by id, or by tiny id on Opsgenie), its logs and its notes."""
        params = {"identifierType": "tiny" if tiny else "id"} if self.settings.is_opsgenie else {}
        alert = unwrap(
            self.get_json(f"{self._alerts}/{quote(identifier, safe='')}", params=params, what=f"alert {identifier}")
        )
        if not isinstance(alert, Mapping) or not alert.get("id"):
            raise SourceError(f"{self.service} answered the alert request without an alert")
        alert_id = str(alert["id"])
        limits: list[str] = []
        logs = self._list(alert_id, "logs", limits)
        notes = self._list(alert_id, "notes", limits)
        return Replies(alert=alert, logs=logs, notes=notes, notes_on_limits=limits)

    def _list(self, alert_id: str, name: str, limits: list[str]) -> list[Any]:
        """Every entry of the alert's logs or notes, oldest first, page by page."""
        url = f"{self._alerts}/{quote(alert_id, safe='')}/{name}"
        params: dict[str, Any] = {"order": "asc"}
        if self.settings.is_opsgenie:
            params.update(identifierType="id", direction="next", limit=PAGE_SIZE)
        else:
            params["size"] = PAGE_SIZE
        items: list[Any] = []
        for page in range(1, self.settings.max_pages + 1):
            reply = self.get_json(url, params=params, what=f"{name} of alert {alert_id}, page {page}")
            found = unwrap_list(reply)
            if found is None:
                limits.append(f"{name}: page {page} holds no list")
                return items
            items.extend(found)
            cursor = _next_cursor(reply, found)
            if cursor is None:
                return items
            params["offset" if self.settings.is_opsgenie else "after"] = cursor
        limits.append(f"{name}: more than {self.settings.max_pages} pages; the first {len(items)} kept")
        return items


def _next_cursor(reply: Any, page: list[Any]) -> str | None:
    """Where the next page starts: the ``offset``/``after`` of the reply's next link, else
    the last entry's ``offset``; ``None`` after a page that is not full."""
    if len(page) < PAGE_SIZE:
        return None
    links = reply.get("paging") or reply.get("links") if isinstance(reply, Mapping) else None
    following = links.get("next") if isinstance(links, Mapping) else None
    if isinstance(following, str):
        query = parse_qs(urlsplit(following).query)
        for key in ("after", "offset"):
            if query.get(key):
                return query[key][0]
    last = page[-1]
    offset = last.get("offset") if isinstance(last, Mapping) else None
    return offset if isinstance(offset, str) and offset else None
