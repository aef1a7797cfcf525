"""Talking to Datadog's Events API v2 over plain ``requests``: bounded retries, cursor pages.

Retries come from :mod:`retroflow.http` (``Retry-After`` parsing, back-off, the retry
budget, the retry loop), so every retroflow client waits out rate limits the same way. One search
(``GET /api/v2/events``) finds the monitor alerts and the changes of the incident's services
in its window: ``⌈events / page_size⌉`` requests, at most ``max_pages``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs
import requests
import structlog

from retroflow import SourceError, format_timestamp
from retroflow.sources import SourceApi

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


class DatadogApi(SourceApi):
    """GET requests to one Datadog site with the API and application keys."""

    service = "Datadog"
    table = TABLE

    @property
    def place(self) -> str:
        return f"at {self.settings.api_url}"

    def credentials(self, session: requests.Session) -> dict[str, str]:
        settings: DatadogSettings = self.settings
        if settings.api_key is None or settings.app_key is None:
            raise SourceError(f"{_KEYS} are not both set")
        return {"DD-API-KEY": settings.api_key.reveal(), "DD-APPLICATION-KEY": settings.app_key.reveal()}

    def get(self, path: str, params: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """The JSON object of ``GET path``; 429, 5xx and network failures are tried again
        within the budget (``X-RateLimit-Reset`` or ``Retry-After`` honoured).

        :raises SourceError: refused (naming the settings, never the keys), not a JSON
            object, or still failing when the budget is spent.
        """
        body = self.get_json(self.settings.api_url + path, params=params, what=what)
        if not isinstance(body, dict):
            raise SourceError(f"Datadog answered {what} with something that is not a JSON object")
        return body

    def wait(self, response: requests.Response, attempt: int) -> float:
        """Seconds to wait: ``X-RateLimit-Reset`` (seconds until the window resets), else
        ``Retry-After``, else back-off."""
        reset = response.headers.get("X-RateLimit-Reset", "").strip()
        if reset.isdigit():
            return float(reset)
        return super().wait(response, attempt)

    def said(self, body: Any) -> str:
        """Datadog's ``errors`` list (the first three)."""
        errors = body.get("errors") if isinstance(body, dict) else None
        return "; ".join(map(str, errors[:3])) if isinstance(errors, list) else ""

    def hint(self, status: int) -> str:
        if status == 401:
            return f"check {_KEYS}; the keys are invalid, or belong to another site (setting `site`)"
        return f"check {_KEYS}; the application key needs the events_read permission"

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
