"""Incident history for outcome metrics, from three places merged by incident id:

1. **stored retros** — the newest version of each: its incident, key moments and counts
   from its timeline (alerts, pages, out-of-hours pages, whether anyone responded);
2. **the sources' past incidents** — what a source such as PagerDuty returned as the
   retro's ``history`` (created, resolved, urgency, ``alert_counts``), kept in the stored
   retro document;
3. **the history import** — ``retroflow history import FILE``, JSON Lines, for teams
   coming from other tools (format in ``docs/outcomes.md``).

For one incident id, each field comes from the first place that knows it, in that order.

Done actions come from tracker sync (a ticket ``done``: its state change is ``done_at``)
and from the import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import orjson
import sqlalchemy as sa

from retroflow.config import Config
from retroflow.model import DoneAction, EventKind, IncidentRecord, parse_timestamp
from retroflow.serialize import json_default
from retroflow.store import schema as t
from retroflow.store.store import Store

__all__ = [
    "History",
    "ImportReport",
    "LineError",
    "ParsedHistory",
    "load_history",
    "parse_history",
    "store_history",
]

# --- the import format ---------------------------------------------------------------------

_INCIDENT_REQUIRED = ("id", "service", "started_at", "resolved_at")
_INCIDENT_OPTIONAL = (
    "detected_at",
    "acknowledged_at",
    "alerts",
    "pages",
    "pages_out_of_hours",
    "severity",
    "auto_resolved",
    "details",
)
_ACTION_REQUIRED = ("id", "incident", "service", "title", "metric", "done_at")
_COUNTS = ("alerts", "pages", "pages_out_of_hours")
_INCIDENT_KNOWN = frozenset({"type", *_INCIDENT_REQUIRED, *_INCIDENT_OPTIONAL})
_ACTION_KNOWN = frozenset({"type", *_ACTION_REQUIRED})


@attrs.frozen
class LineError:
    """A line of an import file that was skipped, and why."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@attrs.frozen
class ParsedHistory:
    """What an import file holds: the good records, and the lines that were skipped."""

    incidents: tuple[IncidentRecord, ...] = ()
    actions: tuple[DoneAction, ...] = ()
    errors: tuple[LineError, ...] = ()


class _BadLine(ValueError):
    pass


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise _BadLine(f"{key}: expected a non-empty string")
    return str(value)


def _timestamp(record: Mapping[str, Any], key: str) -> datetime | None:
    value = record.get(key)
    if value is None:
        return None
    if type(value) is not str:
        raise _BadLine(f"{key}: expected an ISO 8601 timestamp with an offset")
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise _BadLine(f"{key}: {exc}") from None


def _count(record: Mapping[str, Any], key: str) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    if type(value) is not int or value < 0:  # bool is an int subclass: refused too
        raise _BadLine(f"{key}: expected a whole number ≥ 0")
    return value


def _fields(record: Mapping[str, Any], required: Sequence[str], known: frozenset[str]) -> None:
    missing = [key for key in required if record.get(key) is None]
    if missing:
        raise _BadLine(f"missing {', '.join(missing)}")
    if not known.issuperset(record):
        raise _BadLine(f"unknown field(s) {', '.join(sorted(set(record) - known))}")


def _incident(record: Mapping[str, Any]) -> IncidentRecord:
    _fields(record, _INCIDENT_REQUIRED, _INCIDENT_KNOWN)
    started = _timestamp(record, "started_at")
    resolved = _timestamp(record, "resolved_at")
    assert started is not None and resolved is not None
    if resolved < started:
        raise _BadLine("resolved_at is before started_at")
    auto = record.get("auto_resolved")
    if auto is not None and not isinstance(auto, bool):
        raise _BadLine("auto_resolved: expected true or false")
    details = record.get("details") or {}
    if not isinstance(details, dict):
        raise _BadLine("details: expected an object")
    severity = record.get("severity")
    if severity is not None and not isinstance(severity, str):
        raise _BadLine("severity: expected a string")
    counts = {key: _count(record, key) for key in _COUNTS}
    return IncidentRecord(
        id=_text(record, "id"),
        services=(_text(record, "service"),),
        started=started,
        resolved=resolved,
        detected=_timestamp(record, "detected_at"),
        acknowledged=_timestamp(record, "acknowledged_at"),
        auto_resolved=auto,
        severity=severity,
        origin="import",
        details=details,
        **counts,
    )


