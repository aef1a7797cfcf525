"""Service fixtures: a vendor-neutral webhook receiver (``demo``), an incident feed, a
config on a fresh database, and the service's parts on it.

The PagerDuty receiver and feed are tested in ``plugins/retroflow-pagerduty``; the core's
tests use ``demo``: the body is ``{"id", "type", "incident", "at", "service",
"urgency"}``, signed with ``X-Demo-Signature: <hex HMAC-SHA256>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from retroflow import (
    Config,
    IncidentEvent,
    Lifecycle,
    SourceResult,
    WebhookDelivery,
    WebhookRejected,
    hookimpl,
)
from retroflow.plugins import Plugins
from retroflow.service.database import ServiceDatabase, open_service_database
from retroflow.service.jobs import TableJobs
from retroflow.testing import make_config, make_event, make_incident, make_plugins

SECRET = "demo-secret-3f9a1c"
T0 = datetime(2026, 11, 7, 3, 32, tzinfo=UTC)

KINDS = {"resolved": Lifecycle.RESOLVED, "reopened": Lifecycle.REOPENED, "triggered": Lifecycle.TRIGGERED}


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery(event_id: str, kind: str = "resolved", incident: str = "INC-1", at: datetime = T0, **more: Any) -> bytes:
    body = {"id": event_id, "type": kind, "incident": incident, "at": at.isoformat(), **more}
    return json.dumps(body).encode()


def signed(body: bytes) -> dict[str, str]:
    return {"X-Demo-Signature": sign(body), "X-Webhook-Id": "wh-" + hashlib.sha1(body).hexdigest()[:8]}


class DemoReceiver:
    name = "demo"

    def configured(self, config: Config) -> bool:
        return True

    def verify(self, body: bytes, headers: Mapping[str, str], config: Config) -> None:
        signature = headers.get("x-demo-signature")
        if not signature:
            raise WebhookRejected("no X-Demo-Signature", status=400)
        if not hmac.compare_digest(signature, sign(body)):
            raise WebhookRejected("signature does not match", status=403)

    def parse(self, body: bytes, headers: Mapping[str, str], config: Config) -> WebhookDelivery:
        try:
            data = json.loads(body)
            event_id, kind = data["id"], data["type"]
        except (ValueError, KeyError, TypeError):
            raise WebhookRejected("not a demo event") from None
        if kind not in KINDS:
            return WebhookDelivery(event_id, kind)
        event = IncidentEvent(
            source="demo",
            incident_id=data["incident"],
            kind=KINDS[kind],
            occurred_at=datetime.fromisoformat(data["at"]),
            event_id=event_id,
            event_type=kind,
            title=data.get("title", ""),
            service=data.get("service"),
            urgency=data.get("urgency"),
        )
        return WebhookDelivery(event_id, kind, event)


class DemoFeed:
    """An incident feed listing the resolves it is given."""

    name = "demo"

    def __init__(self) -> None:
        self.resolved: list[IncidentEvent] = []
        self.asked: list[tuple[datetime, datetime]] = []

    def configured(self, config: Config) -> bool:
        return True

    def resolved_between(self, since: datetime, until: datetime, config: Config) -> list[IncidentEvent]:
        self.asked.append((since, until))
        return [e for e in self.resolved if since <= e.occurred_at < until]


class DemoPlugin:
    """The receiver, the feed, and a source that knows every incident (a few events)."""

    def __init__(self) -> None:
        self.feed = DemoFeed()
        self.builds: list[str] = []
        #: Called at the start of every collect (tests make builds wait or meet there).
        self.on_collect: Callable[[], None] = lambda: None

    @hookimpl
    def retroflow_register_webhooks(self, register: Callable[[Any], None]) -> None:
        register(DemoReceiver())

    @hookimpl
    def retroflow_register_incident_feeds(self, register: Callable[[Any], None]) -> None:
        register(self.feed)

    @hookimpl
    def retroflow_timeline_source(self, request: Any) -> SourceResult:
        self.builds.append(request.incident_ref)
        self.on_collect()
        incident = make_incident(id=request.incident_ref, created=T0 - timedelta(hours=1), resolved=T0)
        events = [
            make_event("alert", -60, at=T0 - timedelta(minutes=60), native_id="a1", summary="errors"),
            make_event("ack", -55, at=T0 - timedelta(minutes=55), native_id="k1", actor="alice"),
            make_event("resolve", 0, at=T0, native_id="r1"),
        ]
        return SourceResult(incident=incident, events=events)


@pytest.fixture
def demo() -> DemoPlugin:
    return DemoPlugin()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'retroflow.db'}"


@pytest.fixture
def configure(
    tmp_path: Path, demo: DemoPlugin, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[Config, Plugins]]:
    """``configure(url, service="draft_delay = 0", plugins=[...])``: a config whose
    ``[retroflow] database`` is ``url`` and output is ``tmp_path/out``, with the demo
    plugin and ``plugins``."""

    def make(
        url: str, service: str = "", plugins: tuple[object, ...] = (), retroflow: str = ""
    ) -> tuple[Config, Plugins]:
        # $RETROFLOW_DATABASE (tests/conftest.py sets a SQLite file) wins over the config's
        # database: without this, the PostgreSQL half of these tests ran on SQLite.
        monkeypatch.delenv("RETROFLOW_DATABASE", raising=False)
        registered = make_plugins(("demo", demo), *plugins)
        text = f'[retroflow]\ndatabase = "{url}"\noutput = "out"\n{retroflow}\n[service]\n{service}\n'
        return make_config(text, plugins=registered, base_dir=tmp_path), registered

    return make


@pytest.fixture
def database(db_url: str, configure: Callable[..., tuple[Config, Plugins]]) -> Iterator[ServiceDatabase]:
    """The service's database on each backend in turn, migrated."""
    config, _ = configure(db_url)
    opened = open_service_database(config)
    yield opened
    opened.close()


@pytest.fixture
def jobs(database: ServiceDatabase) -> TableJobs:
    return TableJobs(database)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(seconds=1))


class Kit:
    """Helpers for test modules (conftest cannot be imported with importlib)."""

    SECRET = SECRET
    T0 = T0
    sign = staticmethod(sign)
    delivery = staticmethod(delivery)
    signed = staticmethod(signed)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
