"""Timelines in the store: each event stored once per content.

A timeline is cut into chunks where its events say so (:func:`timeline_chunks`); each
chunk is stored once per incident, under the digest of its events (``event_chunks``, the
events themselves in ``events``), and a version lists its chunks in order
(``version_chunks``). Rebuilding an unchanged incident stores no event again: its version
points at the chunks the last one stored. A changed timeline (a note added, an event
fixed) stores the chunks around the change, not a copy of everything.

Events go in and out through the driver (``COPY`` on PostgreSQL, one ``executemany`` on
SQLite, a plain cursor to read): SQLAlchemy's per-row type processing would cost more than
the database does.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from retroflow.model import Event, EventKind, as_utc
from retroflow.serialize import json_default
from retroflow.store import schema as t

__all__ = ["CHUNK_EVENTS", "insert_events", "load_events", "store_timeline", "timeline_chunks"]

#: A chunk ends after an event whose id hashes to a multiple of this: 1,024 events on
#: average (a power of two). Bounded by :data:`_MIN_CHUNK` and :data:`_MAX_CHUNK`.
CHUNK_EVENTS = 1024
_MIN_CHUNK = 256
_MAX_CHUNK = 8192

#: One chunk of a timeline: the digest of its events, and the events.
Chunk = tuple[str, Sequence[Event]]


def timeline_chunks(events: Sequence[Event]) -> list[Chunk]:
    """``events`` cut into chunks, each with the digest of its events.

    A chunk ends after an event whose ``native_id`` hashes (CRC-32) to a multiple of
    :data:`CHUNK_EVENTS`, once it holds at least ``_MIN_CHUNK`` events, or at ``_MAX_CHUNK``
    events. The cuts follow the events, not their positions: an event added, dropped or
    changed changes the digest of its own chunk (and, at most, of the next), and the
    chunks after it are the same as before.
    """
    mask = CHUNK_EVENTS - 1
    crc = zlib.crc32
    cuts = [i + 1 for i, event in enumerate(events) if not crc(event.native_id.encode()) & mask]
    chunks: list[Chunk] = []
    start = 0
    for cut in (*cuts, len(events)):
        while cut - start > _MAX_CHUNK:
            chunks.append(_chunk(events[start : start + _MAX_CHUNK]))
            start += _MAX_CHUNK
        if cut - start >= _MIN_CHUNK or (cut == len(events) and cut > start):
            chunks.append(_chunk(events[start:cut]))
            start = cut
    return chunks


def _chunk(events: Sequence[Event]) -> Chunk:
    """The SHA-256 of every stored column of ``events``, in order, as JSON (orjson, at C
    speed; the standard library when orjson cannot write a value, e.g. a 65-bit integer)."""
    rows = [
        (e.at, e.source, e.native_id, e.kind, e.summary, e.actor, e.service, e.link, e.details or None) for e in events
    ]
    try:
        data = orjson.dumps(rows, default=json_default)
    except orjson.JSONEncodeError:
        data = json.dumps(rows, default=json_default, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest(), events


def store_timeline(conn: sa.Connection, incident_id: str, version_id: int, events: Sequence[Event]) -> None:
    """Store ``events`` as the timeline of version ``version_id`` of ``incident_id``:
    the chunks the incident does not hold yet, then the version's list of chunks."""
    chunks = timeline_chunks(events)
    known = _known_chunks(conn, incident_id, {digest for digest, _ in chunks})
    new: list[tuple[int, Sequence[Event]]] = []
    placed = []
    for position, (digest, chunk) in enumerate(chunks):
        chunk_id = known.get(digest)
        if chunk_id is None:
            chunk_id = conn.execute(
                sa.insert(t.event_chunks)
                .values(incident_id=incident_id, digest=digest, event_count=len(chunk))
                .returning(t.event_chunks.c.id)
            ).scalar_one()
            new.append((chunk_id, chunk))
            known[digest] = chunk_id  # a timeline may repeat a chunk
        placed.append({"retro_version_id": version_id, "position": position, "chunk_id": chunk_id})
    insert_events(conn, new)
    if placed:
        conn.execute(sa.insert(t.version_chunks), placed)


def _known_chunks(conn: sa.Connection, incident_id: str, digests: Iterable[str]) -> dict[str, int]:
    """The ids of the chunks of ``incident_id`` with these digests that are stored."""
    c = t.event_chunks.c
    wanted = sorted(digests)
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):  # well under any database's parameter limit
        query = sa.select(c.digest, c.id).where(c.incident_id == incident_id, c.digest.in_(wanted[start : start + 500]))
        found.update({digest: chunk_id for digest, chunk_id in conn.execute(query)})
    return found


