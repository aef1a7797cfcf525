"""Talking to the PagerDuty REST API v2: bounded retries, and the fewest round trips.

The ``pagerduty`` client (:class:`pagerduty.RestApiV2Client`, on httpx2) sends the
requests; this module decides when to try again, because the client on its own retries a
429 without limit and ignores ``ratelimit-reset`` and ``Retry-After``. The client is set to
make exactly one attempt per call (see :func:`_single_attempt`), and :class:`PagerDutyApi`
retries with bounds from the settings, with an injectable ``sleep``.

:class:`IncidentCollector` fetches everything one retro needs: the incident, its log
entries, alerts and notes, and past incidents of its services. First pages ask for
``total=true`` so the remaining pages can all be requested at once: an incident costs
``1 + ⌈log entries/100⌉ + ⌈alerts/100⌉ + 1`` requests in two round trips (three when
the incident is given by number, whose id must be learnt first).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import attrs
import httpx2
import pagerduty

from retroflow import RetroflowError, SourceError, format_timestamp, parse_timestamp, utcnow
from retroflow.http import error_text, retry_after_seconds

from .replies import IncidentNotFound, Replies, Sleep
from .settings import PagerDutySettings
from .tls import ssl_context, tls_problem

__all__ = [
    "INCIDENT_INCLUDES",
    "PAGE_SIZE",
    "PAGINATION_LIMIT",
    "IncidentCollector",
    "IncidentNotFound",
    "PagerDutyApi",
    "Replies",
    "Sleep",
]

#: The most results one page may hold, and the API's bound on ``offset + limit``.
PAGE_SIZE = 100
PAGINATION_LIMIT = 10_000
#: The API refuses ``since``/``until`` ranges longer than six months.
MAX_RANGE = timedelta(days=180)

INCIDENT_INCLUDES = [
    "acknowledgers",
    "assignees",
    "conference_bridge",
    "escalation_policies",
    "first_trigger_log_entries",
    "priorities",
    "services",
    "teams",
]
LOG_ENTRY_PARAMS: dict[str, Any] = {"include[]": ["channels"], "is_overview": "false"}
_SETTING = "[plugins.pagerduty] token"


def _single_attempt(client: pagerduty.RestApiV2Client) -> None:
    """Make the client try each request once and hand back whatever came.

    * network errors: ``max_network_attempts = 0`` raises :class:`pagerduty.Error` on the
      first one;
    * 429: a positive ``retry`` count is checked against ``max_http_attempts`` before the
      first retry (``sum(attempts) > max_http_attempts``), so ``-1`` returns the response
      at once; without a ``retry`` entry the client would retry 429 for ever;
    * 5xx: returned as they are (no ``retry`` entry);
    * 401: the client raises :class:`pagerduty.HttpError` carrying the response.

    ``tests/test_failures.py`` pins this: one HTTP request per attempt.
    """
    client.max_network_attempts = 0
    client.retry = {429: 1}
    client.max_http_attempts = -1


def _retry_after(response: httpx2.Response, clock: Callable[[], datetime]) -> float | None:
    """Seconds the API asked to wait: ``ratelimit-reset`` (seconds until the window
    resets), else ``Retry-After`` (seconds or an HTTP date), each read as every retroflow
    client reads ``Retry-After`` (:func:`retroflow.http.retry_after_seconds`: a date
    without a zone is GMT)."""
    for header in ("ratelimit-reset", "retry-after"):
        seconds = retry_after_seconds(response.headers.get(header), clock)
        if seconds is not None:
            return seconds
    return None


def _error_message(response: httpx2.Response) -> str:
    """PagerDuty's own words about a failed request (never headers, so never the key; a
    secret the API echoes is masked, see :func:`retroflow.http.error_text`)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return ""
    message = str(error.get("message") or "")
    errors = error.get("errors")
    if isinstance(errors, list) and errors:
        message = f"{message}: {'; '.join(map(str, errors[:3]))}"
    return error_text(message)


