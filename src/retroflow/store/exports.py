"""Exporting actions to trackers through an outbox, exactly once in effect.

No tracker API offers exactly-once delivery, so the effect is built from three parts:

1. **Intent first.** One outbox row per (incident, action, sink), with a deterministic
   idempotency key (:func:`export_key`: a hash of incident id, action id and sink name,
   not of the retro version, so rebuilding a retro does not export again), is committed
   before any request is sent.
2. **Claim, then send.** A batch of rows is claimed (state ``in_flight``, a lease and an
   attempt time) in a committed transaction, then sent; the ticket carries the key.
3. **Record in the same transaction.** The ticket's external id is written to
   ``tracker_links`` in the same transaction that marks the row ``done``.

An ambiguous failure (timeout, 5xx after sending) leaves the row ``needs_reconcile``; a crash
leaves it ``in_flight`` until its lease expires. Either way the next run first searches the
tracker for the key (:meth:`TrackerClient.find`) and records the ticket if it exists; when
it does not, the row is re-created only once ``search_lag`` seconds have passed since the
create was last sent (Jira's search is eventually consistent): every later send, after a
429 wait or for the next chunk (:func:`retroflow.trackers.sending`), moves the attempt time. Certain failures (``failed``) are simply
retried. A 429 (``TrackerError`` with ``retry_after``) is waited out, a bounded number of
times.
"""

from __future__ import annotations

import enum
import hashlib
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa

from retroflow.clock import utcnow
from retroflow.config import Config
from retroflow.errors import RetroflowError, TrackerError
from retroflow.http import on_sending
from retroflow.logs import get_logger, redact_text
from retroflow.model import ActionItem, Retro
from retroflow.roles import TicketDraft, TicketRef, TicketStatus, TrackerClient, TrackerSink
from retroflow.store import schema as t
from retroflow.store.schema import ExportState
from retroflow.store.store import Store

__all__ = [
    "ExportItem",
    "ExportOutcome",
    "ExportReport",
    "SyncReport",
    "export_actions",
    "export_key",
    "sync_status",
]

log = get_logger(__name__)

#: Test seam: called with "claimed" (lease committed, nothing sent), "sent" (the tracker
#: answered, nothing recorded) and "committed" (results recorded), once per batch.
Checkpoint = Callable[[str], None]


def export_key(incident_id: str, action_id: str, sink: str) -> str:
    """The idempotency key of exporting one action to one sink (stable across rebuilds)."""
    digest = hashlib.sha256("\x1f".join(("retroflow-export", incident_id, action_id, sink)).encode()).hexdigest()
    return "retroflow-" + digest[:24]


class ExportOutcome(enum.StrEnum):
    """What happened to one action in an export run."""

    CREATED = "created"
    RECONCILED = "reconciled"  # found by key after an ambiguous failure or crash
    ALREADY_EXPORTED = "already exported"
    WAITING = "waiting for search lag"
    NEEDS_RECONCILE = "needs reconcile"
    FAILED = "failed"
    IN_FLIGHT = "in flight elsewhere"
    WOULD_CREATE = "would create"  # a dry run
    WOULD_RECONCILE = "would reconcile"  # a dry run


@attrs.frozen
class ExportItem:
    """What happened to one action in an export run (:class:`ExportOutcome`)."""

    action_id: str
    title: str
    key: str
    outcome: ExportOutcome = attrs.field(converter=ExportOutcome)
    external_id: str | None = None
    url: str | None = None
    error: str | None = None
    preview: Mapping[str, Any] | None = None


#: Outcomes after which the action has its ticket.
SETTLED = frozenset({ExportOutcome.CREATED, ExportOutcome.RECONCILED, ExportOutcome.ALREADY_EXPORTED})


