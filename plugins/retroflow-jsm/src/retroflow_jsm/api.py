"""Talking to JSM Operations or Opsgenie over plain ``requests``: bounded retries, pages.

The two APIs are one mapping apart: JSM Operations (``api.atlassian.com/jsm/ops/api/
{cloudId}/v1/alerts``, basic auth with an Atlassian account's email and API token) is the
Opsgenie surface rehosted; Opsgenie (``api.opsgenie.com/v2/alerts``, ``GenieKey`` auth)
answers until 2027-04-05. A retro costs ``1 + ⌈logs/100⌉ + ⌈notes/100⌉`` requests (one more
for a list whose last page is exactly full). Retries come from :mod:`retroflow.http`, as
for every retroflow client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests
import structlog

from retroflow import SourceError, utcnow
from retroflow.http import SourceClient, json_or_none

from .replies import Replies, unwrap, unwrap_list
from .settings import TABLE, JsmSettings

__all__ = ["PAGE_SIZE", "AlertNotFound", "JsmApi"]

log = structlog.get_logger(__name__)
PAGE_SIZE = 100


class AlertNotFound(SourceError):
    """The API does not know the alert asked for (HTTP 404)."""


class JsmApi(SourceClient[requests.Response]):
    """GET requests to JSM Operations or Opsgenie (setting ``api``).

    :param session: a :class:`requests.Session` (tests pass one ``responses`` serves).
    :param sleep: how to wait before trying again (tests pass a recorder).
    :param clock: the current time, for ``Retry-After`` dates.
    """

    def __init__(
        self,
        settings: JsmSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if settings.token is None:
            raise SourceError(f"[plugins.{TABLE}] token is not set")
        if not settings.is_opsgenie and not (settings.cloud_id and settings.email):
            raise SourceError(f'[plugins.{TABLE}] cloud_id and email are needed for api = "jsm"')
        self.settings = settings
        opened = session or requests.Session()
        headers = {"Accept": "application/json", "User-Agent": "retroflow-jsm"}
        if settings.is_opsgenie:
            headers["Authorization"] = f"GenieKey {settings.token.reveal()}"
        else:
            opened.auth = (str(settings.email), settings.token.reveal())
        super().__init__(
            self._name,
            TABLE,
            settings,
            session=opened,
            headers=headers,
            sleep=sleep,
            clock=clock,
            transport_errors=(requests.RequestException,),
        )
        self._alerts = settings.base_url + ("/v2/alerts" if settings.is_opsgenie else "/v1/alerts")

    def get(self, url: str, params: Mapping[str, Any], *, what: str) -> Any:
        """The decoded JSON of ``GET url``; 429, 5xx and network failures are tried again
        within the budget.

        :raises AlertNotFound: 404.
        :raises SourceError: refused (naming the settings, never the token), or still failing
            when the budget is spent.
        """
        response = self.send_get(url, params=params, what=what)
        if response.status_code < 300:
            return json_or_none(response)
        if response.status_code == 404:
            raise AlertNotFound(f"{what}: not found (HTTP 404)")
        raise SourceError(self._refusal(response, what))

    @property
    def _name(self) -> str:
        return "Opsgenie" if self.settings.is_opsgenie else "Jira Service Management"

    def _refusal(self, response: requests.Response, what: str) -> str:
        """The API's own words (``message``, or ``errors`` titles), never the token."""
        status = response.status_code
        body = json_or_none(response)
        said = ""
        if isinstance(body, Mapping):
            errors = body.get("errors")
            details = (
                [e.get("detail") or e.get("title") for e in errors if isinstance(e, Mapping)]
                if isinstance(errors, list)
                else []
            )
            said = str(body.get("message") or "; ".join(str(d) for d in details if d))[:300]
        said = f": {said}" if said else ""
        if status in (401, 403):
            keys = "token" if self.settings.is_opsgenie else "email, token and cloud_id"
            hint = (
                'an Opsgenie API key that may read alerts, of the account\'s region (api = "opsgenie-eu" for EU)'
                if self.settings.is_opsgenie
                else "the account needs JSM Operations access and the read:ops-alert scope"
            )
            return f"{self._name} refused {what} (HTTP {status}){said}: check [plugins.{TABLE}] {keys}; {hint}"
        return f"{self._name} refused {what} (HTTP {status}){said}"

    # --- one alert ------------------------------------------------------------------------

    def collect(self, identifier: str, *, tiny: bool = False) -> Replies:
        """The alert (by id, or by tiny id on Opsgenie), its logs and its notes."""
        params = {"identifierType": "tiny" if tiny else "id"} if self.settings.is_opsgenie else {}
        alert = unwrap(self.get(f"{self._alerts}/{quote(identifier, safe='')}", params, what=f"alert {identifier}"))
        if not isinstance(alert, Mapping) or not alert.get("id"):
            raise SourceError(f"{self._name} answered the alert request without an alert")
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
            reply = self.get(url, params, what=f"{name} of alert {alert_id}, page {page}")
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
