"""The inbox: every verified delivery stored durably, exactly once, before it is answered.

:func:`record_delivery` is one delivery's part of a transaction: the inbox row (``ON
CONFLICT (receiver, event_id) DO NOTHING``: a retry or replay stores nothing and schedules
nothing) and what it means to the incident's lifecycle (the draft job scheduled or
cancelled), together. ``retroflow watch`` records what it polls with it too.

:class:`Inbox` is the intake's writer: one thread takes the deliveries the server has
verified and parsed, writes every delivery waiting at that moment in one transaction
(one that fails to be recorded is left out and the rest written again: it fails alone),
and commits once — a durable commit (``synchronous=FULL`` on SQLite) is an fsync, and one
fsync for a batch is what lets a single SQLite file take a thousand deliveries a second.
Each delivery's future is resolved only after the commit: nothing is answered 2xx that is
not on disk.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa
import structlog
from sqlalchemy.exc import SQLAlchemyError

from retroflow.clock import utcnow
from retroflow.config import ServiceSettings
from retroflow.service.database import ServiceDatabase
from retroflow.service.events import WebhookDelivery
from retroflow.service.jobs import JobQueue
from retroflow.service.lifecycle import apply_event
from retroflow.service.sql import driver
from retroflow.store.database import _short as short_error

__all__ = ["Inbox", "IntakeResult", "Received", "record_delivery"]

log = structlog.get_logger(__name__)


@attrs.frozen
class Received:
    """A delivery that passed verification and parsing, with what the inbox keeps of it."""

    receiver: str
    delivery: WebhookDelivery
    webhook_id: str | None = None
    body: bytes | None = None


@attrs.frozen
class IntakeResult:
    """What recording a delivery did: ``outcome`` is ``duplicate``, ``ignored`` (an event
    type retroflow does not act on), or the lifecycle's decision
    (:class:`~retroflow.service.lifecycle.Decision`)."""

    outcome: str
    delivery_id: int | None = None
    job_id: int | None = None

    @property
    def duplicate(self) -> bool:
        return self.outcome == "duplicate"


def _short(exc: BaseException) -> str:
    """An error in one line, never with the statement's parameters (they hold the body)."""
    return f"{type(exc).__name__}: {short_error(exc)}" if isinstance(exc, SQLAlchemyError) else type(exc).__name__


def record_delivery(
    conn: sa.Connection, jobs: JobQueue, received: Received, settings: ServiceSettings, now: datetime
) -> IntakeResult:
    """Store ``received`` in the inbox and apply it to its incident, in ``conn``'s
    transaction; a delivery already stored (same receiver and event id) changes nothing."""
    sql = driver(conn)
    delivery = received.delivery
    event = delivery.incident_event
    row = sql.one(
        "INSERT INTO webhook_deliveries (receiver, event_id, webhook_id, event_type, source, incident_id, "
        "occurred_at, received_at, outcome, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (receiver, event_id) DO NOTHING RETURNING id",
        (
            received.receiver,
            delivery.event_id,
            received.webhook_id,
            delivery.event_type,
            event.source if event else None,
            event.incident_id if event else None,
            sql.time(event.occurred_at if event else None),
            sql.time(now),
            "ignored" if event is None else "received",
            None if received.body is None else received.body.decode("utf-8", "replace"),
        ),
    )
    if row is None:
        return IntakeResult("duplicate")
    delivery_id = int(row[0])
    if event is None:
        return IntakeResult("ignored", delivery_id)
    decision = apply_event(conn, jobs, event, settings, now)
    sql.run(
        "UPDATE webhook_deliveries SET outcome = ?, job_id = ? WHERE id = ?",
        (decision.outcome, decision.job_id, delivery_id),
    )
    return IntakeResult(decision.outcome, delivery_id, decision.job_id)


@attrs.frozen
class _Pending:
    """A delivery waiting for the writer, and how to tell its sender: a future of the
    server's event loop (``loop`` set), or a thread's."""

    received: Received
    future: asyncio.Future[IntakeResult] | concurrent.futures.Future[IntakeResult]
    loop: asyncio.AbstractEventLoop | None = None


class _Failed(Exception):
    """One delivery could not be recorded: the batch's transaction is rolled back and
    written again without it."""