@attrs.frozen
class ExportReport:
    incident_id: str
    sink: str
    dry_run: bool
    items: tuple[ExportItem, ...]
    create_calls: int = 0
    find_calls: int = 0
    rate_limit_waits: tuple[float, ...] = ()

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.outcome] = counts.get(item.outcome, 0) + 1
        return counts

    @property
    def complete(self) -> bool:
        """Every action has its ticket (a dry run is never complete)."""
        return not self.dry_run and all(item.outcome in SETTLED for item in self.items)


def export_actions(
    store: Store,
    incident_id: str,
    sink: TrackerSink,
    config: Config,
    *,
    dry_run: bool = False,
    action_ids: Iterable[str] | None = None,
    retro_url: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = utcnow,
    lease_seconds: float = 600.0,
    reclaim: bool = False,
    max_rate_limit_waits: int = 5,
    max_wait: float = 120.0,
    client: TrackerClient | None = None,
    checkpoint: Checkpoint | None = None,
) -> ExportReport:
    """Export the actions of ``incident_id``'s newest retro to ``sink``; safe to re-run.

    :param dry_run: send nothing and write nothing; report what would be created (with
        the sink's :meth:`~TrackerClient.preview` of each ticket) or reconciled.
    :param action_ids: export only these actions (default: all of the newest retro).
    :param sleep: how to wait out a 429 (injectable for tests).
    :param now: the clock (injectable for tests).
    :param lease_seconds: how long a claimed row belongs to this run; a crashed run's rows
        are reconciled once the lease expires.
    :param reclaim: treat unexpired leases as expired (when no other export can be running).
    :param max_rate_limit_waits: how many 429 answers one batch may wait out.
    :param max_wait: longest single wait, whatever ``Retry-After`` says.
    :raises RetroflowError: no stored retro, or an unknown action id.
    """
    retro = store.latest_retro(incident_id)
    actions = list(retro.actions)
    if action_ids is not None:
        wanted = list(dict.fromkeys(action_ids))
        known = retro.actions_by_id()
        unknown = [a for a in wanted if a not in known]
        if unknown:
            raise RetroflowError(f"incident {incident_id!r} has no action {unknown[0]!r} in its newest retro")
        actions = [known[a] for a in wanted]
    client = client if client is not None else sink.open(config)
    run = _Run(
        store, retro, sink, client, config, sleep, now, lease_seconds, max_rate_limit_waits, max_wait, checkpoint
    )
    if dry_run:
        return run.dry_run(actions)
    return run.export(actions, retro_url, reclaim)


