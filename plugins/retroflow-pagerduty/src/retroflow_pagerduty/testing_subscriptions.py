"""A fake of PagerDuty's webhook subscription API, for tests, as an :class:`httpx2.MockTransport`.

:class:`FakeSubscriptions` is a :class:`~retroflow_pagerduty.testing.FakePagerDuty` (the
incident reads work as there) that also serves ``/webhook_subscriptions``: list (classic
pagination, ``filter_type``/``filter_id``), create (the secret only in the create reply;
400 with PagerDuty's error body for invalid input), delete, enable and ping. A read-only
key may list but is refused every change with 403, as PagerDuty refuses read-only keys
anything but GET. Every request and its response are recorded (``exchanges``), for the
contract tests to check against the spec. Replies can be scripted by path, as in
:class:`FakePagerDuty`, or by ``"METHOD path"`` (``fake.script("POST /webhook_subscriptions",
reply(400, …))``).
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import httpx2

from .testing import FakePagerDuty, reply

__all__ = ["FakeSubscriptions"]

PATH = "/webhook_subscriptions"
_FILTERS = ("account_reference", "service_reference", "team_reference")


def _error(status: int, message: str, code: int, errors: Sequence[str] = ()) -> httpx2.Response:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = list(errors)
    return reply(status, {"error": body})


class FakeSubscriptions(FakePagerDuty):
    """An account's webhook subscriptions (and, as :class:`FakePagerDuty`, its incidents).

    :param subscriptions: subscription objects as ``GET /webhook_subscriptions`` lists them.
    :param read_only_token: a key that may read but not write.
    """

    def __init__(
        self,
        subscriptions: Sequence[Mapping[str, Any]] = (),
        *,
        read_only_token: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.subscriptions: list[dict[str, Any]] = [copy.deepcopy(dict(s)) for s in subscriptions]
        self.read_only_token = read_only_token
        self.secrets: dict[str, str] = {}  # what each create answered, by subscription id
        self.pings: list[str] = []
        self.exchanges: list[tuple[httpx2.Request, httpx2.Response]] = []
        self._ids = (f"PWHS{n:03d}" for n in itertools.count(1))

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        if not request.url.path.startswith(PATH):
            return super().handle(request)
        with self._lock:
            self.requests.append(request)
            # scripted replies by "METHOD path" (list and create share a path), else by path
            scripted = self.scripted.get(f"{request.method} {request.url.path}") or self.scripted.get(request.url.path)
            queued = scripted.pop(0) if scripted else None
        if isinstance(queued, Exception):
            raise queued
        if queued is not None:
            queued.elapsed = timedelta(0)
            response = queued
        else:
            response = self._authorised(request) or self._webhooks(request)
        with self._lock:
            self.exchanges.append((request, response))
        return response

    def _authorised(self, request: httpx2.Request) -> httpx2.Response | None:
        """A refusal, or ``None`` when the key may do this."""
        key = request.headers.get("authorization")
        if key == f"Token token={self.token}":
            return None
        if self.read_only_token is not None and key == f"Token token={self.read_only_token}":
            return None if request.method == "GET" else _error(403, "Access Denied", 2010)
        return _error(401, "Authentication failed", 2006)

    def _webhooks(self, request: httpx2.Request) -> httpx2.Response:
        parts = request.url.path.strip("/").split("/")
        with self._lock:
            if parts == ["webhook_subscriptions"] and request.method == "GET":
                return self._list(request.url.params)
            if parts == ["webhook_subscriptions"] and request.method == "POST":
                return self._create(request)
            found = self._subscription(parts[1]) if len(parts) >= 2 else None
            if found is None:
                return _error(404, "Not Found", 2100)
            if len(parts) == 2 and request.method == "DELETE":
                self.subscriptions.remove(found)
                return self._no_content(204)
            if parts[2:] == ["enable"] and request.method == "POST":
                found["delivery_method"]["temporarily_disabled"] = False
                return reply(200, {"webhook_subscription": self._shown(found)})
            if parts[2:] == ["ping"] and request.method == "POST":
                self.pings.append(found["id"])
                return self._no_content(202)
        return _error(405, "Method not allowed", 2000)

    def _list(self, params: httpx2.QueryParams) -> httpx2.Response:
        kind, ident = params.get("filter_type"), params.get("filter_id")
        chosen = [
            s
            for s in self.subscriptions
            if (kind is None or s["filter"]["type"] == f"{kind}_reference")
            and (ident is None or s["filter"].get("id") == ident)
        ]
        limit, offset = min(int(params.get("limit", 25)), 100), int(params.get("offset", 0))
        page = [self._shown(s) for s in chosen[offset : offset + limit]]
        more = offset + limit < len(chosen)
        total = len(chosen) if params.get("total") == "true" else None
        return reply(
            200, {"webhook_subscriptions": page, "limit": limit, "offset": offset, "total": total, "more": more}
        )

    def _create(self, request: httpx2.Request) -> httpx2.Response:
        try:
            wanted = json.loads(request.content)["webhook_subscription"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "Invalid Input Provided", 2001, ["webhook_subscription is required"])
        problems = _invalid(wanted)
        if problems:
            return _error(400, "Invalid Input Provided", 2001, problems)
        made = {
            "id": next(self._ids),
            "type": "webhook_subscription",
            "active": wanted.get("active", True),
            "delivery_method": {
                "id": f"PDM{len(self.secrets) + 1:04d}",
                "secret": None,
                "temporarily_disabled": False,
                "type": "http_delivery_method",
                "url": wanted["delivery_method"]["url"],
                "custom_headers": [],
            },
            "description": wanted.get("description", ""),
            "events": list(wanted["events"]),
            "filter": dict(wanted["filter"]),
        }
        self.subscriptions.append(made)
        secret = self.secrets[made["id"]] = secrets.token_hex(32)
        shown = self._shown(made)
        shown["delivery_method"]["secret"] = secret  # in the create reply only
        return reply(200, {"webhook_subscription": shown})

    def _subscription(self, subscription_id: str) -> dict[str, Any] | None:
        return next((s for s in self.subscriptions if s["id"] == subscription_id), None)

    @staticmethod
    def _shown(subscription: Mapping[str, Any]) -> dict[str, Any]:
        shown = copy.deepcopy(dict(subscription))
        shown["delivery_method"]["secret"] = None
        return shown

    @staticmethod
    def _no_content(status: int) -> httpx2.Response:
        response = httpx2.Response(status)
        response.elapsed = timedelta(0)
        return response

    def disable(self, subscription_id: str) -> None:
        """What PagerDuty does after three dropped deliveries in a row."""
        found = self._subscription(subscription_id)
        assert found is not None, subscription_id
        found["delivery_method"]["temporarily_disabled"] = True


def _invalid(wanted: Any) -> list[str]:
    """What PagerDuty would refuse in a subscription to create."""
    if not isinstance(wanted, Mapping):
        return ["webhook_subscription must be an object"]
    problems = []
    delivery = wanted.get("delivery_method")
    url = delivery.get("url") if isinstance(delivery, Mapping) else None
    if not isinstance(url, str) or not url.startswith("https://"):
        problems.append("Delivery method url must be a valid https URL")
    events = wanted.get("events")
    if not isinstance(events, list) or not events:
        problems.append("Events must contain at least one event type")
    filter = wanted.get("filter")
    if not isinstance(filter, Mapping) or filter.get("type") not in _FILTERS:
        problems.append("Filter type must be one of account_reference, service_reference, team_reference")
    elif filter["type"] != "account_reference" and not filter.get("id"):
        problems.append("Filter id is required for service and team filters")
    return problems
