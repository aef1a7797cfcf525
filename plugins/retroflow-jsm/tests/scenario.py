"""One incident told twice: as a PagerDuty incident's replies and as an Opsgenie alert's.

The payments API fails at 14:00; Alice is called at 14:01 and does not answer; the policy
escalates at 14:16 and calls Bob, who acknowledges at 14:21 and closes it at 14:40. Written
by us, each in its system's own shapes (PagerDuty's as its published log entries, Opsgenie's
as its published alert and log lines, in its wording).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
ALERT_ID = "9b251e07-73c9-4907-9996-8cb53a6a20d0-1793973600000"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def iso(minutes: float) -> str:
    return at(minutes).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def opsgenie_alert() -> dict[str, Any]:
    return {
        "id": ALERT_ID,
        "tinyId": "4821",
        "alias": "payments-5xx",
        "message": "Payments API 5xx rate above 5%",
        "status": "closed",
        "acknowledged": True,
        "tags": ["service:payments-api", "P1"],
        "count": 1,
        "createdAt": iso(0),
        "updatedAt": iso(40),
        "source": "Datadog",
        "owner": "bob@acme.com",
        "priority": "P1",
        "responders": [{"id": "team-payments", "type": "team"}],
        "integration": {"id": "int-1", "name": "Datadog", "type": "Datadog"},
        "report": {"ackTime": 1_260_000, "closeTime": 2_400_000, "acknowledgedBy": "bob@acme.com",
                   "closedBy": "bob@acme.com"},
    }  # fmt: skip


def opsgenie_logs() -> list[dict[str, Any]]:
    lines = [
        (0, "Alert created via Datadog", "system", "System"),
        (1, "Sent [Voice] notification to [alice@acme.com]", "alertRecipient", "alice@acme.com"),
        (3, "Viewed on [mobile]", "alertRecipient", "alice@acme.com"),
        (16, "Escalated to [Payments Secondary] by escalation [Payments_escalation]", "system", "System"),
        (16.2, "Sent [Voice] notification to [bob@acme.com]", "alertRecipient", "bob@acme.com"),
        (21, "Alert acknowledged via mobile", "system", "bob@acme.com"),
        (40, "Alert closed via web", "system", "bob@acme.com"),
    ]
    return [
        {"log": text, "type": kind, "owner": owner, "createdAt": iso(minutes), "offset": f"{n:04d}_{minutes}"}
        for n, (minutes, text, kind, owner) in enumerate(lines)
    ]


def opsgenie_notes() -> list[dict[str, Any]]:
    return [{"note": "Rolling back payments-api 2.4.1", "owner": "bob@acme.com", "createdAt": iso(25), "offset": "n1"}]


def _pd_user(name: str) -> dict[str, Any]:
    return {"id": f"P{name.upper()}", "type": "user_reference", "summary": name}


def pagerduty_replies() -> dict[str, Any]:
    service = {"id": "PSVC1", "type": "service_reference", "summary": "payments-api"}
    policy = {"id": "PEP1", "type": "escalation_policy_reference", "summary": "Payments"}

    def entry(n: int, kind: str, minutes: float, **fields: Any) -> dict[str, Any]:
        return {"id": f"R{n:04d}", "type": kind, "created_at": iso(minutes), "service": service, **fields}

    log_entries = [
        entry(1, "trigger_log_entry", 0, agent={"type": "service_reference", "summary": "payments-api"}),
        entry(2, "notify_log_entry", 1, agent=service, user=_pd_user("alice"),
              channel={"type": "notification", "notification": {"type": "phone_notification"}}),
        entry(3, "escalate_log_entry", 16, agent=policy),
        entry(4, "notify_log_entry", 16.2, agent=service, user=_pd_user("bob"),
              channel={"type": "notification", "notification": {"type": "phone_notification"}}),
        entry(5, "acknowledge_log_entry", 21, agent=_pd_user("bob")),
        entry(6, "resolve_log_entry", 40, agent=_pd_user("bob")),
    ]  # fmt: skip
    incident = {
        "id": "PX4821",
        "incident_number": 4821,
        "title": "Payments API 5xx rate above 5%",
        "status": "resolved",
        "created_at": iso(0),
        "service": service,
        "escalation_policy": policy,
        "urgency": "high",
    }
    alert = {"id": "PA1", "summary": "Payments API 5xx rate above 5%", "created_at": iso(0), "status": "resolved",
             "service": service}  # fmt: skip
    note = {"id": "PN1", "content": "Rolling back payments-api 2.4.1", "created_at": iso(25), "user": _pd_user("bob")}
    return {
        "incident.json": {"incident": incident},
        "log_entries.json": {"log_entries": log_entries},
        "alerts.json": {"alerts": [alert]},
        "notes.json": {"notes": [note]},
    }
