"""``POST /webhooks/pagerduty``: PagerDuty Webhooks V3 signatures and payloads, over real
HTTP to ``retroflow serve``'s app on a loopback port (issue 10 item 2). Known-answer
vectors from PagerDuty's go client, real payloads from PagerDuty's docs and Zulip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from retroflow_pagerduty import PagerDutySource
from retroflow_pagerduty.webhooks import PagerDutyWebhooks, sign
from structlog.testing import capture_logs

from retroflow import Lifecycle, WebhookRejected
from retroflow.testing import RunningService, make_config, make_plugins, running_service

SECRET = "whsec-test-7e1b9c0d4f"
OLD_SECRET = "whsec-old-2a8f6e31c5"


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PD_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("PD_WEBHOOK_SECRET_OLD", OLD_SECRET)


def config_for(tmp_path: Path, kit: Any, extra: str = "", secrets: str = '["env:PD_WEBHOOK_SECRET"]') -> Any:
    plugins = make_plugins(PagerDutySource(), default_plugins=True)
    text = (
        f'[retroflow]\ndatabase = "sqlite:///{tmp_path / "retroflow.db"}"\n[service]\ndraft_delay = 600\n{extra}\n'
        f'[plugins.pagerduty]\ntoken = "env:PAGERDUTY_TOKEN"\nwebhook_secrets = {secrets}\n'
    )
    return make_config(text, plugins=plugins, base_dir=tmp_path), plugins


@pytest.fixture
def server(tmp_path: Path, kit: Any) -> Iterator[RunningService]:
    config, plugins = config_for(tmp_path, kit)
    with running_service(config, plugins) as running:
        yield running


def raw(kit: Any, name: str) -> bytes:
    return (kit.FIXTURES / name).read_bytes()


RESOLVED = "pd_webhook_v3_incident.resolved.zulip_fixture.json"
REOPENED = "pd_webhook_v3_incident.reopened.zulip_fixture.json"
PRIORITY = "pd_webhook_v3_incident.priority_updated.devdocs.json"


def post(server: RunningService, body: bytes, signature: str | None, webhook_id: str = "wh-1") -> tuple[int, Any]:
    headers = {"User-Agent": "PagerDuty-Webhook/V3.0", "X-Webhook-Id": webhook_id}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature
    return server.post("/webhooks/pagerduty", body, headers)


def stored(server: RunningService, table: str) -> list[Any]:
    with server.service.database.reading() as conn:
        return list(conn.execute(sa.text(f"SELECT * FROM {table}")).mappings())


# -- verification, known answers --------------------------------------------------------


def test_go_pagerdutys_known_answer_vector(kit: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    vector = kit.load("webhookv3_signature.go_pagerduty.json")
    monkeypatch.setenv("PD_WEBHOOK_SECRET", vector["secret"])
    config, _ = config_for(tmp_path, kit)
    body = vector["body"].encode()
    receiver = PagerDutyWebhooks()
    assert sign(body, vector["secret"]) == vector["valid"]
    receiver.verify(body, {"x-pagerduty-signature": vector["valid"]}, config)
    with pytest.raises(WebhookRejected) as mismatch:
        receiver.verify(body, {"x-pagerduty-signature": vector["mismatch"]}, config)
    assert mismatch.value.status == 403
    with pytest.raises(WebhookRejected) as missing:
        receiver.verify(body, {}, config)
    assert missing.value.status == 400
    delivery = receiver.parse(body, {}, config)
    assert (delivery.event_id, delivery.event_type, delivery.incident_event) == (
        "01BWDWL3NYY7LUFPZCC28QUCMK",
        "incident.priority_updated",
        None,
    )


def test_any_signature_matching_any_secret_verifies_during_rotation(kit: Any, tmp_path: Path) -> None:
    config, _ = config_for(tmp_path, kit, secrets='["env:PD_WEBHOOK_SECRET_OLD", "env:PD_WEBHOOK_SECRET"]')
    body = raw(kit, RESOLVED)
    receiver = PagerDutyWebhooks()
    # the header's shape of PagerDuty's docs: comma-separated, as the rotation sends it
    for header in (
        f"{sign(body, 'retired-secret')},{sign(body, SECRET)}",
        f"{sign(body, SECRET)}, {sign(body, 'retired-secret')}",
        sign(body, OLD_SECRET),
        f"v2=abc,{sign(body, SECRET).upper().replace('V1=', 'v1=')}",
    ):
        receiver.verify(body, {"x-pagerduty-signature": header}, config)


def test_a_receiver_without_secrets_is_not_configured(kit: Any, tmp_path: Path) -> None:
    config, plugins = config_for(tmp_path, kit, secrets="[]")
    assert not PagerDutyWebhooks().configured(config)
    with running_service(config, plugins) as server:
        body = raw(kit, RESOLVED)
        assert post(server, body, sign(body, SECRET))[0] == 404


# -- every row of RELIABILITY.md's table, over HTTP -------------------------------------


@pytest.mark.parametrize(
    ("signature", "status"),
    [
        (None, 400),
        ("", 400),
        ("sha256=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd", 400),
        ("v1=nothex", 400),
        ("v1=" + "0" * 64, 403),
    ],
    ids=["no header", "empty", "not v1", "malformed v1", "wrong"],
)
def test_missing_malformed_or_wrong_signatures_store_nothing(
    server: RunningService, kit: Any, signature: str | None, status: int
) -> None:
    assert post(server, raw(kit, RESOLVED), signature)[0] == status
    assert stored(server, "webhook_deliveries") == [] and stored(server, "jobs") == []


def test_a_wrong_secret_a_tampered_body_or_reserialised_json_is_403(server: RunningService, kit: Any) -> None:
    body = raw(kit, RESOLVED)
    assert post(server, body, sign(body, "not-the-secret"))[0] == 403
    assert post(server, body.replace(b"Test Incident", b"Test incident"), sign(body, SECRET))[0] == 403
    reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert post(server, reserialised, sign(body, SECRET))[0] == 403
    assert stored(server, "webhook_deliveries") == []


@pytest.mark.parametrize(
    "body",
    [b'{"event": {"id": "x"', b"[1, 2]", b'{"event": {"event_type": "incident.resolved"}}', b"\xff\xfe"],
    ids=["truncated", "not an object", "no id", "not UTF-8"],
)
def test_signed_but_malformed_payloads_are_400_and_store_nothing(server: RunningService, body: bytes) -> None:
    with capture_logs() as logs:
        status, answer = post(server, body, sign(body, SECRET), webhook_id="wh-bad-1")
    assert status == 400, answer
    assert stored(server, "webhook_deliveries") == []
    [rejected] = [e for e in logs if e["event"] == "webhook rejected"]
    assert rejected["webhook_id"] == "wh-bad-1" and rejected["status"] == 400


def test_a_resolved_incident_without_data_is_400(server: RunningService, kit: Any) -> None:
    document = json.loads(raw(kit, RESOLVED))
    del document["event"]["data"]["id"]
    body = json.dumps(document).encode()
    status, answer = post(server, body, sign(body, SECRET))
    assert (status, answer["message"]) == (400, "event.data.id: expected a non-empty string")


def test_the_real_resolve_schedules_a_draft_of_that_incident(server: RunningService, kit: Any) -> None:
    body = raw(kit, RESOLVED)
    status, answer = post(server, body, sign(body, SECRET), webhook_id="wh-resolved")
    assert (status, answer["message"]) == (202, "scheduled")
    [delivery] = stored(server, "webhook_deliveries")
    assert (delivery["event_id"], delivery["event_type"], delivery["webhook_id"]) == (
        "01BZYH1JJY09P9LEIST8HG2PMN",
        "incident.resolved",
        "wh-resolved",
    )
    [job] = server.service.jobs.jobs()
    assert job.payload == {
        "source": "pagerduty",
        "incident_id": "PCPZE64",
        "resolved_at": "2021-06-04T13:16:53.816000Z",
        "event_id": "01BZYH1JJY09P9LEIST8HG2PMN",
        "title": "Test Incident",
        "url": "https://pig208.pagerduty.com/incidents/PCPZE64",
    }


def test_an_event_type_not_acted_on_is_2xx_and_recorded(server: RunningService, kit: Any) -> None:
    for n, body in enumerate([raw(kit, PRIORITY), b'{"event": {"id": "P1NG", "event_type": "pagey.ping"}}']):
        status, answer = post(server, body, sign(body, SECRET), webhook_id=f"wh-{n}")
        assert (status, answer["message"]) == (202, "ignored")
    assert [d["outcome"] for d in stored(server, "webhook_deliveries")] == ["ignored", "ignored"]
    assert stored(server, "jobs") == []


def test_the_same_delivery_again_is_2xx_with_no_second_row_or_job(server: RunningService, kit: Any) -> None:
    body = raw(kit, RESOLVED)
    assert post(server, body, sign(body, SECRET))[0] == 202
    assert post(server, body, sign(body, SECRET))[0] == 200  # PagerDuty's retry
    assert post(server, body, sign(body, SECRET), webhook_id="wh-replayed")[0] == 200  # a replay
    assert len(stored(server, "webhook_deliveries")) == 1 and len(stored(server, "jobs")) == 1


def test_a_body_over_one_megabyte_is_413(server: RunningService, kit: Any) -> None:
    document = json.loads(raw(kit, RESOLVED))
    document["event"]["data"]["title"] = "x" * (1 << 20)
    body = json.dumps(document).encode()
    assert post(server, body, sign(body, SECRET))[0] == 413
    assert stored(server, "webhook_deliveries") == []


def test_resolved_then_reopened_cancels_the_pending_draft(server: RunningService, kit: Any) -> None:
    resolved = json.loads(raw(kit, RESOLVED))
    reopened = json.loads(raw(kit, REOPENED))
    reopened["event"]["data"]["id"] = resolved["event"]["data"]["id"]  # the same incident, reopened later
    reopened["event"]["occurred_at"] = "2021-06-04T13:20:00.000Z"
    for document in (resolved, reopened):
        body = json.dumps(document).encode()
        assert post(server, body, sign(body, SECRET))[0] == 202
    assert [(j.state, j.result) for j in server.service.jobs.jobs()] == [
        ("cancelled", "the incident was reopened at 2021-06-04T13:20:00Z")
    ]


def test_the_real_reopen_parses_to_a_lifecycle_event(kit: Any, tmp_path: Path) -> None:
    config, _ = config_for(tmp_path, kit)
    event = PagerDutyWebhooks().parse(raw(kit, REOPENED), {}, config).incident_event
    assert event is not None
    assert (event.kind, event.incident_id, event.occurred_at) == (
        Lifecycle.REOPENED,
        "Q05XJA8GDXGOB3",
        datetime(2026, 4, 1, 2, 15, 2, 274000, tzinfo=UTC),
    )
    assert (event.service, event.service_id, event.urgency, event.priority) == (
        "Default Service",
        "PLVTM9H",
        "low",
        "P3",
    )


def test_secrets_and_bodies_never_reach_the_logs(server: RunningService, kit: Any) -> None:
    body = raw(kit, RESOLVED)
    with capture_logs() as logs:
        post(server, body, sign(body, SECRET))
        post(server, body, sign(body, "wrong"))
        post(server, body[:50], sign(body[:50], SECRET))
        post(server, body, sign(body, SECRET))
    text = repr(logs)
    assert logs and SECRET not in text and "Test Incident" not in text and "pig208" not in text
    assert sign(body, SECRET)[3:] not in text