def _action(record: Mapping[str, Any], metrics: Collection[str]) -> DoneAction:
    _fields(record, _ACTION_REQUIRED, _ACTION_KNOWN)
    metric = _text(record, "metric")
    if metric not in metrics:
        raise _BadLine(f"metric: {metric!r} is not an outcome metric (known: {', '.join(sorted(metrics))})")
    done_at = _timestamp(record, "done_at")
    assert done_at is not None
    return DoneAction(
        id=_text(record, "id"),
        incident=_text(record, "incident"),
        title=_text(record, "title"),
        metric=metric,
        service=_text(record, "service"),
        done_at=done_at,
        origin="import",
    )


def parse_history(lines: Iterable[str | bytes], *, metrics: Collection[str]) -> ParsedHistory:
    """Read import lines (text, or bytes in UTF-8): each good record is kept, each bad line
    becomes a :class:`LineError` with its number (the others still count). Blank lines are
    skipped; a second record with an id already given is an error (the first is kept)."""
    incidents: dict[str, IncidentRecord] = {}
    actions: dict[str, DoneAction] = {}
    first_line: dict[tuple[str, str], int] = {}
    errors: list[LineError] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)  # orjson reads bytes and says when they are not UTF-8
            if not isinstance(record, dict):
                raise _BadLine("expected a JSON object")
            kind = record.get("type")
            if kind == "incident":
                item: IncidentRecord | DoneAction = _incident(record)
            elif kind == "action":
                item = _action(record, metrics)
            else:
                raise _BadLine(f"type: expected 'incident' or 'action', not {kind!r}")
        except orjson.JSONDecodeError as exc:
            errors.append(LineError(number, f"not JSON ({exc.msg})"))
            continue
        except _BadLine as exc:
            errors.append(LineError(number, str(exc)))
            continue
        key = (kind, item.id)
        if key in first_line:
            errors.append(LineError(number, f"{kind} {item.id!r} is already on line {first_line[key]}"))
            continue
        first_line[key] = number
        if isinstance(item, IncidentRecord):
            incidents[item.id] = item
        else:
            actions[item.id] = item
    return ParsedHistory(tuple(incidents.values()), tuple(actions.values()), tuple(errors))


# --- storing the import ----------------------------------------------------------------------


@attrs.frozen
class ImportReport:
    """How many records an import added, changed, and found already stored as they are."""

    incidents: tuple[int, int, int]  # new, updated, unchanged
    actions: tuple[int, int, int]
    errors: tuple[LineError, ...] = ()


#: Columns of the import tables, in the order the rows below give them.
_INCIDENT_COLUMNS = (
    "id",
    "services",
    "started_at",
    "resolved_at",
    "detected_at",
    "acknowledged_at",
    "alerts",
    "pages",
    "pages_out_of_hours",
    "auto_resolved",
    "severity",
    "details",
)
_ACTION_COLUMNS = ("id", "incident_id", "service", "title", "metric", "done_at")


def _incident_row(record: IncidentRecord) -> tuple[Any, ...]:
    return (
        record.id,
        list(record.services),
        record.started,
        record.resolved,
        record.detected,
        record.acknowledged,
        record.alerts,
        record.pages,
        record.pages_out_of_hours,
        record.auto_resolved,
        record.severity,
        dict(record.details),
    )


def _action_row(action: DoneAction) -> tuple[Any, ...]:
    return (action.id, action.incident, action.service, action.title, action.metric, action.done_at)


