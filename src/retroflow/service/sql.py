"""The intake's hot path in the driver's own SQL.

Recording a delivery is half a dozen small statements. Through SQLAlchemy Core each cost
about 175 µs of Python here (building the statement and its cache key; 55 µs prebuilt),
against 5–11 µs on the driver's cursor: at a thousand deliveries a second, the difference
between the writer thread keeping up and not (``bench/bench_intake.py`` measured the
intake at about 80 deliveries a second with Core). So the inbox, the lifecycle and the scheduling of
jobs run their statements on the cursor of the SQLAlchemy connection they are given (in
its transaction), the way :func:`retroflow.store.store.insert_events` already does.

The SQL is written once with ``?`` placeholders and the types SQLAlchemy's columns expect:
timestamps as SQLAlchemy's SQLite storage format (UTC, no offset) or aware datetimes on
PostgreSQL, JSON as text (cast on PostgreSQL). Rows written here read back through the
tables of :mod:`retroflow.store.schema` like any other.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

__all__ = ["Driver", "driver"]


@functools.lru_cache(maxsize=64)
def _for_postgres(sql: str) -> str:
    return sql.replace("?", "%s").replace("JSON(%s)", "CAST(%s AS json)")


@functools.lru_cache(maxsize=64)
def _for_sqlite(sql: str) -> str:
    return sql.replace("JSON(?)", "?")


class Driver:
    """Statements on one connection's cursor (see the module's doc)."""

    def __init__(self, connection: sa.Connection) -> None:
        self.postgres = connection.dialect.name == "postgresql"
        raw: Any = connection.connection.driver_connection
        self._cursor: Any = raw.cursor()
        self._sql = _for_postgres if self.postgres else _for_sqlite

    def run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Execute ``sql`` (``?`` placeholders; ``JSON(?)`` for a JSON value); the cursor."""
        self._cursor.execute(self._sql(sql), tuple(params))
        return self._cursor

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.run(sql, params).fetchone()
        return row

    def time(self, value: datetime | None) -> Any:
        """A timestamp as the column stores it."""
        if value is None or self.postgres:
            return value
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def read_time(self, value: Any) -> datetime | None:
        """A timestamp column's value, as an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    @staticmethod
    def json(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))


def driver(connection: sa.Connection) -> Driver:
    """The :class:`Driver` of ``connection`` (one per database connection, kept with it)."""
    found: Driver | None = connection.info.get("retroflow.driver")
    if found is None:
        found = connection.info["retroflow.driver"] = Driver(connection)
    return found