_EVENT_COLUMNS = (
    "chunk_id",
    "position",
    "at",
    "source",
    "native_id",
    "kind",
    "summary",
    "actor",
    "service",
    "link",
    "details",
)


_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
# Built once: json.dumps builds a new C encoder per call, which is most of its cost here.
_encode = (
    _c_make_encoder(None, json_default, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    if _c_make_encoder
    else None
)
_fallback = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=json_default).encode


def _details_json(details: Any) -> str:
    return "".join(_encode(details, 0)) if _encode is not None else _fallback(details)


def insert_events(conn: sa.Connection, chunks: Sequence[tuple[int, Sequence[Event]]]) -> None:
    """Insert the events of these chunks (chunk id, events) in bulk: one ``COPY`` on
    PostgreSQL, one ``executemany`` on SQLite, each fed row by row (a list of every row
    would be the peak of a build's memory)."""
    if not any(events for _chunk_id, events in chunks):
        return
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.driver_connection
        columns = ", ".join(_EVENT_COLUMNS)
        with raw.cursor() as cursor, cursor.copy(f"COPY events ({columns}) FROM STDIN") as copy:
            for row in _event_rows(chunks, _as_is):
                copy.write_row(row)
        return
    placeholders = ", ".join("?" * len(_EVENT_COLUMNS))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:  # the driver's executemany takes an iterator; SQLAlchemy's wants a list
        cursor.executemany(
            f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) VALUES ({placeholders})",
            _event_rows(chunks, _sqlite_timestamp),
        )
    finally:
        cursor.close()


def _event_rows(
    chunks: Sequence[tuple[int, Sequence[Event]]], stamp: Callable[[datetime], Any]
) -> Iterator[tuple[Any, ...]]:
    """Each event's row, in :data:`_EVENT_COLUMNS` order, built once; ``stamp`` writes the
    timestamp the way the driver takes it."""
    dumps = _details_json
    for chunk_id, events in chunks:
        for i, e in enumerate(events):
            details = dumps(e.details) if e.details else None
            yield (
                chunk_id,
                i,
                stamp(e.at),
                e.source,
                e.native_id,
                e.kind.value,
                e.summary,
                e.actor,
                e.service,
                e.link,
                details,
            )


def _as_is(at: datetime) -> datetime:
    return at


def _sqlite_timestamp(at: datetime) -> str:
    """SQLAlchemy's SQLite DateTime storage format, in UTC (timestamps are aware UTC)."""
    return (at if at.tzinfo is UTC else as_utc(at)).isoformat(" ", "microseconds")[:-6]  # no "+00:00"


def load_events(conn: sa.Connection, version_id: int) -> list[Event]:
    """The timeline of version ``version_id``, in order."""
    sqlite = conn.dialect.name == "sqlite"
    raw: Any = conn.connection.driver_connection
    cursor = raw.cursor()
    try:
        cursor.execute(
            "SELECT e.at, e.source, e.kind, e.summary, e.native_id, e.actor, e.service, e.link, "
            "CAST(e.details AS TEXT) FROM version_chunks AS v JOIN events AS e ON e.chunk_id = v.chunk_id "
            "WHERE v.retro_version_id = " + ("?" if sqlite else "%s") + " ORDER BY v.position, e.position",
            (version_id,),
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return events_of_rows(rows, sqlite=sqlite)


def events_of_rows(rows: Sequence[Sequence[Any]], *, sqlite: bool) -> list[Event]:
    """Events from stored rows ``(at, source, kind, summary, native_id, actor, service,
    link, details as JSON text)``; ``at`` is text on SQLite."""
    kinds = {k.value: k for k in EventKind}
    # One decode of all details at once: per-value json.loads costs more than the query.
    all_details = json.loads("[" + ",".join([row[8] or "null" for row in rows]) + "]")
    parse = datetime.fromisoformat
    events: list[Event] = []
    append = events.append
    for (at, source, kind, summary, native_id, actor, service, link, _), details in zip(rows, all_details, strict=True):
        if sqlite:
            at = parse(at).replace(tzinfo=UTC)
        elif at.tzinfo is not UTC:
            at = at.astimezone(UTC)
        append(
            Event(
                at=at,
                source=source,
                kind=kinds[kind],
                summary=summary,
                native_id=native_id,
                actor=actor,
                service=service,
                link=link,
                details=details or {},
            )
        )
    return events
