"""A fake PagerDuty REST API for tests and benchmarks, as an :class:`httpx2.MockTransport`.

It serves the operations the plugin uses the way the real API does: ``{"incident":
…}`` by id or number, classic pagination (``limit`` ≤ 100, ``offset``, ``more``,
``total`` only when asked, 400 when ``offset + limit > 10000``), 401 for a wrong key, 404
for an unknown incident; ``statuses[]`` and ``sort_by=resolved_at`` for listing incidents;
``POST /incidents/{id}/notes`` (a ``From`` header required) adds a note. Scripted replies (429, 5xx, network errors) can be queued in
front of any path, and every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx2

from retroflow import parse_timestamp

__all__ = ["FakePagerDuty", "reply"]

Scripted = httpx2.Response | Exception


def reply(status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> httpx2.Response:
    """A fake response the ``pagerduty`` client accepts (it reads ``.elapsed``)."""
    response = httpx2.Response(status, json=body if body is not None else {}, headers=dict(headers or {}))
    response.elapsed = timedelta(0)
    return response


def _error(status: int, message: str, code: int) -> httpx2.Response:
    return reply(status, {"error": {"message": message, "code": code}})


class FakePagerDuty:
    """One account's incidents.

    :param incidents: incident objects (as ``GET /incidents/{id}`` returns them).
    :param log_entries: / :param alerts: / :param notes: lists by incident id.
    :param token: the only key accepted.
    :param latency: seconds each request takes (slept in the calling thread).
    """

    def __init__(
        self,
        incidents: Sequence[Mapping[str, Any]] = (),
        *,
        log_entries: Mapping[str, Sequence[Any]] | None = None,
        alerts: Mapping[str, Sequence[Any]] | None = None,
        notes: Mapping[str, Sequence[Any]] | None = None,
        token: str = "test-token-0123456789",
        latency: float = 0.0,
    ) -> None:
        self.incidents = list(incidents)
        self.log_entries = dict(log_entries or {})
        self.alerts = dict(alerts or {})
        self.notes: dict[str, list[Any]] = {key: list(value) for key, value in (notes or {}).items()}
        self.token = token
        self.latency = latency
        self.requests: list[httpx2.Request] = []
        self.scripted: dict[str, list[Scripted]] = {}
        self._lock = threading.Lock()
        self._created: dict[int, datetime] = {}

    @property
    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def script(self, path: str, *replies: Scripted) -> None:
        """Answer the next requests to ``path`` with ``replies`` (a response, or an
        exception to raise, e.g. :class:`httpx2.ConnectError`), then normally."""
        self.scripted.setdefault(path, []).extend(replies)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            self.requests.append(request)
            scripted = self.scripted.get(request.url.path)
            queued = scripted.pop(0) if scripted else None
        if self.latency:
            time.sleep(self.latency)
        if isinstance(queued, Exception):
            raise queued
        if queued is not None:
            queued.elapsed = timedelta(0)
            return queued
        if request.headers.get("authorization") != f"Token token={self.token}":
            return _error(401, "Authentication failed", 2006)
        if request.method == "POST":
            return self._post(request)
        if request.method != "GET":
            return _error(405, "Method not allowed", 2000)
        return self._route(request)

    def _post(self, request: httpx2.Request) -> httpx2.Response:
        """``POST /incidents/{id}/notes`` (it needs a ``From`` header); nothing else."""
        parts = request.url.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "incidents" or parts[2] != "notes":
            return _error(405, "Method not allowed", 2000)
        incident = self._find(parts[1], by_number=False)
        if incident is None:
            return _error(404, "Not Found", 2100)
        if not request.headers.get("from"):
            return _error(400, "Requester User Not Found", 2004)
        try:
            content = json.loads(request.content)["note"]["content"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "Invalid Input Provided", 2001)
        with self._lock:
            notes = self.notes.setdefault(str(incident["id"]), [])
            note = {
                "id": f"PNOTE{len(notes) + 1:03d}",
                "content": content,
                "user": {"summary": request.headers["from"]},
            }
            notes.append(note)
        return reply(201, {"note": note})

    def _route(self, request: httpx2.Request) -> httpx2.Response:
        parts = request.url.path.strip("/").split("/")
        params = request.url.params
        if parts == ["incidents"]:
            return self._page(params, "incidents", self._listed(params))
        if len(parts) >= 2 and parts[0] == "incidents":
            incident = self._find(parts[1], by_number=len(parts) == 2)
            if incident is None:
                return _error(404, "Not Found", 2100)
            if len(parts) == 2:
                return reply(200, {"incident": incident})
            incident_id = str(incident["id"])
            if parts[2:] == ["log_entries"]:
                return self._page(params, "log_entries", self.log_entries.get(incident_id, []))
            if parts[2:] == ["alerts"]:
                return self._page(params, "alerts", self.alerts.get(incident_id, []))
            if parts[2:] == ["notes"]:
                return reply(200, {"notes": list(self.notes.get(incident_id, []))})
        return _error(404, "Not Found", 2100)

    def _find(self, ref: str, *, by_number: bool) -> Mapping[str, Any] | None:
        for incident in self.incidents:
            if incident.get("id") == ref or (by_number and str(incident.get("incident_number")) == ref):
                return incident
        return None

    def _listed(self, params: httpx2.QueryParams) -> list[Mapping[str, Any]]:
        """``GET /incidents``: by service and creation time, then by ``statuses[]``, sorted
        by ``resolved_at`` when asked (``sort_by=resolved_at:desc``)."""
        found = self._history(params)
        statuses = set(params.get_list("statuses[]"))
        if statuses:
            found = [i for i in found if i.get("status") in statuses]
        sort = params.get("sort_by", "")
        if sort.startswith("resolved_at"):
            found.sort(key=lambda i: str(i.get("resolved_at") or ""), reverse=sort.endswith(":desc"))
        return found

    def _history(self, params: httpx2.QueryParams) -> list[Mapping[str, Any]]:
        services = set(params.get_list("service_ids[]"))
        since = parse_timestamp(params["since"]) if "since" in params else None
        until = parse_timestamp(params["until"]) if "until" in params else None
        found = []
        for incident in self.incidents:
            service = incident.get("service")
            if services and not (isinstance(service, Mapping) and service.get("id") in services):
                continue
            created = self._created.get(id(incident))
            if created is None:
                created = self._created[id(incident)] = parse_timestamp(str(incident["created_at"]))
            if (since and created < since) or (until and created >= until):
                continue
            found.append(incident)
        return found

    @staticmethod
    def _page(params: httpx2.QueryParams, key: str, items: Sequence[Any]) -> httpx2.Response:
        limit = int(params.get("limit", 25))
        offset = int(params.get("offset", 0))
        if limit > 100:
            limit = 100
        if offset + limit > 10_000:
            return _error(400, "Offset + limit must be at most 10000", 2001)
        page = list(items[offset : offset + limit])
        body: dict[str, Any] = {
            key: page,
            "limit": limit,
            "offset": offset,
            "more": offset + limit < len(items),
            "total": len(items) if params.get("total") == "true" else None,
        }
        return reply(200, body)

    def count(self, predicate: Callable[[httpx2.Request], bool] = lambda r: True) -> int:
        return sum(1 for r in self.requests if predicate(r))
