"""``retroflow`` in a process of its own with test plugins added: a timeline source, and a
tracker keeping its tickets in a JSON file every process shares. Either can be told to
stop dead at one point (``RETROFLOW_TEST_BLOCK=collect`` or ``create``), after writing
``RETROFLOW_TEST_MARKER``, so that a test can ``kill -9`` the process there. With
``RETROFLOW_TEST_BUILDS`` set, every build of the source takes
``RETROFLOW_TEST_BUILD_SECONDS`` (default 0) and appends ``incident start|end time pid``
lines to that file (tests count builds and check that two of one incident never overlap).

    python worker_process.py [retroflow arguments...]
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from retroflow import (
    ActionItem,
    Event,
    Factor,
    Incident,
    IncidentEvent,
    Layer,
    SourceResult,
    TicketDraft,
    TicketRef,
    TicketStatus,
    WebhookDelivery,
    WebhookRejected,
    hookimpl,
)
from retroflow import cli as cli_module
from retroflow.plugins import get_plugin_manager

T0 = datetime(2026, 11, 7, 3, 32, tzinfo=UTC)


def _block(point: str) -> None:
    if os.environ.get("RETROFLOW_TEST_BLOCK") == point:
        Path(os.environ["RETROFLOW_TEST_MARKER"]).write_text(point)
        while True:  # until killed
            time.sleep(1)


def _record_build(incident: str) -> None:
    builds = os.environ.get("RETROFLOW_TEST_BUILDS")
    if not builds:
        return
    _append(builds, f"{incident} start {time.time():.6f} {os.getpid()}\n")
    time.sleep(float(os.environ.get("RETROFLOW_TEST_BUILD_SECONDS") or 0))
    _append(builds, f"{incident} end {time.time():.6f} {os.getpid()}\n")


def _append(path: str, line: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(descriptor, line.encode())  # one small append: whole, whichever process writes
    finally:
        os.close(descriptor)


class Source:
    @hookimpl
    def retroflow_timeline_source(self, request: Any) -> SourceResult:
        _block("collect")
        _record_build(request.incident_ref)
        incident = Incident(
            id=request.incident_ref, title="Checkout down", created=T0 - timedelta(hours=1), resolved=T0
        )
        events = [
            Event.create(at=T0 - timedelta(minutes=60), source="t", kind="alert", summary="errors", native_id="a"),
            Event.create(
                at=T0 - timedelta(minutes=50), source="t", kind="ack", summary="ack", native_id="k", actor="al"
            ),
            Event.create(at=T0, source="t", kind="resolve", summary="resolved", native_id="r"),
        ]
        return SourceResult(incident=incident, events=events)

    @hookimpl
    def retroflow_find_factors(self, timeline: Any) -> list[Factor]:
        return [Factor("late", Layer.TECHNICAL, "Late", "late", [timeline.events[0].id])]

    @hookimpl
    def retroflow_propose_actions(self, incident: Incident) -> list[ActionItem]:
        return [
            ActionItem.create(incident_id=incident.id, title=f"Action {n}", key=n, factors=["late"]) for n in range(3)
        ]


class FileTracker:
    """Tickets in a JSON file: ``[{"id", "key", "title"}]``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _locked(self) -> Any:
        with open(f"{self.path}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            tickets = json.loads(self.path.read_text()) if self.path.exists() else []
            yield tickets
            self.path.write_text(json.dumps(tickets))

    def create(self, drafts: Sequence[TicketDraft]) -> list[TicketRef]:
        refs = []
        with self._locked() as tickets:
            for draft in drafts:
                tickets.append({"id": f"T-{len(tickets) + 1}", "key": draft.key, "title": draft.action.title})
                refs.append(TicketRef("filetracker", tickets[-1]["id"], key=draft.key))
        _block("create")  # the tickets exist; the outbox has not recorded them
        return refs

    def find(self, key: str) -> TicketRef | None:
        with self._locked() as tickets:
            found = [t for t in tickets if t["key"] == key]
        return TicketRef("filetracker", found[0]["id"], key=key) if found else None

    def status(self, refs: Sequence[TicketRef]) -> list[TicketStatus]:
        return [TicketStatus(ref, "open") for ref in refs]

    def preview(self, draft: TicketDraft) -> Mapping[str, Any]:
        return {"title": draft.action.title}


class FileTrackerSink:
    name = "filetracker"
    max_batch = 50
    search_lag = 0.0

    def open(self, config: Any) -> FileTracker:
        return FileTracker(Path(os.environ["RETROFLOW_TEST_TICKETS"]))


class Sinks:
    @hookimpl
    def retroflow_register_tracker_sinks(self, register: Callable[[Any], None]) -> None:
        register(FileTrackerSink())

    @hookimpl
    def retroflow_register_webhooks(self, register: Callable[[Any], None]) -> None:
        register(Receiver())


class Receiver:
    """``demo``: the body is an incident event as JSON, signed with X-Demo-Signature
    (the HMAC-SHA256 of the body with $RETROFLOW_TEST_SECRET)."""

    name = "demo"

    def configured(self, config: Any) -> bool:
        return True

    def verify(self, body: bytes, headers: Mapping[str, str], config: Any) -> None:
        expected = hmac.new(os.environ["RETROFLOW_TEST_SECRET"].encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("x-demo-signature", ""), expected):
            raise WebhookRejected("signature does not match", status=403)

    def parse(self, body: bytes, headers: Mapping[str, str], config: Any) -> WebhookDelivery:
        data = json.loads(body)
        at = datetime.fromisoformat(data["at"])
        event = IncidentEvent("demo", data["incident"], data["type"], at, data["id"], event_type=data["type"])
        return WebhookDelivery(data["id"], data["type"], event)


def main() -> None:
    def manager(**kwargs: Any) -> Any:
        return get_plugin_manager(extra_plugins=[("test-source", Source()), ("test-sinks", Sinks())], **kwargs)

    sys.argv = ["retroflow", *sys.argv[1:]]
    cli_module.main(obj={"plugin_manager_factory": manager})


if __name__ == "__main__":
    main()