def _digest(row: tuple[Any, ...]) -> str:
    """What a record says, hashed: equal records, equal digests."""
    text = orjson.dumps(row, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z, default=json_default)
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sqlite_rows(table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows as SQLAlchemy stores them on SQLite: UTC timestamps as text without an offset
    (they are UTC already: the model converts them), JSON as text."""
    times = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, t.UTCDateTime)]
    documents = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, sa.JSON)]
    dumps = orjson.dumps
    converted = []
    for row in rows:
        values = list(row)
        for i in times:
            if values[i] is not None:
                values[i] = values[i].isoformat(" ", "microseconds")[:-6]
        for i in documents:
            values[i] = dumps(values[i], default=json_default).decode()
        converted.append(tuple(values))
    return converted


def _insert(conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert rows in bulk: on SQLite through the driver (SQLAlchemy's per-value type
    processing would cost more than the database), elsewhere through SQLAlchemy."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        placeholders = ", ".join("?" * len(columns))
        converted = _sqlite_rows(table, columns, rows)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})", converted)
        return
    conn.execute(sa.insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _upsert(
    conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]], now: datetime
) -> tuple[int, int, int]:
    """Insert new rows, replace changed ones, leave equal ones alone (so re-importing a
    file changes nothing, not even ``imported_at``): ``(new, updated, unchanged)``."""
    digests = {row[0]: _digest(row) for row in rows}
    stored: dict[str, str] = {}
    for chunk in _chunks(list(digests)):
        query = sa.select(table.c.id, table.c.digest).where(table.c.id.in_(chunk))
        stored.update((row[0], row[1]) for row in conn.execute(query))
    new = [row for row in rows if row[0] not in stored]
    changed = [row for row in rows if row[0] in stored and stored[row[0]] != digests[row[0]]]
    for chunk in _chunks([row[0] for row in changed]):
        conn.execute(sa.delete(table).where(table.c.id.in_(chunk)))
    _insert(conn, table, [*columns, "digest", "imported_at"], [(*row, digests[row[0]], now) for row in new + changed])
    return len(new), len(changed), len(rows) - len(new) - len(changed)


def store_history(store: Store, parsed: ParsedHistory, *, now: datetime | None = None) -> ImportReport:
    """Store an import in one transaction; records already stored as they are stay."""
    stamp = now or datetime.now(UTC)
    with store.begin() as conn:
        rows = [_incident_row(r) for r in parsed.incidents]
        incidents = _upsert(conn, t.history_incidents, _INCIDENT_COLUMNS, rows, stamp)
        actions = _upsert(conn, t.history_actions, _ACTION_COLUMNS, [_action_row(a) for a in parsed.actions], stamp)
    return ImportReport(incidents=incidents, actions=actions, errors=parsed.errors)


# --- reading the history -----------------------------------------------------------------------


@attrs.frozen
class History:
    """Every known past incident (oldest first) and every done action."""

    incidents: tuple[IncidentRecord, ...]
    actions: tuple[DoneAction, ...]


def _raw(conn: sa.Connection, sql: str) -> list[Any]:
    """Rows through the driver's cursor: SQLAlchemy's per-row result processing would cost
    more than the query on a history of tens of thousands of incidents."""
    raw: Any = conn.connection.driver_connection
    cursor = raw.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _reader(conn: sa.Connection) -> Callable[[Any], datetime | None]:
    """Reads a raw timestamp: text in UTC on SQLite, an aware datetime elsewhere."""
    if conn.dialect.name == "sqlite":
        parse = datetime.fromisoformat
        return lambda value: None if value is None else parse(value).replace(tzinfo=UTC)
    return lambda value: None if value is None else value.astimezone(UTC)


def _imported(conn: sa.Connection) -> tuple[list[IncidentRecord], list[DoneAction]]:
    when = _reader(conn)
    columns = ", ".join(f"CAST({c} AS TEXT)" if c in ("services", "details") else c for c in _INCIDENT_COLUMNS)
    incidents = [
        IncidentRecord(
            id=row[0],
            services=tuple(orjson.loads(row[1])),
            started=when(row[2]),  # type: ignore[arg-type]
            resolved=when(row[3]),
            detected=when(row[4]),
            acknowledged=when(row[5]),
            alerts=row[6],
            pages=row[7],
            pages_out_of_hours=row[8],
            auto_resolved=None if row[9] is None else bool(row[9]),
            severity=row[10],
            origin="import",
            details=orjson.loads(row[11]) or {},
        )
        for row in _raw(conn, f"SELECT {columns} FROM {t.history_incidents.name}")
    ]
    actions = [
        DoneAction(
            id=row[0],
            incident=row[1],
            service=row[2],
            title=row[3],
            metric=row[4],
            done_at=when(row[5]),  # type: ignore[arg-type]
            origin="import",
        )
        for row in _raw(conn, f"SELECT {', '.join(_ACTION_COLUMNS)} FROM {t.history_actions.name}")
    ]
    return incidents, actions


def _newest_documents(conn: sa.Connection) -> list[tuple[int, Mapping[str, Any]]]:
    v = t.retro_versions.c
    newest = sa.select(v.incident_id, sa.func.max(v.version).label("latest")).group_by(v.incident_id).subquery()
    query = sa.select(v.id, v.document).join(
        newest, sa.and_(newest.c.incident_id == v.incident_id, newest.c.latest == v.version)
    )
    return [(row.id, row.document) for row in conn.execute(query)]


#: Kinds whose events tell whether a person responded, and the alert and page counts.
_COUNTED_KINDS = (
    EventKind.ALERT,
    EventKind.PAGE,
    EventKind.ACK,
    EventKind.RESPONSE,
    EventKind.DECISION,
    EventKind.MESSAGE,
    EventKind.MITIGATION,
    EventKind.RESOLUTION,
)


@attrs.define
class _TimelineCounts:
    alerts: int = 0
    pages: int = 0
    pages_out_of_hours: int = 0
    acks: int = 0
    people: bool = False


def _timeline_counts(conn: sa.Connection, version_ids: Sequence[int], people: _People) -> dict[int, _TimelineCounts]:
    """What the stored timelines show, per retro version (one grouped query, and one for
    the pages' times)."""
    e = t.version_events().c  # events are stored once per content; this gives them by version
    counts: dict[int, _TimelineCounts] = {}
    for chunk in _chunks(version_ids):
        grouped = (
            sa.select(e.retro_version_id, e.kind, e.actor, sa.func.count())
            .where(e.retro_version_id.in_(chunk), e.kind.in_([k.value for k in _COUNTED_KINDS]))
            .group_by(e.retro_version_id, e.kind, e.actor)
        )
        for version_id, kind, actor, number in conn.execute(grouped):
            found = counts.setdefault(version_id, _TimelineCounts())
            if kind == EventKind.ALERT:
                found.alerts += number
            elif kind == EventKind.PAGE:
                found.pages += number
            elif kind == EventKind.ACK:
                found.acks += number
            elif people.is_person(actor):
                found.people = True
        pages = sa.select(e.retro_version_id, e.at, e.actor).where(
            e.retro_version_id.in_(chunk), e.kind == EventKind.PAGE.value
        )
        for version_id, at, actor in conn.execute(pages):
            if people.out_of_hours(at, actor):
                counts[version_id].pages_out_of_hours += 1
    return counts


class _People:
    """Who is a person and when they are off work, as the human-conditions heuristics
    decide it (their ``[plugins.human-conditions]`` settings): one definition of "out of
    hours" and "a person" for retros and outcomes."""

    def __init__(self, config: Config) -> None:
        from retroflow.default_plugins.conditions.facts import is_person
        from retroflow.default_plugins.conditions.human import SETTINGS

        self._settings = SETTINGS.read(config)
        self._at_work = self._settings.working_time()
        self._is_person = is_person

    def is_person(self, actor: str | None) -> bool:
        return bool(self._is_person(actor, self._settings.automation_actors))

    def out_of_hours(self, at: datetime, person: str | None) -> bool:
        return not self._at_work(at.astimezone(self._settings.zone_of(person)))


def _when(value: Any) -> datetime | None:
    return parse_timestamp(value) if isinstance(value, str) else None


def _retro_record(document: Mapping[str, Any], counts: _TimelineCounts | None) -> IncidentRecord | None:
    incident = document["incident"]
    moments = {name: _when(value) for name, value in document.get("moments", {}).items()}
    known = [m for m in moments.values() if m is not None]
    started = min(known) if known else _when(incident.get("created"))
    if started is None:
        return None
    detected = [m for m in (moments.get("first_alert"), moments.get("first_page")) if m is not None]
    resolved = moments.get("resolve") or _when(incident.get("resolved"))
    # Counts only where the timeline shows the alerting at all: a timeline from chat alone
    # does not say an incident had no alerts.
    paged = counts is not None and (counts.alerts or counts.pages)
    return IncidentRecord(
        id=incident["id"],
        services=tuple(incident.get("services") or ()),
        started=started,
        resolved=resolved,
        detected=min(detected) if detected else None,
        acknowledged=moments.get("first_ack"),
        alerts=counts.alerts if paged and counts else None,
        pages=counts.pages if paged and counts else None,
        pages_out_of_hours=counts.pages_out_of_hours if paged and counts else None,
        auto_resolved=(resolved is not None and not counts.acks and not counts.people) if paged and counts else None,
        severity=incident.get("severity"),
        origin="retro",
    )


def _source_record(incident: Mapping[str, Any]) -> IncidentRecord | None:
    """A past incident a source returned (PagerDuty: ``alert_counts``, and who resolved it)."""
    started = _when(incident.get("created"))
    if started is None:
        return None
    details = incident.get("details") or {}
    services = tuple(incident.get("services") or ())
    alert_counts = details.get("alert_counts")
    alerts = alert_counts.get("all") if isinstance(alert_counts, Mapping) else None
    resolved_by = details.get("resolved_by")
    auto: bool | None = None
    if details.get("acknowledgers"):
        auto = False
    elif resolved_by:
        # PagerDuty names the service when its integration resolved the incident.
        auto = resolved_by in services
    return IncidentRecord(
        id=incident["id"],
        services=services,
        started=started,
        resolved=_when(incident.get("resolved")),
        alerts=alerts if isinstance(alerts, int) and not isinstance(alerts, bool) else None,
        auto_resolved=auto,
        severity=incident.get("severity") or incident.get("urgency"),
        origin=incident.get("source") or "source",
    )


_MERGED = (
    "resolved",
    "detected",
    "acknowledged",
    "alerts",
    "pages",
    "pages_out_of_hours",
    "auto_resolved",
    "severity",
)


def _merge(records: Iterable[IncidentRecord]) -> IncidentRecord:
    """One record from several of the same id: each field from the first that knows it."""
    first, *rest = records
    if not rest:
        return first
    changes: dict[str, Any] = {}
    for name in _MERGED:
        if getattr(first, name) is None:
            value = next((getattr(r, name) for r in rest if getattr(r, name) is not None), None)
            if value is not None:
                changes[name] = value
    if not first.services:
        changes["services"] = next((r.services for r in rest if r.services), ())
    return attrs.evolve(first, **changes) if changes else first


def _tracker_done(conn: sa.Connection, documents: Mapping[str, Mapping[str, Any]]) -> Iterator[DoneAction]:
    """Actions of stored retros whose ticket is done (the earliest such state change)."""
    links = t.tracker_links.c
    done: dict[tuple[str, str], tuple[datetime, str]] = {}
    query = sa.select(links.incident_id, links.action_id, links.sink, links.state_changed_at, links.synced_at).where(
        links.state == "done"
    )
    for incident_id, action_id, sink, changed, synced in conn.execute(query):
        when = changed or synced
        if when is not None and ((incident_id, action_id) not in done or when < done[(incident_id, action_id)][0]):
            done[(incident_id, action_id)] = (when, sink)
    for (incident_id, action_id), (when, sink) in sorted(done.items()):
        document = documents.get(incident_id)
        action = next((a for a in document["actions"] if a["id"] == action_id), None) if document else None
        if document is None or action is None:
            continue  # the newest retro no longer proposes it
        verify = action.get("verify") or {}
        services = document["incident"].get("services") or ()
        yield DoneAction(
            id=action_id,
            incident=incident_id,
            title=action["title"],
            metric=verify.get("metric") or "",
            service=verify.get("service") or (services[0] if services else None),
            done_at=when,
            origin=f"tracker:{sink}",
        )


def load_history(store: Store, config: Config, *, besides: str | None = None) -> History:
    """The merged history and every done action (tracker first, then the import).

    :param besides: an incident whose own stored retro is left out (the history a build of
        it judges against, which leaves it out anyway): its timeline, the largest one
        stored when it is rebuilt, is then not counted. The history its retro got from its
        sources is kept, and so are its done actions.
    """
    people = _People(config)
    with store.engine.connect() as conn:
        imported, imported_actions = _imported(conn)
        newest = _newest_documents(conn)
        counts = _timeline_counts(conn, [v for v, doc in newest if doc["incident"]["id"] != besides], people)
        documents = {document["incident"]["id"]: document for _, document in newest}
        done = list(_tracker_done(conn, documents))
    by_id: dict[str, list[IncidentRecord]] = {}
    sourced: list[IncidentRecord] = []
    for version_id, document in newest:
        own = document["incident"]["id"] == besides
        record = None if own else _retro_record(document, counts.get(version_id))
        if record is not None:
            by_id.setdefault(record.id, []).append(record)
        sourced += [r for r in map(_source_record, document.get("history") or ()) if r is not None]
    for record in (*imported, *sourced):  # the import before the sources' history
        by_id.setdefault(record.id, []).append(record)
    incidents = sorted((_merge(records) for records in by_id.values()), key=lambda r: (r.started, r.id))
    seen = {(a.incident, a.id) for a in done}
    actions = done + [a for a in imported_actions if (a.incident, a.id) not in seen]
    return History(incidents=tuple(incidents), actions=tuple(sorted(actions, key=lambda a: (a.done_at, a.id))))
