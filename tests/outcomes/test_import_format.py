"""The history import format: good lines become records, each bad line an error with its
number, and the rest still count."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from retroflow.model import DoneAction, IncidentRecord
from retroflow.outcomes.history import LineError, parse_history

METRICS = ("incident-rate", "time-to-restore", "time-to-detect")

INCIDENT = {
    "type": "incident",
    "id": "OPS-1",
    "service": "checkout",
    "started_at": "2025-03-01T10:00:00+01:00",
    "resolved_at": "2025-03-01T10:45:00+01:00",
}
ACTION = {
    "type": "action",
    "id": "A-1",
    "incident": "OPS-1",
    "service": "checkout",
    "title": "Canary checkout deploys",
    "metric": "incident-rate",
    "done_at": "2025-03-20T09:00:00Z",
}


def lines(*records: object) -> list[str]:
    return [r if isinstance(r, str) else json.dumps(r) for r in records]


def test_incidents_and_actions_are_read_with_their_optional_fields() -> None:
    full = {
        **INCIDENT,
        "detected_at": "2025-03-01T09:05:00Z",
        "acknowledged_at": "2025-03-01T09:09:00Z",
        "alerts": 4,
        "pages": 2,
        "pages_out_of_hours": 1,
        "severity": "SEV2",
        "auto_resolved": False,
        "details": {"team": "storefront"},
    }
    parsed = parse_history(lines(full, ACTION), metrics=METRICS)
    assert parsed.errors == ()
    (incident,) = parsed.incidents
    assert incident == IncidentRecord(
        id="OPS-1",
        services=("checkout",),
        started=datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
        resolved=datetime(2025, 3, 1, 9, 45, tzinfo=UTC),
        detected=datetime(2025, 3, 1, 9, 5, tzinfo=UTC),
        acknowledged=datetime(2025, 3, 1, 9, 9, tzinfo=UTC),
        alerts=4,
        pages=2,
        pages_out_of_hours=1,
        auto_resolved=False,
        severity="SEV2",
        origin="import",
        details={"team": "storefront"},
    )
    assert parsed.actions == (
        DoneAction(
            id="A-1",
            incident="OPS-1",
            title="Canary checkout deploys",
            metric="incident-rate",
            service="checkout",
            done_at=datetime(2025, 3, 20, 9, tzinfo=UTC),
            origin="import",
        ),
    )


def test_each_bad_line_is_reported_with_its_number_and_the_rest_is_read() -> None:
    parsed = parse_history(
        lines(
            INCIDENT,  # 1 good
            "{not json",  # 2
            {**INCIDENT, "id": "OPS-2", "started_at": "2025-03-01T10:00:00"},  # 3 no offset
            {k: v for k, v in INCIDENT.items() if k != "service"} | {"id": "OPS-3"},  # 4
            {**INCIDENT, "id": "OPS-4", "colour": "red"},  # 5
            {**ACTION, "id": "A-2", "metric": "mttr"},  # 6
            {**INCIDENT, "id": "OPS-5", "resolved_at": "2025-03-01T08:00:00Z"},  # 7
            {**INCIDENT, "id": "OPS-6", "alerts": -1},  # 8
            {**INCIDENT, "id": "OPS-7", "pages": True},  # 9
            {**INCIDENT, "type": "ticket"},  # 10
            "",  # 11 blank: skipped silently
            {**INCIDENT, "service": "payments"},  # 12 the same id again
            "[1, 2]",  # 13
            ACTION,  # 14 good
        ),
        metrics=METRICS,
    )
    assert [r.id for r in parsed.incidents] == ["OPS-1"]
    assert [a.id for a in parsed.actions] == ["A-1"]
    messages = {e.line: e.message for e in parsed.errors}
    assert sorted(messages) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13]
    assert messages[2].startswith("not JSON")
    assert messages[3] == "started_at: timestamp 2025-03-01T10:00:00 has no UTC offset"
    assert messages[4] == "missing service"
    assert messages[5] == "unknown field(s) colour"
    assert messages[6].startswith("metric: 'mttr' is not an outcome metric (known: incident-rate,")
    assert messages[7] == "resolved_at is before started_at"
    assert messages[8] == "alerts: expected a whole number ≥ 0"
    assert messages[9] == "pages: expected a whole number ≥ 0"
    assert messages[10] == "type: expected 'incident' or 'action', not 'ticket'"
    assert messages[12] == "incident 'OPS-1' is already on line 1"
    assert messages[13] == "expected a JSON object"
    assert str(LineError(3, "x")) == "line 3: x"


def test_bytes_that_are_not_utf8_are_a_bad_line() -> None:
    parsed = parse_history([json.dumps(INCIDENT).encode(), b'{"id": "\xff"}'], metrics=METRICS)
    assert len(parsed.incidents) == 1
    assert parsed.errors[0].line == 2 and parsed.errors[0].message.startswith("not JSON")
