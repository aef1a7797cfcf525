"""An in-memory tracker for tests and demos: :class:`FakeTrackerSink`.

It records every create call, finds tickets by idempotency key (optionally only after a
search lag on an injectable clock, like Jira), reports states set with
:meth:`FakeTracker.set_state`, and can be told to fail: a whole call (``fail_next``, with
the tickets landing or not), or single items (``fail_items``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from retroflow.config import Config
from retroflow.errors import TrackerError
from retroflow.roles import TicketDraft, TicketRef, TicketStatus

__all__ = ["FakeTicket", "FakeTracker", "FakeTrackerSink"]


@attrs.define
class FakeTicket:
    external_id: str
    key: str
    title: str
    owner: str | None
    created_at: datetime
    state: str = "open"
    changed_at: datetime | None = None


class FakeTracker:
    """The tracker's server side: tickets, and what was asked of it."""

    def __init__(self, clock: Callable[[], datetime], lag: float = 0.0) -> None:
        self.clock = clock
        self.lag = timedelta(seconds=lag)
        self.tickets: list[FakeTicket] = []
        self.create_calls: list[list[str]] = []
        self.find_calls: list[str] = []
        #: Whole-call failures for the next create calls: (error, tickets_land).
        self.fail_next: list[tuple[TrackerError, bool]] = []
        #: One-shot per-item failures, by idempotency key.
        self.fail_items: dict[str, TrackerError] = {}

    def tickets_with_key(self, key: str) -> list[FakeTicket]:
        return [ticket for ticket in self.tickets if ticket.key == key]

    def set_state(self, external_id: str, state: str, at: datetime | None = None) -> None:
        for ticket in self.tickets:
            if ticket.external_id == external_id:
                ticket.state = state
                ticket.changed_at = at or self.clock()


class FakeClient:
    def __init__(self, sink: FakeTrackerSink) -> None:
        self.sink = sink
        self.tracker = sink.tracker

    def _ref(self, ticket: FakeTicket) -> TicketRef:
        return TicketRef(
            sink=self.sink.name,
            external_id=ticket.external_id,
            url=f"https://tracker.invalid/{ticket.external_id}",
            key=ticket.key,
        )

    def _land(self, draft: TicketDraft) -> FakeTicket:
        ticket = FakeTicket(
            external_id=f"FAKE-{len(self.tracker.tickets) + 1}",
            key=draft.key,
            title=draft.action.title,
            owner=draft.action.owner,
            created_at=self.tracker.clock(),
        )
        self.tracker.tickets.append(ticket)
        return ticket

    def create(self, drafts: Sequence[TicketDraft]) -> list[TicketRef | TrackerError]:
        if len(drafts) > self.sink.max_batch:
            raise AssertionError(f"{len(drafts)} drafts in one call, max_batch is {self.sink.max_batch}")
        self.tracker.create_calls.append([d.key for d in drafts])
        if self.tracker.fail_next:
            error, land = self.tracker.fail_next.pop(0)
            if land:
                for draft in drafts:
                    self._land(draft)
            raise error
        results: list[TicketRef | TrackerError] = []
        for draft in drafts:
            failure = self.tracker.fail_items.pop(draft.key, None)
            if failure is not None:
                if failure.ambiguous:
                    self._land(draft)
                results.append(failure)
            else:
                results.append(self._ref(self._land(draft)))
        return results

    def find(self, key: str) -> TicketRef | None:
        self.tracker.find_calls.append(key)
        now = self.tracker.clock()
        for ticket in self.tracker.tickets_with_key(key):
            if now - ticket.created_at >= self.tracker.lag:
                return self._ref(ticket)
        return None

    def status(self, refs: Sequence[TicketRef]) -> list[TicketStatus]:
        by_id = {t.external_id: t for t in self.tracker.tickets}
        return [
            TicketStatus(ref=ref, state=by_id[ref.external_id].state, changed_at=by_id[ref.external_id].changed_at)
            for ref in refs
            if ref.external_id in by_id
        ]

    def preview(self, draft: TicketDraft) -> Mapping[str, Any]:
        return {"title": draft.action.title, "labels": [draft.key], "assignee": draft.action.owner}


class FakeTrackerSink:
    """A :class:`~retroflow.roles.TrackerSink` backed by a :class:`FakeTracker`."""

    def __init__(
        self,
        name: str = "fake",
        *,
        max_batch: int = 50,
        search_lag: float = 0.0,
        lag: float | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.name = name
        self.max_batch = max_batch
        self.search_lag = search_lag
        self.tracker = FakeTracker(clock or (lambda: datetime.now(UTC)), search_lag if lag is None else lag)
        self.opened = 0

    def open(self, config: Config) -> FakeClient:
        self.opened += 1
        return FakeClient(self)
