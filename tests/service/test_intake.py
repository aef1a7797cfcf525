"""The webhook intake over real HTTP to a server on a loopback port: every row of
RELIABILITY.md's table answered as it says (issue 10 item 2). The PagerDuty signature and
payload rows are in plugins/retroflow-pagerduty/tests/test_webhooks.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from retroflow.service import database as service_database
from retroflow.store import schema as t
from retroflow.testing import RunningService, running_service


@pytest.fixture
def server(db_url: str, configure: Any) -> Iterator[RunningService]:
    config, plugins = configure(db_url, "draft_delay = 600")
    with running_service(config, plugins) as running:
        yield running


def rows(server: RunningService, table: sa.Table) -> list[Any]:
    with server.service.database.reading() as conn:
        return list(conn.execute(sa.select(table)).all())


def test_a_resolve_is_stored_with_its_job_then_answered_202(server: RunningService, kit: Any) -> None:
    body = kit.delivery("ev-1", "resolved", "INC-7", title="Checkout down")
    status, answer = server.post("/webhooks/demo", body, kit.signed(body))
    assert (status, answer["message"]) == (202, "scheduled")
    [delivery] = rows(server, t.webhook_deliveries)
    assert (delivery.receiver, delivery.event_id, delivery.outcome) == ("demo", "ev-1", "scheduled")
    assert delivery.webhook_id == kit.signed(body)["X-Webhook-Id"] and delivery.body == body.decode()
    [job] = rows(server, t.jobs)
    assert (job.id, job.state, job.lock_key) == (delivery.job_id, "queued", "draft:demo:INC-7")
    assert job.run_after == kit.T0 + timedelta(minutes=10)


def test_the_same_event_again_is_answered_2xx_and_stores_nothing_more(server: RunningService, kit: Any) -> None:
    body = kit.delivery("ev-1", "resolved")
    assert server.post("/webhooks/demo", body, kit.signed(body))[0] == 202
    for _ in range(2):  # PagerDuty's retry, or a replay
        status, answer = server.post("/webhooks/demo", body, kit.signed(body))
        assert (status, answer["message"]) == (200, "duplicate")
    assert len(rows(server, t.webhook_deliveries)) == 1 and len(rows(server, t.jobs)) == 1


def test_an_event_type_not_acted_on_is_recorded_and_answered_2xx(server: RunningService, kit: Any) -> None:
    body = kit.delivery("ev-2", "incident.annotated")
    status, answer = server.post("/webhooks/demo", body, kit.signed(body))
    assert (status, answer["message"]) == (202, "ignored")
    assert [r.outcome for r in rows(server, t.webhook_deliveries)] == ["ignored"]
    assert rows(server, t.jobs) == []


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 400), ({"X-Demo-Signature": "0" * 64}, 403)],
    ids=["no signature", "wrong signature"],
)
def test_unsigned_or_badly_signed_deliveries_store_nothing(
    server: RunningService, kit: Any, headers: dict[str, str], status: int
) -> None:
    body = kit.delivery("ev-3", "resolved")
    assert server.post("/webhooks/demo", body, headers)[0] == status
    assert rows(server, t.webhook_deliveries) == [] and rows(server, t.jobs) == []


def test_a_body_changed_after_signing_is_refused(server: RunningService, kit: Any) -> None:
    body = kit.delivery("ev-4", "resolved")
    tampered = body.replace(b"INC-1", b"INC-2")
    assert server.post("/webhooks/demo", tampered, kit.signed(body))[0] == 403
    assert rows(server, t.webhook_deliveries) == []


def test_signed_but_malformed_json_is_400_and_stores_nothing(server: RunningService, kit: Any) -> None:
    body = b'{"id": "ev-5", "type": '
    status, answer = server.post("/webhooks/demo", body, kit.signed(body))
    assert (status, answer["message"]) == (400, "not a demo event")
    assert rows(server, t.webhook_deliveries) == []


def test_a_body_over_the_cap_is_413_and_stores_nothing(server: RunningService, kit: Any) -> None:
    body = kit.delivery("ev-6", "resolved", padding="x" * (1 << 20))
    assert server.post("/webhooks/demo", body, kit.signed(body))[0] == 413
    assert rows(server, t.webhook_deliveries) == []


def test_an_unknown_receiver_is_404(server: RunningService, kit: Any) -> None:
    body = kit.delivery("ev-7")
    assert server.post("/webhooks/nobody", body, kit.signed(body))[0] == 404
    assert server.request("GET", "/webhooks/demo")[0] == 405


def test_health_and_readiness(server: RunningService) -> None:
    assert server.get("/healthz") == (200, {"status": "ok"})
    assert server.get("/readyz") == (200, {"status": "ready", "receivers": ["demo"]})


def test_a_database_that_cannot_take_the_delivery_gets_503_never_2xx(
    sqlite_url: str, configure: Any, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_database, "BUSY_TIMEOUT_MS", 200)
    config, plugins = configure(sqlite_url)
    with running_service(config, plugins) as server:
        body = kit.delivery("ev-8", "resolved")
        blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # another process holds the database
        try:
            status, answer = server.post("/webhooks/demo", body, kit.signed(body))
            assert (status, answer["message"]) == (503, "not stored: try again")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert rows(server, t.webhook_deliveries) == []
        assert server.post("/webhooks/demo", body, kit.signed(body))[0] == 202  # the sender's retry


def test_readiness_fails_when_the_schema_is_behind(sqlite_url: str, configure: Any) -> None:
    config, plugins = configure(sqlite_url)
    with running_service(config, plugins) as server:
        with server.service.database.transaction() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
        status, answer = server.get("/readyz")
        assert status == 503 and "database schema at 0001" in answer["reason"]


def test_bodies_and_secrets_are_never_logged(sqlite_url: str, configure: Any, kit: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(service_database, "BUSY_TIMEOUT_MS", 100)
    config, plugins = configure(sqlite_url)
    marker = "BODY-MARKER-7f3e"
    with capture_logs() as logs, running_service(config, plugins) as server:
        good = kit.delivery("ev-9", "resolved", title=marker)
        server.post("/webhooks/demo", good, kit.signed(good))
        server.post("/webhooks/demo", good, {"X-Demo-Signature": "f" * 64})
        server.post("/webhooks/demo", b'{"title": "' + marker.encode() + b'"', kit.signed(b"x"))
        broken = b'{"broken": "' + marker.encode() + b'"'
        server.post("/webhooks/demo", broken, kit.signed(broken))
        blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        other = kit.delivery("ev-10", "resolved", title=marker)
        server.post("/webhooks/demo", other, kit.signed(other))
        blocker.execute("ROLLBACK")
        blocker.close()
    assert logs, "the intake logs what it does"
    text = repr(logs)
    assert marker not in text and kit.SECRET not in text
    assert {"webhook rejected", "webhook not stored"} <= {entry["event"] for entry in logs}
