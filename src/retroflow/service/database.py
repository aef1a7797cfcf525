"""The service's connection to retroflow's database.

The same database as the store (``[retroflow] database``), through an engine of its own,
because what the service writes must be durable when it answers: a webhook answered 2xx
is never asked for again.

* SQLite: every transaction starts with ``BEGIN IMMEDIATE`` (the write lock is taken
  first, so a transaction that reads then writes never fails half-way with "database is
  locked": it waits ``busy_timeout`` for the lock, or fails before doing anything), and
  commits with ``synchronous=FULL`` (the WAL is synced on every commit; the store's
  ``NORMAL`` may lose the last commits on power loss).
* PostgreSQL: an ordinary engine; a commit is durable (``synchronous_commit`` on).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import SQLAlchemyError

from retroflow.config import Config
from retroflow.errors import RetroflowError
from retroflow.store.database import (
    _normalise,
    database_url,
    describe_url,
    head_revision,
    open_store,
)

__all__ = ["ServiceDatabase", "open_service_database"]

#: How long a service transaction waits for SQLite's write lock before it fails (the
#: intake then answers 503, and the sender tries again; a job is tried again later).
BUSY_TIMEOUT_MS = 4000


def _sqlite_service_connection(dbapi_connection: Any, _record: Any) -> None:
    # The driver must not open transactions itself: _begin_immediate does (SQLAlchemy's
    # documented recipe for pysqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


#: Execution option of connections that only read (:meth:`ServiceDatabase.reading`).
READ_ONLY = "retroflow_read_only"


def _begin_immediate(connection: sa.Connection) -> None:
    # Readers begin deferred: they must not queue for the write lock behind the intake.
    read_only = connection.get_execution_options().get(READ_ONLY)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def service_engine(url: str) -> sa.Engine:
    """An engine whose transactions are immediate and durable (see the module's doc).
    Errors never show statement parameters: they hold webhook bodies."""
    parsed = _normalise(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, hide_parameters=True)
        sa.event.listen(engine, "connect", _sqlite_service_connection)
        sa.event.listen(engine, "begin", _begin_immediate)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, pool_size=10, hide_parameters=True)


class ServiceDatabase:
    """The service's engine, and the readiness check of ``GET /readyz``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = service_engine(url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """A connection in a transaction (immediate on SQLite), committed durably."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        """A connection for reading (a deferred transaction on SQLite, rolled back)."""
        with self.engine.connect() as connection:
            yield connection.execution_options(**{READ_ONLY: True})

    def unready(self) -> str | None:
        """Why the service cannot work (``None``: it can): the database cannot be reached,
        or its schema is not the newest."""
        try:
            with self.reading() as connection:
                revision = MigrationContext.configure(connection).get_current_revision()
        except SQLAlchemyError as exc:
            return f"database {describe_url(self.url)} unreachable ({type(exc).__name__})"
        head = head_revision()
        if revision != head:
            return f"database schema at {revision or 'none'}, not {head} (run: retroflow db upgrade)"
        return None

    def close(self) -> None:
        self.engine.dispose()


def open_service_database(config: Config) -> ServiceDatabase:
    """Migrate the database ``config`` names (creating it when new), then connect.

    :raises RetroflowError: the database cannot be reached or migrated.
    """
    url = database_url(config)
    open_store(url).close()
    try:
        return ServiceDatabase(url)
    except SQLAlchemyError as exc:  # pragma: no cover - create_engine does not connect
        raise RetroflowError(f"database {describe_url(url)}: {type(exc).__name__}") from None