class PagerDutyApi:
    """GET requests to the REST API v2 with bounded retries.

    :param transport: an httpx2 transport (tests pass :class:`httpx2.MockTransport`).
    :param sleep: how to wait before trying again (tests pass a recorder).
    :param clock: the current time, for ``Retry-After`` dates.
    """

    def __init__(
        self,
        settings: PagerDutySettings,
        *,
        transport: httpx2.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if settings.token is None:
            raise SourceError(f"{_SETTING} is not set")
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        kwargs: dict[str, Any] = {} if transport is None else {"transport": transport}
        context = ssl_context(settings.ca_bundle)
        if context is not None:
            kwargs["verify"] = context
        self._client = pagerduty.RestApiV2Client(
            settings.token.reveal(), default_from=settings.from_email, base_url=settings.api, **kwargs
        )
        self._client.timeout = settings.request_timeout  # type: ignore[assignment]  # httpx2 takes seconds as float
        _single_attempt(self._client)

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, what: str) -> dict[str, Any]:
        """The decoded JSON object of ``GET path``.

        :param what: what is asked for, in words, for error messages.
        :raises IncidentNotFound: 404.
        :raises SourceError: refused (401/403, naming the setting, never the key), other
            4xx, or still failing after the bounded retries (429, 5xx, network).
        """
        response = self._answer("GET", path, what=what, error=SourceError, params=dict(params or {}))
        status = response.status_code
        if status < 300:
            return self._decode(response, what)
        if status in (401, 403):
            hint = (
                "the key is invalid or deactivated, or belongs to the other service region (setting `api`)"
                if status == 401
                else "the key may not read this"
            )
            raise SourceError(f"PagerDuty refused {what} (HTTP {status}): check {_SETTING}; {hint}")
        if status == 404:
            raise IncidentNotFound(f"{what} not found (HTTP 404)")
        if status == 429:
            raise SourceError(
                f"PagerDuty rate limit: {what} still refused after {self.settings.rate_limit_retries + 1} tries "
                "(HTTP 429); raise [plugins.pagerduty] rate_limit_retries or try later"
            )
        if status >= 500:
            tries = self.settings.retries + 1
            raise SourceError(f"PagerDuty API error: {what} failed {tries} time(s) (HTTP {status})")
        message = _error_message(response)
        raise SourceError(f"PagerDuty refused {what} (HTTP {status})" + (f": {message}" if message else ""))

    def _answer(
        self,
        method: str,
        path: str,
        *,
        what: str,
        error: type[RetroflowError],
        not_retried: str | None = None,
        **sent: Any,
    ) -> httpx2.Response:
        """PagerDuty's answer to ``method path`` (``sent``: the client's ``params``, ``json``)
        that is not tried again: a 429 is, within ``rate_limit_retries``, after the wait the
        API asks for; a 5xx and a network failure are, within ``retries``, after a back-off
        — unless the request is ``not_retried`` (what to say when it may have reached
        PagerDuty). A 401 the client raises is answered as it came.

        :raises RetroflowError: ``error``, when the network failures outlast the retries
            (see :meth:`_wait_after_network_error`) or a 401 comes without its response.
        """
        failures = rate_limited = 0
        while True:
            try:
                response: httpx2.Response = self._client.request(method, path, **sent)
            except pagerduty.HttpError as exc:  # 401: its message holds part of the key
                if exc.response is None:
                    raise error(f"PagerDuty refused {what}: check {_SETTING}") from None
                response = exc.response
            except pagerduty.Error as exc:  # a network error or timeout
                failures += 1
                self._wait_after_network_error(exc, what, failures, error, not_retried=not_retried)
                continue
            status = response.status_code
            if status == 429 and rate_limited < self.settings.rate_limit_retries:
                rate_limited += 1
                asked = _retry_after(response, self._clock)
                self._sleep(min(self._backoff(rate_limited) if asked is None else asked, self.settings.max_wait))
                continue
            if status >= 500 and not_retried is None and failures < self.settings.retries:
                failures += 1
                self._sleep(self._backoff(failures))
                continue
            return response

    def _wait_after_network_error(
        self,
        exc: pagerduty.Error,
        what: str,
        failures: int,
        error: type[RetroflowError],
        *,
        not_retried: str | None = None,
    ) -> None:
        """Back off before trying again after the ``failures``-th network failure of a
        request, or raise ``error``: a TLS problem at once, else after ``retries`` (or at
        once, saying ``not_retried``, for a request that is not retried). Called in the
        ``except`` block, so the error is raised ``from None``: the client's exception (its
        text can carry the URL) is not even its context."""
        problem = tls_problem(exc, self.settings.api)
        cause = type(exc.__cause__ or exc).__name__
        if problem is not None:
            raise error(f"PagerDuty API unreachable: {problem}") from None
        if not_retried is not None:
            raise error(f"PagerDuty API unreachable while {what} ({cause}): {not_retried}") from None
        if failures > self.settings.retries:
            raise error(f"PagerDuty API unreachable: {what} failed {failures} time(s) ({cause})") from None
        self._sleep(self._backoff(failures))

    def _backoff(self, attempt: int) -> float:
        return float(min(self.settings.max_wait, 0.5 * 2 ** (attempt - 1)))

    @staticmethod
    def _decode(response: httpx2.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise SourceError(f"PagerDuty answered {what} with something that is not JSON") from None
        if not isinstance(body, dict):
            raise SourceError(f"PagerDuty answered {what} with JSON that is not an object")
        return body


@attrs.define
class _Listing:
    """One paginated list being fetched: its first page, then the rest at once."""

    path: str
    key: str
    params: dict[str, Any]
    first: Future[dict[str, Any]]
    rest: list[Future[dict[str, Any]]] = attrs.field(factory=list)


class IncidentCollector:
    """Fetches one incident's replies in the fewest round trips, ``concurrency`` at a time."""

    def __init__(self, api: PagerDutyApi, *, now: Callable[[], datetime] | None = None) -> None:
        self.api = api
        self.settings = api.settings
        self._now = now or utcnow
        self._limits: list[str] = []
        self._skipped_pages: dict[str, int] = {}

    def collect(self, ref: str, *, by_number: bool) -> Replies:
        """Everything about incident ``ref`` (an id, or a number when ``by_number``)."""
        pool = ThreadPoolExecutor(max_workers=self.settings.concurrency, thread_name_prefix="retroflow-pagerduty")
        try:
            incident_future = pool.submit(
                self.api.get, f"/incidents/{ref}", {"include[]": INCIDENT_INCLUDES}, what=f"incident {ref}"
            )
            if by_number:  # the sub-resources take an id only: learn it first
                incident = self._incident(incident_future)
                incident_id = str(incident["id"])
            else:
                incident_id = ref
            log_entries = self._start(pool, f"/incidents/{incident_id}/log_entries", "log_entries", LOG_ENTRY_PARAMS)
            alerts = self._start(pool, f"/incidents/{incident_id}/alerts", "alerts", {})
            notes_future = pool.submit(
                self.api.get, f"/incidents/{incident_id}/notes", what=f"notes of incident {incident_id}"
            )
            incident = self._incident(incident_future)
            for listing in (log_entries, alerts):
                self._continue(pool, listing)
            history = self._start_history(pool, incident)
            for listing in history:
                self._continue(pool, listing)
            notes_reply = notes_future.result()
            notes = notes_reply.get("notes")
            if not isinstance(notes, list):
                self._skip_page("notes")
                notes = []
            past = [item for listing in history for item in self._finish(pool, listing)]
            return Replies(
                incident=incident,
                log_entries=self._finish(pool, log_entries),
                alerts=self._finish(pool, alerts),
                notes=notes,
                history=[item for item in past if not (isinstance(item, Mapping) and item.get("id") == incident_id)],
                notes_on_limits=tuple(self._limits),
                skipped_pages=dict(self._skipped_pages),
            )
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- incident ------------------------------------------------------------------------

    @staticmethod
    def _incident(future: Future[dict[str, Any]]) -> dict[str, Any]:
        reply = future.result()
        incident = reply.get("incident")
        if not isinstance(incident, dict) or not incident.get("id"):
            raise SourceError("PagerDuty answered the incident request without an incident object")
        return incident

    # -- pagination ----------------------------------------------------------------------

    def _start(self, pool: ThreadPoolExecutor, path: str, key: str, params: Mapping[str, Any]) -> _Listing:
        query = {**params, "limit": PAGE_SIZE, "offset": 0, "total": "true"}
        what = f"{key.replace('_', ' ')} page 1 ({path})"
        return _Listing(path, key, dict(params), pool.submit(self.api.get, path, query, what=what))

    def _continue(self, pool: ThreadPoolExecutor, listing: _Listing) -> None:
        """Once the first page says how many there are, ask for every other page at once."""
        first = listing.first.result()
        total = first.get("total")
        if not isinstance(total, int) or not first.get("more"):
            return  # one page, or no total (then _finish pages on one by one)
        reachable = min(total, PAGINATION_LIMIT)
        if total > PAGINATION_LIMIT:
            self._limits.append(
                f"{listing.key}: {total} results, the API serves the first {PAGINATION_LIMIT} (offset+limit ≤ 10000)"
            )
        for offset in range(PAGE_SIZE, reachable, PAGE_SIZE):
            listing.rest.append(self._page(pool, listing, offset))

    def _page(self, pool: ThreadPoolExecutor, listing: _Listing, offset: int) -> Future[dict[str, Any]]:
        query = {**listing.params, "limit": PAGE_SIZE, "offset": offset}
        what = f"{listing.key.replace('_', ' ')} page {offset // PAGE_SIZE + 1} ({listing.path})"
        return pool.submit(self.api.get, listing.path, query, what=what)

    def _finish(self, pool: ThreadPoolExecutor, listing: _Listing) -> list[Any]:
        """Every item of a listing, in order; pages on one at a time while the last page
        still says ``more`` (no total, or results added while paging)."""
        items: list[Any] = []
        reply: dict[str, Any] = {}
        for future in (listing.first, *listing.rest):
            reply = future.result()
            items.extend(self._items(reply, listing.key))
        offset = PAGE_SIZE * (1 + len(listing.rest))
        while reply.get("more") is True and offset + PAGE_SIZE <= PAGINATION_LIMIT:
            reply = self._page(pool, listing, offset).result()
            items.extend(self._items(reply, listing.key))
            offset += PAGE_SIZE
        return items

    def _items(self, reply: Mapping[str, Any], key: str) -> list[Any]:
        items = reply.get(key)
        if not isinstance(items, list):
            self._skip_page(key)
            return []
        return items

    def _skip_page(self, key: str) -> None:
        self._skipped_pages[key] = self._skipped_pages.get(key, 0) + 1

    # -- history -------------------------------------------------------------------------

    def _start_history(self, pool: ThreadPoolExecutor, incident: Mapping[str, Any]) -> list[_Listing]:
        """First pages of past incidents of the incident's service, over ``history_days``
        before it, in windows the API accepts (≤ 6 months; split further while one holds
        more than offset+limit ≤ 10000 allows)."""
        service = incident.get("service")
        service_id = service.get("id") if isinstance(service, Mapping) else None
        if not self.settings.history_days or not isinstance(service_id, str):
            return []
        created = incident.get("created_at")
        try:
            until = parse_timestamp(created) if isinstance(created, str) else self._now()
        except ValueError:
            until = self._now()
        since = until - timedelta(days=self.settings.history_days)
        pending: list[tuple[_Listing, datetime, datetime]] = []
        start = since
        while start < until:
            end = min(until, start + MAX_RANGE)
            pending.append((self._history_page(pool, service_id, start, end), start, end))
            start = end
        listings: list[_Listing] = []
        while pending:
            listing, start, end = pending.pop(0)
            total = listing.first.result().get("total")
            if isinstance(total, int) and total > PAGINATION_LIMIT and end - start > timedelta(seconds=2):
                middle = (start + (end - start) / 2).replace(microsecond=0)
                pending.append((self._history_page(pool, service_id, start, middle), start, middle))
                pending.append((self._history_page(pool, service_id, middle, end), middle, end))
            else:
                listings.append(listing)
        return listings

    def _history_page(self, pool: ThreadPoolExecutor, service_id: str, since: datetime, until: datetime) -> _Listing:
        params = {"service_ids[]": [service_id], "since": format_timestamp(since), "until": format_timestamp(until)}
        return self._start(pool, "/incidents", "incidents", params)