class _Run:
    def __init__(
        self,
        store: Store,
        retro: Retro,
        sink: TrackerSink,
        client: TrackerClient,
        config: Config,
        sleep: Callable[[float], None],
        now: Callable[[], datetime],
        lease_seconds: float,
        max_rate_limit_waits: int,
        max_wait: float,
        checkpoint: Checkpoint | None,
    ) -> None:
        self.store = store
        self.retro = retro
        self.incident_id = retro.incident.id
        self.sink = sink
        self.config = config
        self.sleep = sleep
        self.now = now
        self.lease = timedelta(seconds=lease_seconds)
        self.max_rate_limit_waits = max_rate_limit_waits
        self.max_wait = max_wait
        self.checkpoint = checkpoint or (lambda stage: None)
        self.client = client
        self.items: dict[str, ExportItem] = {}
        self.create_calls = 0
        self.find_calls = 0
        self.waits: list[float] = []

    def report(self, actions: Sequence[ActionItem], dry_run: bool) -> ExportReport:
        return ExportReport(
            incident_id=self.incident_id,
            sink=self.sink.name,
            dry_run=dry_run,
            items=tuple(self.items[a.id] for a in actions if a.id in self.items),
            create_calls=self.create_calls,
            find_calls=self.find_calls,
            rate_limit_waits=tuple(self.waits),
        )

    def _rows(self, action_ids: Iterable[str]) -> dict[str, Any]:
        e = t.exports.c
        ids = list(action_ids)
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.exports, t.tracker_links.c.external_id, t.tracker_links.c.url)
                .outerjoin(t.tracker_links, t.tracker_links.c.export_id == e.id)
                .where(e.incident_id == self.incident_id, e.sink == self.sink.name, e.action_id.in_(ids))
            ).all()
        return {row.action_id: row for row in rows}

    def _item(self, action: ActionItem, outcome: ExportOutcome, **kwargs: Any) -> None:
        key = export_key(self.incident_id, action.id, self.sink.name)
        self.items[action.id] = ExportItem(action.id, action.title, key, outcome, **kwargs)

    # -- dry run -----------------------------------------------------------------------

    def dry_run(self, actions: Sequence[ActionItem]) -> ExportReport:
        rows = self._rows(a.id for a in actions)
        for action in actions:
            row = rows.get(action.id)
            if row is not None and row.state == ExportState.DONE:
                self._item(action, ExportOutcome.ALREADY_EXPORTED, external_id=row.external_id, url=row.url)
            elif row is not None and row.state in (ExportState.IN_FLIGHT, ExportState.NEEDS_RECONCILE):
                self._item(action, ExportOutcome.WOULD_RECONCILE, error=row.last_error)
            else:
                draft = self._draft(action)
                self._item(action, ExportOutcome.WOULD_CREATE, preview=dict(self.client.preview(draft)))
        return self.report(actions, dry_run=True)

    def _draft(self, action: ActionItem, retro_url: str | None = None) -> TicketDraft:
        return TicketDraft(
            key=export_key(self.incident_id, action.id, self.sink.name),
            action=action,
            retro=self.retro,
            retro_url=retro_url,
        )

    # -- export ------------------------------------------------------------------------

    def export(self, actions: Sequence[ActionItem], retro_url: str | None, reclaim: bool) -> ExportReport:
        self._write_intents(actions)
        by_id = {a.id: a for a in actions}
        rows = self._rows(by_id)
        now = self.now()
        for action in actions:
            row = rows[action.id]
            if row.state == ExportState.NEEDS_RECONCILE or (
                row.state == ExportState.IN_FLIGHT and (reclaim or row.lease_until is None or row.lease_until <= now)
            ):
                self._reconcile(action, row)
            elif row.state not in (ExportState.PENDING, ExportState.FAILED):
                self._describe(action, row)
        # Read again: reconciling may have made rows pending, and another run may have
        # claimed or finished some meanwhile. Every action not sent here gets its row's
        # state, so a run that did nothing never reports an empty, complete export.
        rows = self._rows(by_id)
        todo = []
        for action in actions:
            if action.id in self.items:
                continue
            row = rows[action.id]
            if row.state in (ExportState.PENDING, ExportState.FAILED):
                todo.append(action)
            else:
                self._describe(action, row)
        batch_size = max(1, int(self.sink.max_batch))
        for start in range(0, len(todo), batch_size):
            self._create_batch(todo[start : start + batch_size], retro_url)
        return self.report(actions, dry_run=False)

    def _describe(self, action: ActionItem, row: Any) -> None:
        """The item of an action this run does not send: its row is done, held by another
        run, or waiting to be reconciled."""
        if row.state == ExportState.DONE:
            self._item(action, ExportOutcome.ALREADY_EXPORTED, external_id=row.external_id, url=row.url)
        elif row.state == ExportState.IN_FLIGHT:
            until = f" until {row.lease_until:%Y-%m-%d %H:%M:%S} UTC" if row.lease_until else ""
            self._item(action, ExportOutcome.IN_FLIGHT, error=f"claimed by another export{until}")
        else:
            self._item(action, ExportOutcome.NEEDS_RECONCILE, error=row.last_error)

    def _write_intents(self, actions: Sequence[ActionItem]) -> None:
        """One outbox row per action, written (and committed) before any request."""
        if not actions:
            return
        now = self.now()
        values = [
            {
                "incident_id": self.incident_id,
                "action_id": a.id,
                "sink": self.sink.name,
                "key": export_key(self.incident_id, a.id, self.sink.name),
                "state": ExportState.PENDING,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
            for a in actions
        ]
        insert: Any
        if self.store.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            insert = pg_insert(t.exports).on_conflict_do_nothing(index_elements=["key"])
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            insert = sqlite_insert(t.exports).on_conflict_do_nothing(index_elements=["key"])
        with self.store.begin() as conn:
            conn.execute(insert, values)

    def _reconcile(self, action: ActionItem, row: Any) -> None:
        """Search for the key before anything is created again."""
        self.find_calls += 1
        try:
            ref = self.client.find(row.key)
        except TrackerError as exc:
            self._item(action, ExportOutcome.NEEDS_RECONCILE, error=f"search failed: {_message(exc)}")
            return
        if ref is not None:
            with self.store.begin() as conn:
                self._mark_done(conn, {row.id: ref}, None, self.now())
            self._item(action, ExportOutcome.RECONCILED, external_id=ref.external_id, url=ref.url)
            return
        since = self.now() - (row.last_attempt_at or row.updated_at)
        lag = timedelta(seconds=float(self.sink.search_lag))
        if since < lag:
            if row.state == ExportState.IN_FLIGHT:
                self._release_orphan(row)
            left = (lag - since).total_seconds()
            self._item(
                action,
                ExportOutcome.WAITING,
                error=f"not found yet; {self.sink.name} search may lag {self.sink.search_lag:g} s "
                f"(retry in {left:.0f} s)",
            )
            return
        # Not there after the search lag: the earlier attempt did not take effect.
        with self.store.begin() as conn:
            conn.execute(
                sa.update(t.exports)
                .where(t.exports.c.id == row.id, t.exports.c.state == row.state)
                .values(state=ExportState.PENDING, claim_token=None, lease_until=None, updated_at=self.now())
            )

    def _release_orphan(self, row: Any) -> None:
        """A crashed run's row (lease expired, or ``reclaim``) whose create may still show
        up: keep its attempt time and make it ``needs_reconcile``, so the next run
        reconciles it without ``reclaim``."""
        e = t.exports.c
        with self.store.begin() as conn:
            conn.execute(
                sa.update(t.exports)
                .where(e.id == row.id, e.state == ExportState.IN_FLIGHT, e.claim_token == row.claim_token)
                .values(state=ExportState.NEEDS_RECONCILE, claim_token=None, lease_until=None, updated_at=self.now())
            )

    def _claim(self, actions: Sequence[ActionItem], token: str) -> list[ActionItem]:
        """Claim the batch in one committed statement; only rows still pending or failed
        are taken, so two runs never send the same row."""
        now = self.now()
        e = t.exports.c
        with self.store.begin() as conn:
            taken = set(
                conn.execute(
                    sa.update(t.exports)
                    .where(
                        e.incident_id == self.incident_id,
                        e.sink == self.sink.name,
                        e.action_id.in_([a.id for a in actions]),
                        e.state.in_([ExportState.PENDING, ExportState.FAILED]),
                    )
                    .values(
                        state=ExportState.IN_FLIGHT,
                        claim_token=token,
                        lease_until=now + self.lease,
                        last_attempt_at=now,
                        attempts=e.attempts + 1,
                        updated_at=now,
                    )
                    .returning(e.action_id)
                ).scalars()
            )
        for action in actions:
            if action.id not in taken:
                self._item(action, ExportOutcome.IN_FLIGHT, error="claimed by another export")
        return [a for a in actions if a.id in taken]

    def _create_batch(self, batch: Sequence[ActionItem], retro_url: str | None) -> None:
        token = uuid.uuid4().hex
        claimed = self._claim(batch, token)
        if not claimed:
            return
        self.checkpoint("claimed")
        results, whole = self._send([self._draft(a, retro_url) for a in claimed], token)
        self.checkpoint("sent")
        now = self.now()
        outcomes: list[tuple[ActionItem, ExportOutcome, dict[str, Any]]] = []
        with self.store.begin() as conn:
            row_ids = self._row_ids(conn, [a.id for a in claimed])
            created: dict[int, TicketRef] = {}
            for i, action in enumerate(claimed):
                row_id = row_ids[action.id]
                result: TicketRef | TrackerError | Any = whole if results is None else results[i]
                if isinstance(result, TicketRef):
                    created[row_id] = result
                    continue
                ambiguous, error = self._mark_failed(conn, row_id, token, result, now)
                outcomes.append(
                    (action, ExportOutcome.NEEDS_RECONCILE if ambiguous else ExportOutcome.FAILED, {"error": error})
                )
            recorded = self._mark_done(conn, created, token, now)
            for action in claimed:
                ref = created.get(row_ids[action.id])
                if ref is not None:
                    outcome = (
                        ExportOutcome.CREATED if row_ids[action.id] in recorded else ExportOutcome.ALREADY_EXPORTED
                    )
                    outcomes.append((action, outcome, {"external_id": ref.external_id, "url": ref.url}))
        for action, outcome, extra in outcomes:
            self._item(action, outcome, **extra)
        self.checkpoint("committed")

    def _send(
        self, drafts: list[TicketDraft], token: str
    ) -> tuple[Sequence[TicketRef | TrackerError] | None, TrackerError | None]:
        """Create the tickets of ``drafts``, waiting out rate limits (up to
        ``max_rate_limit_waits`` times): one result per draft, or the error that failed the
        whole request."""
        waits = 0
        while True:
            self.create_calls += 1
            try:
                with on_sending(lambda: self._mark_sending(token)):
                    results = list(self.client.create(drafts))
            except TrackerError as exc:
                if exc.retry_after is not None and not exc.ambiguous and waits < self.max_rate_limit_waits:
                    delay = min(max(float(exc.retry_after), 0.0), self.max_wait)
                    waits += 1
                    self.waits.append(delay)
                    log.info("rate limited", sink=self.sink.name, wait=delay)
                    self.sleep(delay)
                    self._mark_sending(token)
                    continue
                return None, exc
            break
        if len(results) != len(drafts):
            message = f"{self.sink.name} returned {len(results)} result(s) for {len(drafts)} draft(s)"
            return None, TrackerError(message, ambiguous=True)
        return results, None

    def _mark_failed(
        self, conn: sa.Connection, row_id: int, token: str, result: object, now: datetime
    ) -> tuple[bool, str]:
        """Record that the create of row ``row_id`` failed (``result``: its error, or what
        the sink returned instead of a ticket): whether that is ambiguous (it may have
        landed: reconcile) or certain (retry), and the error."""
        if isinstance(result, TrackerError):
            ambiguous, error = result.ambiguous, _message(result)
        else:
            ambiguous, error = True, f"{self.sink.name} returned {type(result).__name__}, not a TicketRef"
        conn.execute(
            sa.update(t.exports)
            .where(t.exports.c.id == row_id, t.exports.c.claim_token == token)
            .values(
                state=ExportState.NEEDS_RECONCILE if ambiguous else ExportState.FAILED,
                claim_token=None,
                lease_until=None,
                last_error=error,
                # An ambiguous request may have landed any time until now.
                last_attempt_at=now if ambiguous else t.exports.c.last_attempt_at,
                updated_at=now,
            )
        )
        return ambiguous, error

    def _mark_sending(self, token: str) -> None:
        """The claimed rows' create is about to be sent (again): record the moment, which
        a later reconcile counts the search lag from, and extend the lease."""
        now = self.now()
        with self.store.begin() as conn:
            conn.execute(
                sa.update(t.exports)
                .where(t.exports.c.claim_token == token)
                .values(lease_until=now + self.lease, last_attempt_at=now, updated_at=now)
            )

    def _row_ids(self, conn: sa.Connection, action_ids: Sequence[str]) -> dict[str, int]:
        e = t.exports.c
        rows = conn.execute(
            sa.select(e.action_id, e.id).where(
                e.incident_id == self.incident_id, e.sink == self.sink.name, e.action_id.in_(list(action_ids))
            )
        )
        return {action_id: row_id for action_id, row_id in rows}

    def _mark_done(
        self, conn: sa.Connection, refs: Mapping[int, TicketRef], token: str | None, now: datetime
    ) -> set[int]:
        """Mark rows done and store their tickets, in the caller's transaction; return the
        rows this call recorded (a row another run finished meanwhile is left alone)."""
        if not refs:
            return set()
        e = t.exports.c
        condition = [e.id.in_(list(refs)), e.state != ExportState.DONE]
        if token is not None:
            condition.append(e.claim_token == token)
        done = {
            row.id: row
            for row in conn.execute(
                sa.update(t.exports)
                .where(*condition)
                .values(state=ExportState.DONE, claim_token=None, lease_until=None, last_error=None, updated_at=now)
                .returning(e.id, e.action_id, e.key)
            )
        }
        if len(done) != len(refs):
            log.warning("export rows changed under us", rows=sorted(set(refs) - set(done)), sink=self.sink.name)
        if done:
            conn.execute(
                sa.insert(t.tracker_links),
                [
                    {
                        "export_id": row_id,
                        "incident_id": self.incident_id,
                        "action_id": row.action_id,
                        "sink": self.sink.name,
                        "external_id": refs[row_id].external_id,
                        "url": refs[row_id].url,
                        "key": row.key,
                        "state": "open",
                        "created_at": now,
                    }
                    for row_id, row in done.items()
                ],
            )
        return set(done)


def _message(exc: BaseException) -> str:
    return redact_text(str(exc) or type(exc).__name__)


# -- status read-back -----------------------------------------------------------------


@attrs.frozen
class SyncReport:
    updated: int
    changed: int
    errors: tuple[str, ...] = ()


def sync_status(
    store: Store,
    sinks: Mapping[str, TrackerSink] | Iterable[TrackerSink],
    config: Config,
    *,
    now: Callable[[], datetime] = utcnow,
    clients: Mapping[str, TrackerClient] | None = None,
) -> SyncReport:
    """Ask each sink for the state of its tickets and store it (state, when it changed,
    when it was read). A sink that fails is reported and the others still sync."""
    by_name = dict(sinks) if isinstance(sinks, Mapping) else {s.name: s for s in sinks}
    updated = changed = 0
    errors: list[str] = []
    links = store.links(by_name)
    for name, sink in by_name.items():
        mine = [link for link in links if link.sink == name]
        if not mine:
            continue
        try:
            client = (clients or {}).get(name) or sink.open(config)
        except RetroflowError as exc:
            errors.append(f"{name}: {_message(exc)}")
            continue
        size = max(1, int(sink.max_batch))
        for start in range(0, len(mine), size):
            batch = mine[start : start + size]
            refs = [TicketRef(sink=name, external_id=x.external_id, url=x.url, key=x.key) for x in batch]
            try:
                statuses: Sequence[TicketStatus] = list(client.status(refs))
            except TrackerError as exc:
                errors.append(f"{name}: {_message(exc)}")
                break
            by_external = {s.ref.external_id: s for s in statuses}
            stamp = now()
            with store.begin() as conn:
                for link in batch:
                    status = by_external.get(link.external_id)
                    if status is None:
                        continue
                    state = status.state
                    values: dict[str, Any] = {"state": state, "synced_at": stamp}
                    if state != link.state:
                        changed += 1
                        values["state_changed_at"] = status.changed_at or stamp
                    elif status.changed_at is not None:
                        values["state_changed_at"] = status.changed_at
                    conn.execute(sa.update(t.tracker_links).where(t.tracker_links.c.id == link.id).values(**values))
                    updated += 1
    return SyncReport(updated=updated, changed=changed, errors=tuple(errors))
