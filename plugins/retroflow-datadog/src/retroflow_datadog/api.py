"""Talking to Datadog's Events API v2 over plain ``requests``: bounded retries, cursor pages.

Waits come from :mod:`retroflow.trackers` (``Retry-After`` parsing, back-off, the retry
budget), so every retroflow client waits out rate limits the same way. One search
(``GET /api/v2/events``) finds the monitor alerts and the changes of the incident's services
in its window: ``⌈events / page_size⌉`` requests, at most ``max_pages``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import requests
import structlog

from retroflow import SourceError, format_timestamp
from retroflow.trackers import RetryBudget, backoff, describe, json_or_none, rate_limit_error, retry_after_seconds

from .settings import TABLE, DatadogSettings

__all__ = ["DatadogApi", "EventPages", "search_query"]

log = structlog.get_logger(__name__)
EVENTS_PATH = "/api/v2/events"
_KEYS = f"[plugins.{TABLE}] api_key and app_key"


@attrs.frozen
class _RetryLimits:
    """The request settings :class:`RetryBudget` reads, from this plugin's names."""

    timeout: float
    max_retry_wait: float
    max_retries: int


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


class DatadogApi:
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
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if settings.api_key is None or settings.app_key is None:
            raise SourceError(f"{_KEYS} are not both set")
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._limits = _RetryLimits(settings.request_timeout, settings.max_retry_wait, settings.max_retries)
        self._session = session or requests.Session()
        self._session.headers.update(
            {
                "Accept": "application/json",
                "User-Agent": "retroflow-datadog",
                "DD-API-KEY": settings.api_key.reveal(),
                "DD-APPLICATION-KEY": settings.app_key.reveal(),
            }
        )

    def close(self) -> None:
        self._session.close()

    def get(self, path: str, params: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """The JSON object of ``GET path``; 429, 5xx and network failures are tried again
        within the budget (``X-RateLimit-Reset`` or ``Retry-After`` honoured).

        :raises SourceError: refused (naming the settings, never the keys), or still failing
            when the budget is spent.
        """
        budget = RetryBudget(self._limits, self._sleep)
        url = self.settings.api_url + path
        while True:
            response: requests.Response | None = None
            try:
                response = self._session.get(url, params=dict(params), timeout=self.settings.request_timeout)
            except requests.RequestException as exc:
                failure = describe(exc)
            if response is None:  # raised here, outside the except block: no context to leak
                wait = backoff(budget.attempt)
                if budget.exceeded(wait):
                    raise SourceError(
                        f"Datadog at {self.settings.api_url} unreachable ({what}): {failure}, {budget.attempt + 1} tries"
                    )
                budget.spend(wait)
                continue
            status = response.status_code
            if status < 300:
                return _decoded(response, what)
            if status != 429 and status < 500:
                raise SourceError(_refusal(response, what))
            wait = self._wait(response, budget.attempt)
            if budget.exceeded(wait):
                if status == 429:
                    raise SourceError(rate_limit_error("Datadog", TABLE, what, wait, self.settings.max_retry_wait))
                raise SourceError(f"Datadog failed with HTTP {status} ({what}), {budget.attempt + 1} tries")
            log.warning("datadog retrying", what=what, status=status, wait=wait, attempt=budget.attempt + 1)
            budget.spend(wait)

    def _wait(self, response: requests.Response, attempt: int) -> float:
        """Seconds to wait: ``X-RateLimit-Reset`` (seconds until the window resets), else
        ``Retry-After``, else back-off."""
        reset = response.headers.get("X-RateLimit-Reset", "").strip()
        if reset.isdigit():
            return float(reset)
        asked = retry_after_seconds(response.headers.get("Retry-After"), self._clock)
        return backoff(attempt) if asked is None else asked

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
