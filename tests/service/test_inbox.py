"""The intake's writer: deliveries waiting together are committed together, each answered
only after the commit; one that cannot be recorded fails alone."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from retroflow import IncidentEvent, Lifecycle, WebhookDelivery
from retroflow.config import ServiceSettings
from retroflow.service import inbox as inbox_module
from retroflow.service.inbox import Inbox, Received


def received(n: int, kit: Any, incident: str | None = None) -> Received:
    event = IncidentEvent("demo", incident or f"INC-{n}", Lifecycle.RESOLVED, kit.T0, f"ev-{n}")
    return Received("demo", WebhookDelivery(f"ev-{n}", "resolved", event))


def test_deliveries_waiting_together_are_committed_in_one_batch(database: Any, jobs: Any, kit: Any) -> None:
    inbox = Inbox(database, jobs, ServiceSettings())
    futures = [inbox.submit(received(n, kit)) for n in range(50)]  # queued before the writer starts
    inbox.start()
    try:
        results = [future.result(timeout=30) for future in futures]
    finally:
        inbox.stop()
    assert [r.outcome for r in results] == ["scheduled"] * 50
    assert inbox.batches == 1
    assert len(jobs.jobs()) == 50


def test_one_delivery_that_cannot_be_recorded_fails_alone(
    database: Any, jobs: Any, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = inbox_module.apply_event

    def broken(conn: Any, backend: Any, event: IncidentEvent, *args: Any) -> Any:
        if event.incident_id == "INC-BAD":
            raise RuntimeError("a bug")
        return real(conn, backend, event, *args)

    monkeypatch.setattr(inbox_module, "apply_event", broken)
    inbox = Inbox(database, jobs, ServiceSettings())
    futures = [inbox.submit(received(n, kit, "INC-BAD" if n == 1 else None)) for n in range(3)]
    inbox.start()
    try:
        with pytest.raises(RuntimeError, match="a bug"):
            futures[1].result(timeout=30)
        assert [futures[n].result(timeout=30).outcome for n in (0, 2)] == ["scheduled", "scheduled"]
    finally:
        inbox.stop()
    assert sorted(j.payload["incident_id"] for j in jobs.jobs()) == ["INC-0", "INC-2"]


def test_only_a_draft_already_due_wakes_the_workers(database: Any, jobs: Any, kit: Any, clock: Any) -> None:
    woken = threading.Event()
    inbox = Inbox(database, jobs, ServiceSettings(draft_delay=600), on_scheduled=woken.set, now=clock)
    inbox.start()
    try:
        inbox.submit(received(1, kit)).result(timeout=30)  # resolved at T0, due at T0 + 10 min
        assert not woken.is_set()
        clock.advance(3600)  # a resolve PagerDuty delivered an hour late: due at once
        inbox.submit(received(2, kit)).result(timeout=30)
        assert woken.is_set()
    finally:
        inbox.stop()
    assert [j.run_after for j in jobs.jobs()] == [kit.T0 + timedelta(minutes=10)] * 2
