"""Talking to Datadog's Events API v2 over plain ``requests``: bounded retries, cursor pages.

Retries come from :mod:`retroflow.http` (``Retry-After`` parsing, back-off, the retry
budget, the retry loop), so every retroflow client waits out rate limits the same way. One search
(``GET /api/v2/events``) finds the monitor alerts and the changes of the incident's services
in its window: ``⌈events / page_size⌉`` requests, at most ``max_pages``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs
import requests
import structlog

from retroflow import SourceError, format_timestamp, utcnow
from retroflow.http import SourceClient, asked_or_backoff, json_or_none

from .settings import TABLE, DatadogSettings

__all__ = ["DatadogApi", "EventPages", "search_query"]

log = structlog.get_logger(__name__)
EVENTS_PATH = "/api/v2/events"
_KEYS = f"[plugins.{TABLE}] api_key and app_key"


@attrs.frozen
class EventPages:
    """The events one search found, and what the page limit left out."""

    events: list[Any]
    truncated: bool = False


def search_query(selectors: list[str], change_sources: list[str]) -> str:
    """The event search: monitor alerts and changes, of the services' tags and monitors."""
    sources = " OR ".join(["alert", *change_sources])
    query = f"source:({sources})"
    return f"{query} ({' OR '.join(selectors)})" if selectors else query


class DatadogApi(SourceClient[requests.Response]):
    """GET requests to one Datadog site with the API and application keys.

    :param session: a :class:`requests.Session` (tests pass one ``responses`` serves).
    :param sleep: how to wait before trying again (tests pass a recorder).
    :param clock: the current time, for ``Retry-After`` dates.
    """

    def __init__(
        self,
        settings: DatadogSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if settings.api_key is None or settings.app_key is None:
            raise SourceError(f"{_KEYS} are not both set")
        self.settings = settings
        keys = {"DD-API-KEY": settings.api_key.reveal(), "DD-APPLICATION-KEY": settings.app_key.reveal()}
        super().__init__(
            "Datadog",
            TABLE,
            settings,
            session=session or requests.Session(),
            headers={"Accept": "application/json", "User-Agent": "retroflow-datadog", **keys},
            sleep=sleep,
            clock=clock,
            transport_errors=(requests.RequestException,),
            wait=self._wait,
            place=f"at {settings.api_url}",
        )

    def get(self, path: str, params: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """The JSON object of ``GET path``; 429, 5xx and network failures are tried again
        within the budget (``X-RateLimit-Reset`` or ``Retry-After`` honoured).

        :raises SourceError: refused (naming the settings, never the keys), or still failing
            when the budget is spent.
        """
        response = self.send_get(self.settings.api_url + path, params=params, what=what)
        if response.status_code < 300:
            return _decoded(response, what)
        raise SourceError(_refusal(response, what))

    def _wait(self, response: requests.Response, attempt: int) -> float:
        """Seconds to wait: ``X-RateLimit-Reset`` (seconds until the window resets), else
        ``Retry-After``, else back-off."""
        reset = response.headers.get("X-RateLimit-Reset", "").strip()
        if reset.isdigit():
            return float(reset)
        return asked_or_backoff(response.headers, attempt, self._clock)

    def search(self, query: str, start: datetime, end: datetime) -> EventPages:
        """Every event matching ``query`` between ``start`` and ``end``, oldest first,
        following ``meta.page.after`` for at most ``max_pages`` pages."""
        params: dict[str, Any] = {
            "filter[query]": query,
            "filter[from]": format_timestamp(start),
            "filter[to]": format_timestamp(end),
            "sort": "timestamp",
            "page[limit]": self.settings.page_size,
        }
        events: list[Any] = []
        for page in range(1, self.settings.max_pages + 1):
            reply = self.get(EVENTS_PATH, params, what=f"events page {page}")
            data = reply.get("data")
            events.extend(data if isinstance(data, list) else [])
            cursor = _cursor(reply)
            if not data or cursor is None:
                return EventPages(events)
            params["page[cursor]"] = cursor
        return EventPages(events, truncated=True)


def _cursor(reply: Mapping[str, Any]) -> str | None:
    meta = reply.get("meta")
    page = meta.get("page") if isinstance(meta, Mapping) else None
    after = page.get("after") if isinstance(page, Mapping) else None
    return after if isinstance(after, str) and after else None


def _decoded(response: requests.Response, what: str) -> dict[str, Any]:
    body = json_or_none(response)
    if not isinstance(body, dict):
        raise SourceError(f"Datadog answered {what} with something that is not a JSON object")
    return body


def _refusal(response: requests.Response, what: str) -> str:
    """Datadog's own words about a refused request (its ``errors`` list; never headers,
    so never the keys)."""
    status = response.status_code
    body = json_or_none(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    said = "; ".join(map(str, errors[:3]))[:300] if isinstance(errors, list) else ""
    said = f": {said}" if said else ""
    if status in (401, 403):
        hint = (
            "the keys are invalid, or belong to another site (setting `site`)"
            if status == 401
            else "the application key needs the events_read permission"
        )
        return f"Datadog refused {what} (HTTP {status}){said}: check {_KEYS}; {hint}"
    return f"Datadog refused {what} (HTTP {status}){said}"
