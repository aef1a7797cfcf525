"""The :class:`Store`: retro versions in normalised rows, human input, follow-ups."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from retroflow.clock import utcnow
from retroflow.errors import RetroflowError
from retroflow.model import Event, Retro, Timeline
from retroflow.serialize import factor_to_dict, from_document, to_document
from retroflow.store import schema as t
from retroflow.store.database import sqlite_file_lock
from retroflow.store.events import load_events, store_timeline
from retroflow.store.human import ActionEdit, AddedEvent, FactorVerdict, HumanInput, InputItem

__all__ = [
    "FollowUp",
    "InputRecord",
    "RetroSummary",
    "Store",
    "VersionSummary",
    "VersionTaken",
    "age_text",
    "by_owner",
]


#: Called inside the transaction that stores a retro (see :meth:`Store.save_retro`).
InTransaction = Callable[[sa.Connection, Retro], None]


class VersionTaken(RetroflowError):
    """Another build stored the version number this one was asked to store under."""


@attrs.frozen
class RetroSummary:
    """One incident in the store, with its newest retro version."""

    incident_id: str
    title: str
    versions: int
    latest_version: int
    latest_built_at: datetime
    actions: int
    services: tuple[str, ...] = ()


@attrs.frozen
class VersionSummary:
    version: int
    built_at: datetime
    request_ref: str
    event_count: int
    scoring_model: str


@attrs.frozen
class InputRecord:
    """One stored piece of human input (the table is append-only)."""

    id: int
    incident_id: str
    item: InputItem
    author: str
    created_at: datetime


@attrs.frozen
class FollowUp:
    """An action of the newest retro of an incident that is not done yet."""

    incident_id: str
    action_id: str
    title: str
    owner: str | None
    due: date | None
    first_proposed_at: datetime
    age: timedelta
    tracker: str | None = None
    external_id: str | None = None
    url: str | None = None
    state: str = "not exported"
    state_changed_at: datetime | None = None


NO_OWNER = "(no owner)"


def by_owner(items: Iterable[FollowUp]) -> list[tuple[str, list[FollowUp]]]:
    """Follow-ups by owner: the owner of the oldest open action first, unowned last."""
    grouped: dict[str, list[FollowUp]] = {}
    for item in items:
        grouped.setdefault(item.owner or NO_OWNER, []).append(item)
    order = sorted(grouped, key=lambda n: (n == NO_OWNER, -max(i.age for i in grouped[n]), n))
    return [(name, grouped[name]) for name in order]


def age_text(value: timedelta) -> str:
    """An age in its largest whole unit: ``3d``, ``5h``, ``12m``."""
    days = value.days
    if days >= 1:
        return f"{days}d"
    hours = int(value.total_seconds() // 3600)
    return f"{hours}h" if hours else f"{int(value.total_seconds() // 60)}m"


#: The kind of a record that withdraws an earlier one (its id is the target).
WITHDRAW = "withdraw"

#: Tracker states that close an action.
CLOSED_STATES = frozenset({"done", "won't do"})


class Store:
    """retroflow's database. Open it with :func:`retroflow.store.open_store`."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A connection in a write transaction, committed on success.

        On SQLite, writers take turns: each waits for the writer lock
        (:func:`~retroflow.store.database.sqlite_file_lock`), however long the others take,
        and then starts with ``BEGIN IMMEDIATE``, so the transaction holds SQLite's write
        lock from its first statement. Waiting out SQLite's busy timeout instead lost
        builds when several were saved at once; and a transaction that reads first and
        writes later can fail at once, whatever the timeout, when another wrote between.
        Readers never wait (WAL).
        """
        if self.dialect != "sqlite":
            with self.engine.begin() as connection:
                yield connection
            return
        with sqlite_file_lock(self.engine, "write"), self.engine.connect() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.commit()

    # -- retros -----------------------------------------------------------------------

    def save_retro(
        self,
        retro: Retro,
        request_ref: str = "",
        *,
        human: HumanInput | None = None,
        now: datetime | None = None,
        version: int | None = None,
        in_transaction: InTransaction | None = None,
    ) -> int:
        """Store ``retro`` as the next version of its incident (history is kept); return
        the version number. Events go in with one bulk insert.

        :param version: store exactly this version number (:meth:`next_version`, which
            documents written before storing already carry); :class:`VersionTaken` when
            another build stored it first.
        :param in_transaction: called with the connection and the stored retro inside the
            transaction that stores it, to record something with it atomically (the draft
            job marks its resolve drafted); what it raises undoes the save.
        """
        for attempt in range(3):
            try:
                return self._save(retro, request_ref, human or HumanInput(), now or utcnow(), version, in_transaction)
            except IntegrityError:  # a concurrent save took the same version number
                if version is not None and version < self.next_version(retro.incident.id):
                    raise VersionTaken(
                        f"version {version} of {retro.incident.id} was stored by another build"
                    ) from None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def next_version(self, incident_id: str) -> int:
        """The version number the next build of ``incident_id`` will be stored under."""
        with self.engine.connect() as conn:
            return _latest_version(conn, incident_id) + 1

    def resolve_incident(self, ref: str) -> str:
        """The incident id ``ref`` names: ``ref`` itself when an incident has that id, else
        the incident of the newest build asked for as ``ref`` (``retroflow retro 1042`` of a
        PagerDuty incident stores it under PagerDuty's id), else ``ref`` unchanged."""
        v = t.retro_versions.c
        with self.engine.connect() as conn:
            if _incident_exists(conn, ref):
                return ref
            row = conn.execute(
                sa.select(v.incident_id).where(v.request_ref == ref).order_by(v.built_at.desc(), v.id.desc()).limit(1)
            ).first()
        return str(row.incident_id) if row else ref

    def _save(
        self,
        retro: Retro,
        request_ref: str,
        human: HumanInput,
        now: datetime,
        version: int | None,
        in_transaction: InTransaction | None = None,
    ) -> int:
        incident = retro.incident
        with self.begin() as conn:
            exists = _incident_exists(conn, incident.id)
            if request_ref and request_ref != incident.id:
                _rekey_input(conn, request_ref, incident.id)
            values = {
                "title": incident.title,
                "source": incident.source,
                "services": list(incident.services),
                "severity": incident.severity,
                "created_at": incident.created,
                "resolved_at": incident.resolved,
                "updated_at": now,
            }
            if exists:
                conn.execute(sa.update(t.incidents).where(t.incidents.c.id == incident.id).values(**values))
            else:
                conn.execute(sa.insert(t.incidents).values(id=incident.id, first_stored_at=now, **values))
            latest = _latest_version(conn, incident.id)
            if version is not None and version <= latest:
                raise VersionTaken(f"version {version} of {incident.id} was stored by another build")
            version = version or latest + 1
            retro = attrs.evolve(retro, version=version)
            # The events have their own table: leave them out of the document.
            document = to_document(attrs.evolve(retro, timeline=Timeline(events=(), moments=retro.timeline.moments)))
            del document["timeline"]
            version_id = conn.execute(
                sa.insert(t.retro_versions)
                .values(
                    incident_id=incident.id,
                    version=version,
                    built_at=now,
                    request_ref=request_ref,
                    scoring_model=retro.scoring_model,
                    event_count=len(retro.timeline.events),
                    document=document,
                    human_input=human.to_data(),
                )
                .returning(t.retro_versions.c.id)
            ).scalar_one()
            self._insert_rows(conn, version_id, retro)
            if in_transaction is not None:
                in_transaction(conn, retro)
        return version

    def _insert_rows(self, conn: sa.Connection, version_id: int, retro: Retro) -> None:
        store_timeline(conn, retro.incident.id, version_id, retro.timeline.events)
        factors = [
            {"retro_version_id": version_id, "position": i, **factor_to_dict(f)} for i, f in enumerate(retro.factors)
        ]
        if factors:
            conn.execute(sa.insert(t.factors), factors)
        actions = [
            {
                "retro_version_id": version_id,
                "incident_id": retro.incident.id,
                "position": i,
                "action_id": a.id,
                "title": a.title,
                "change": a.change,
                "category": a.category.value if a.category else None,
                "owner": a.owner,
                "due": a.due,
                "effort": a.effort.value if a.effort else None,
                "proposed_by": a.proposed_by,
                "factor_keys": list(a.factors),
                "focus": a.focus,
            }
            for i, a in enumerate(retro.actions)
        ]
        if actions:
            conn.execute(sa.insert(t.actions), actions)
        scores = [
            {
                "retro_version_id": version_id,
                "action_id": a.id,
                "model": a.score.model,
                "value": a.score.value,
                "inputs": dict(a.score.inputs),
                "explanation": a.score.explanation,
            }
            for a in retro.actions
            if a.score is not None
        ]
        if scores:
            conn.execute(sa.insert(t.scores), scores)
        findings = [
            {
                "retro_version_id": version_id,
                "target": f.target,
                "rule": f.rule,
                "message": f.message,
                "suggestion": f.suggestion,
                "severity": f.severity,
            }
            for f in (*retro.findings, *(f for a in retro.actions for f in a.findings))
        ]
        if findings:
            conn.execute(sa.insert(t.findings), findings)

    def _version_row(self, conn: sa.Connection, incident_id: str, version: int | None) -> Any:
        query = sa.select(t.retro_versions).where(t.retro_versions.c.incident_id == incident_id)
        if version is None:
            query = query.order_by(t.retro_versions.c.version.desc()).limit(1)
        else:
            query = query.where(t.retro_versions.c.version == version)
        row = conn.execute(query).first()
        if row is None:
            what = f"version {version} of the retro" if version is not None else "retro"
            raise RetroflowError(f"the store has no {what} for incident {incident_id!r} (see: retroflow retros)")
        return row

    def retro(self, incident_id: str, version: int | None = None, *, events: bool = True) -> Retro:
        """A stored retro (the newest version unless ``version`` is given); ``events=False``
        leaves its timeline's events out (what compares versions needs none).

        :raises RetroflowError: no such incident or version.
        """
        with self.engine.connect() as conn:
            row = self._version_row(conn, incident_id, version)
            document = dict(row.document)
            document["timeline"] = []
            retro = from_document(document)
            if not events:
                return retro
            loaded = self._load_events(conn, row.id)
        return attrs.evolve(retro, timeline=Timeline(events=tuple(loaded), moments=retro.timeline.moments))

    def latest_retro(self, incident_id: str) -> Retro:
        """The newest retro version of ``incident_id``."""
        return self.retro(incident_id)

    def stored_input(self, incident_id: str, version: int | None = None) -> HumanInput:
        """The human input that was applied to a stored version."""
        with self.engine.connect() as conn:
            row = self._version_row(conn, incident_id, version)
        return HumanInput.from_data(row.human_input, where=f"stored input of {incident_id}")

    def factor_keys(self, incident_id: str) -> list[str] | None:
        """The factor keys of the newest stored retro of ``incident_id``, kept and rejected
        (what human input may name), or ``None`` when no retro of it is stored."""
        with self.engine.connect() as conn:
            try:
                row = self._version_row(conn, incident_id, None)
            except RetroflowError:
                return None
        document = row.document
        return [f["key"] for f in (*document["factors"], *document.get("rejected_factors", ()))]

    def _load_events(self, conn: sa.Connection, version_id: int) -> list[Event]:
        return load_events(conn, version_id)

    def list_retros(self) -> list[RetroSummary]:
        """Every incident with a stored retro, newest build first."""
        v = t.retro_versions.c
        latest = (
            sa.select(v.incident_id, sa.func.max(v.version).label("latest"), sa.func.count().label("versions"))
            .group_by(v.incident_id)
            .subquery()
        )
        action_count = (
            sa.select(sa.func.count())
            .where(t.actions.c.retro_version_id == v.id)
            .correlate(t.retro_versions)
            .scalar_subquery()
        )
        query = (
            sa.select(
                t.incidents.c.id,
                t.incidents.c.title,
                t.incidents.c.services,
                latest.c.versions,
                latest.c.latest,
                v.built_at,
                action_count,
            )
            .join(latest, latest.c.incident_id == t.incidents.c.id)
            .join(t.retro_versions, sa.and_(v.incident_id == t.incidents.c.id, v.version == latest.c.latest))
            .order_by(v.built_at.desc(), t.incidents.c.id)
        )
        with self.engine.connect() as conn:
            return [
                RetroSummary(
                    incident_id=row[0],
                    title=row[1],
                    services=tuple(row[2] or ()),
                    versions=row[3],
                    latest_version=row[4],
                    latest_built_at=row[5],
                    actions=row[6],
                )
                for row in conn.execute(query)
            ]

    def versions(self, incident_id: str) -> list[VersionSummary]:
        v = t.retro_versions.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(v.version, v.built_at, v.request_ref, v.event_count, v.scoring_model)
                .where(v.incident_id == incident_id)
                .order_by(v.version)
            )
            return [VersionSummary(*row) for row in rows]

    # -- human input ------------------------------------------------------------------

    def add_input(self, incident_id: str, item: InputItem, *, now: datetime | None = None) -> int:
        """Record one piece of human input (append-only); return its id."""
        kind, target, payload = _encode_item(item)
        with self.begin() as conn:
            return int(
                conn.execute(
                    sa.insert(t.human_input)
                    .values(
                        incident_id=incident_id,
                        kind=kind,
                        target=target,
                        payload=payload,
                        author=getattr(item, "author", "") or "",
                        created_at=now or utcnow(),
                    )
                    .returning(t.human_input.c.id)
                ).scalar_one()
            )

    def input_records(self, incident_id: str) -> list[InputRecord]:
        """The stored input records of ``incident_id`` in force (not withdrawn), oldest first."""
        h = t.human_input.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.human_input).where(h.incident_id == incident_id).order_by(h.id)).all()
        withdrawn = {int(r.target) for r in rows if r.kind == WITHDRAW}
        return [
            InputRecord(
                r.id, r.incident_id, _decode_item(r.kind, r.target, r.payload, r.author), r.author, r.created_at
            )
            for r in rows
            if r.kind != WITHDRAW and r.id not in withdrawn
        ]

    def withdraw_input(
        self, incident_id: str, record_id: int, *, author: str = "", now: datetime | None = None
    ) -> None:
        """Withdraw an input record (the table stays append-only: this adds a record).

        :raises RetroflowError: ``incident_id`` has no such record in force.
        """
        if record_id not in {r.id for r in self.input_records(incident_id)}:
            raise RetroflowError(f"incident {incident_id!r} has no input record #{record_id} in force")
        with self.begin() as conn:
            conn.execute(
                sa.insert(t.human_input).values(
                    incident_id=incident_id,
                    kind=WITHDRAW,
                    target=str(record_id),
                    payload={},
                    author=author,
                    created_at=now or utcnow(),
                )
            )

    def human_input(self, incident_id: str) -> HumanInput:
        """The stored human input of ``incident_id``, merged (later records win)."""
        return HumanInput.from_items(record.item for record in self.input_records(incident_id))

    # -- follow-up --------------------------------------------------------------------

    def follow_ups(self, *, now: datetime | None = None, include_closed: bool = False) -> list[FollowUp]:
        """Actions of every incident's newest retro not done in any tracker, oldest first.

        Age counts from the first stored version that proposed the action, so rebuilding
        a retro does not make an old action look new.
        """
        now = now or utcnow()
        v, a = t.retro_versions.c, t.actions.c
        newest = sa.select(v.incident_id, sa.func.max(v.version).label("latest")).group_by(v.incident_id).subquery()
        first_seen = (
            sa.select(a.incident_id, a.action_id, sa.func.min(v.built_at).label("first_at"))
            .join(t.retro_versions, v.id == a.retro_version_id)
            .group_by(a.incident_id, a.action_id)
            .subquery()
        )
        query = (
            sa.select(a.incident_id, a.action_id, a.title, a.owner, a.due, first_seen.c.first_at)
            .join(t.retro_versions, v.id == a.retro_version_id)
            .join(newest, sa.and_(newest.c.incident_id == v.incident_id, newest.c.latest == v.version))
            .join(
                first_seen,
                sa.and_(first_seen.c.incident_id == a.incident_id, first_seen.c.action_id == a.action_id),
            )
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            links: dict[tuple[str, str], list[Any]] = {}
            for row in conn.execute(sa.select(t.tracker_links)):
                links.setdefault((row.incident_id, row.action_id), []).append(row)
        result = []
        for incident_id, action_id, title, owner, due, first_at in rows:
            found = links.get((incident_id, action_id), [])
            if found and not include_closed and all(link.state in CLOSED_STATES for link in found):
                continue
            link: Any = next((x for x in found if x.state not in CLOSED_STATES), None)
            if link is None and found:
                link = found[0]
            result.append(
                FollowUp(
                    incident_id=incident_id,
                    action_id=action_id,
                    title=title,
                    owner=owner,
                    due=due,
                    first_proposed_at=first_at,
                    age=now - first_at,
                    tracker=link.sink if link else None,
                    external_id=link.external_id if link else None,
                    url=link.url if link else None,
                    state=link.state if link else "not exported",
                    state_changed_at=link.state_changed_at if link else None,
                )
            )
        return sorted(result, key=lambda f: (-f.age, f.owner or "~", f.incident_id, f.action_id))

    def links(self, sinks: Iterable[str] | None = None) -> list[Any]:
        """Tracker links (rows), optionally only for some sinks."""
        query = sa.select(t.tracker_links).order_by(t.tracker_links.c.id)
        if sinks is not None:
            query = query.where(t.tracker_links.c.sink.in_(list(sinks)))
        with self.engine.connect() as conn:
            return list(conn.execute(query).all())

    def export_rows(self, incident_id: str | None = None, sink: str | None = None) -> list[Any]:
        """Outbox rows (for reports and tests)."""
        query = sa.select(t.exports).order_by(t.exports.c.id)
        if incident_id is not None:
            query = query.where(t.exports.c.incident_id == incident_id)
        if sink is not None:
            query = query.where(t.exports.c.sink == sink)
        with self.engine.connect() as conn:
            return list(conn.execute(query).all())


def _latest_version(conn: sa.Connection, incident_id: str) -> int:
    v = t.retro_versions.c
    return int(conn.execute(sa.select(sa.func.max(v.version)).where(v.incident_id == incident_id)).scalar() or 0)


def _incident_exists(conn: sa.Connection, incident_id: str) -> bool:
    return conn.execute(sa.select(t.incidents.c.id).where(t.incidents.c.id == incident_id)).first() is not None


def _rekey_input(conn: sa.Connection, ref: str, incident_id: str) -> None:
    """Input recorded under the reference a build was asked for (``1042``) moves to the
    incident id it turned out to be, unless ``ref`` is itself another incident's id."""
    if _incident_exists(conn, ref):
        return
    conn.execute(sa.update(t.human_input).where(t.human_input.c.incident_id == ref).values(incident_id=incident_id))


def _encode_item(item: InputItem) -> tuple[str, str, dict[str, Any]]:
    data = HumanInput.from_items([item]).to_data()
    if isinstance(item, FactorVerdict):
        return "factor", item.key, data["factors"][0]
    if isinstance(item, AddedEvent):
        return "event", item.native_id, data["events"][0]
    if isinstance(item, ActionEdit):
        return "action", item.action_id, data["actions"][0]
    return "new_action", item.id or item.title, data["actions"][0]


def _decode_item(kind: str, target: str, payload: dict[str, Any], author: str) -> InputItem:
    table = {"factor": "factors", "event": "events", "action": "actions", "new_action": "actions"}[kind]
    human = HumanInput.from_data({table: [payload]}, where=f"stored input {kind} {target}")
    items: Sequence[InputItem] = [*human.factors, *human.events, *human.edits, *human.new_actions]
    return items[0]
