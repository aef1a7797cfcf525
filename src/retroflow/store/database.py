"""Opening a database: URLs, engines (SQLite in WAL mode), and running the migrations."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: SQLite migrations are not serialised there
    fcntl = None  # type: ignore[assignment]

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from retroflow.config import Config
from retroflow.errors import ConfigError, RetroflowError
from retroflow.logs import get_logger, register_secret

if TYPE_CHECKING:
    from retroflow.store.store import Store

__all__ = [
    "NothingStored",
    "database_problems",
    "database_url",
    "default_database",
    "describe_url",
    "make_engine",
    "migrate",
    "missing_sqlite_file",
    "open_store",
]

#: Set to a URL to override ``[retroflow] database`` (handy for passwords and CI).
DATABASE_ENV = "RETROFLOW_DATABASE"
#: The databases the store is built and tested for (any driver of theirs).
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


class NothingStored(RetroflowError):
    """The database does not exist yet: nothing was ever stored. Commands that only read
    say so rather than create it (:func:`open_store` with ``create=False``)."""


def default_database() -> str:
    """The database when neither ``$RETROFLOW_DATABASE`` nor ``[retroflow] database`` names
    one: ``retroflow.db`` in the user's data directory (``$XDG_DATA_HOME/retroflow``, by
    default ``~/.local/share/retroflow`` on Linux), the same from every working directory."""
    import platformdirs

    return f"sqlite:///{platformdirs.user_data_path('retroflow') / 'retroflow.db'}"


def _configured(config: Config) -> tuple[str, str]:
    """The database URL as configured, and where it was configured (for messages)."""
    from_env = os.environ.get(DATABASE_ENV)
    if from_env:
        return from_env, f"${DATABASE_ENV}"
    from_file = getattr(config.engine, "database", None)
    if from_file:
        return from_file, f"{config.label}: [retroflow] database"
    return default_database(), "the default database"


log = get_logger(__name__)

_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x726574726F  # "retro"


def database_url(config: Config) -> str:
    """The database URL for ``config``: ``$RETROFLOW_DATABASE``, else ``[retroflow] database``
    (``env:NAME`` reads it from the environment), else :func:`default_database`.

    A relative SQLite path is relative to the config file's directory (the working
    directory when there is no config file), like every other path in the file.

    :raises ConfigError: an unset environment reference, not a URL, or a database other
        than SQLite and PostgreSQL.
    """
    raw, origin = _configured(config)
    if raw.startswith("env:"):
        name = raw[4:].strip()
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"{origin}: environment variable {name} is not set")
        raw = value
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(f"{origin}: not a database URL") from None
    if url.password:
        register_secret(str(url.password))
    if url.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ConfigError(
            f"{origin}: {describe_url(raw)}: unsupported database (use sqlite:///PATH or postgresql://...)"
        )
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database).expanduser()
        if not path.is_absolute():
            url = url.set(database=os.path.normpath(config.base_dir / path))
    return url.render_as_string(hide_password=False)


def database_problems(config: Config) -> list[str]:
    """What is wrong with the database ``config`` names, without connecting: the URL (see
    :func:`database_url`) and whether its driver is installed."""
    try:
        url = database_url(config)
    except ConfigError as exc:
        return list(exc.problems)
    try:
        _normalise(url).get_dialect().import_dbapi()
    except ImportError as exc:
        return [f"{_configured(config)[1]}: {describe_url(url)}: {_driver_missing(exc)}"]
    return []


def _driver_missing(exc: ImportError) -> str:
    return f"driver {exc.name!r} is not installed (for PostgreSQL: pip install 'retroflow[postgres]')"


def describe_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def _normalise(url: str) -> sa.URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


#: How long a SQLite statement waits for a lock held by a writer outside retroflow.
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite files are switched to WAL mode."""
    parsed = _normalise(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        if database and database != ":memory:":
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine
    from retroflow.store.schema import with_postgresql_options

    with_postgresql_options()
    return sa.create_engine(parsed, pool_pre_ping=True)


def _alembic_config(connection: sa.Connection) -> Any:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (Alembic ``upgrade``).

    Several processes may open a new database at once (replicas, a CLI beside a worker):
    one migrates while the others wait for it and then find nothing left to do.
    """
    from alembic import command

    with sqlite_file_lock(engine, "migrate"), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        command.upgrade(_alembic_config(connection), revision)


@contextlib.contextmanager
def sqlite_file_lock(engine: sa.Engine, purpose: str) -> Iterator[None]:
    """For a SQLite file, an exclusive lock on ``<database>.<purpose>-lock`` beside it while
    the block runs; a no-op for other databases (and in memory, and without ``fcntl``).

    SQLite's own locks cover one statement or transaction, and a writer that finds the
    database locked polls until its busy timeout and then fails. A waiter here sleeps in
    the kernel's queue instead, for as long as it takes, and is woken when the holder is
    done or dies. ``migrate`` serialises migrations with it (Alembic's DDL runs across
    several transactions); :meth:`Store.begin` serialises write transactions.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or fcntl is None:
        yield
        return
    with open(f"{database}.{purpose}-lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for the database lock", purpose=purpose, database=database)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


#: The newest schema revision, the head of the migration scripts (a test checks that it
#: is): a database at it is opened without importing Alembic, which would cost every
#: stored build a good share of its start-up.
SCHEMA_REVISION = "0005_event_content"


def current_revision(engine: sa.Engine) -> str | None:
    """The schema revision the database is at (``None``: empty), read from Alembic's
    version table."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        revisions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    if len(revisions) > 1:
        raise RetroflowError(f"the database is at several schema revisions at once: {', '.join(sorted(revisions))}")
    return revisions[0] if revisions else None


def head_revision() -> str | None:
    """The newest revision of the migration scripts (see :data:`SCHEMA_REVISION`)."""
    from alembic.script import ScriptDirectory

    with sa.create_engine("sqlite://").connect() as connection:
        return ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()


def open_store(url: str, *, upgrade: bool = True, create: bool = True) -> Store:
    """Open the store at ``url`` and (by default) upgrade its schema to the newest.

    :param create: create the database (a SQLite file) and its tables when it has none;
        when false, raise :class:`NothingStored` instead (commands that only read).
    :raises RetroflowError: the database cannot be reached or migrated (the message shows
        the URL with its password masked).
    """
    from retroflow.store.store import Store

    if not create and missing_sqlite_file(url):
        raise NothingStored(f"nothing is stored yet in {describe_url(url)}")
    try:
        engine = make_engine(url)
        try:
            revision = current_revision(engine)
            if not create and revision is None:
                raise NothingStored(f"nothing is stored yet in {describe_url(url)}")
            # At the newest revision already (the usual case): no migration lock, no write.
            if upgrade and revision != SCHEMA_REVISION:
                migrate(engine)
        except BaseException:
            engine.dispose()
            raise
    except ArgumentError as exc:
        raise ConfigError(f"database {describe_url(url)}: {exc}") from None
    except SQLAlchemyError as exc:
        raise RetroflowError(f"database {describe_url(url)}: {_short(exc)}") from None
    except ModuleNotFoundError as exc:
        raise ConfigError(f"database {describe_url(url)}: {_driver_missing(exc)}") from None
    return Store(engine)


def missing_sqlite_file(url: str) -> bool:
    """Whether ``url`` is a SQLite database without its file (connecting would create it;
    an in-memory one never holds anything). Other databases are never missing here: their
    tables are looked for once connected."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return False  # open_store reports it
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    return not database or database == ":memory:" or not Path(database).is_file()


def _short(exc: SQLAlchemyError) -> str:
    """The driver's message, first line, without the SQL or parameters."""
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