@attrs.define(eq=False)
class Inbox:
    """The intake's writer thread (see the module's doc).

    :ivar on_scheduled: called after a commit that scheduled a draft job due now (to wake
        the workers of this process instead of waiting for their next poll).
    :ivar max_batch: most deliveries in one transaction.
    :ivar batches: transactions written so far.
    """

    database: ServiceDatabase
    jobs: JobQueue
    settings: ServiceSettings
    on_scheduled: Callable[[], None] | None = attrs.field(default=None, kw_only=True)
    now: Callable[[], datetime] = attrs.field(default=utcnow, kw_only=True)
    max_batch: int = attrs.field(default=256, kw_only=True)
    batches: int = attrs.field(default=0, init=False)
    _queue: queue.SimpleQueue[_Pending | None] = attrs.field(factory=queue.SimpleQueue, init=False)
    _thread: threading.Thread = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, name="retroflow-inbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Write what was submitted, then stop the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def submit(self, received: Received) -> concurrent.futures.Future[IntakeResult]:
        """Queue ``received`` for the next transaction; the future resolves once committed
        (or fails with the reason it was not stored)."""
        future: concurrent.futures.Future[IntakeResult] = concurrent.futures.Future()
        self._queue.put(_Pending(received, future))
        return future

    async def put(self, received: Received) -> IntakeResult:
        """:meth:`submit` for the server's event loop: the answer comes with the others of
        its batch, in one wake-up of the loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IntakeResult] = loop.create_future()
        self._queue.put(_Pending(received, future, loop))
        return await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        now = self.now()
        outcomes: dict[int, IntakeResult | BaseException] = {}
        while True:
            try:
                outcomes.update(self._transaction(batch, outcomes, now))
                break
            except _Failed:
                continue  # rolled back: again, without the delivery that failed
            except Exception as exc:  # the commit failed: nothing of the batch is stored
                log.error("inbox commit failed", deliveries=len(batch), error=_short(exc))
                outcomes.update({i: exc for i in range(len(batch)) if i not in outcomes})
                break
        self.batches += 1
        _settle([(pending, outcomes[i]) for i, pending in enumerate(batch)])
        if self.on_scheduled and any(self._due(p.received, outcomes[i], now) for i, p in enumerate(batch)):
            self.on_scheduled()

    def _transaction(
        self, batch: list[_Pending], failed: dict[int, IntakeResult | BaseException], now: datetime
    ) -> dict[int, IntakeResult]:
        """Record every delivery of ``batch`` not in ``failed`` in one transaction; raise
        :class:`_Failed` (the transaction rolled back) after adding one that fails to it."""
        recorded: dict[int, IntakeResult] = {}
        with self.database.transaction() as conn:
            for i, pending in enumerate(batch):
                if i in failed:
                    continue
                try:
                    recorded[i] = record_delivery(conn, self.jobs, pending.received, self.settings, now)
                except Exception as exc:
                    log.error("delivery not recorded", receiver=pending.received.receiver, error=_short(exc))
                    failed[i] = exc
                    raise _Failed from exc
        return recorded

    def _due(self, received: Received, outcome: IntakeResult | BaseException, now: datetime) -> bool:
        """Whether this delivery scheduled a draft due already (draft_delay 0, or a resolve
        delivered late): only then are the workers woken (a claim takes the write lock)."""
        event = received.delivery.incident_event
        if not isinstance(outcome, IntakeResult) or outcome.job_id is None or event is None:
            return False
        return event.occurred_at + timedelta(seconds=self.settings.draft_delay) <= now


def _settle(done: list[tuple[_Pending, IntakeResult | BaseException]]) -> None:
    """Resolve the futures of a written batch: a thread's at once, the event loop's in one
    call per loop (one wake-up, not one per delivery)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, IntakeResult | BaseException]]] = {}
    for pending, outcome in done:
        if pending.loop is not None:
            by_loop.setdefault(pending.loop, []).append((pending.future, outcome))
        else:
            _resolve(pending.future, outcome)
    for loop, items in by_loop.items():
        loop.call_soon_threadsafe(_resolve_all, items)


def _resolve_all(items: list[tuple[Any, IntakeResult | BaseException]]) -> None:
    for future, outcome in items:
        _resolve(future, outcome)


def _resolve(future: Any, outcome: IntakeResult | BaseException) -> None:
    if future.done():  # its sender stopped waiting (the intake's timeout)
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
