"""The schema comes from the migrations, and the migrations match the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from retroflow.store import open_store
from retroflow.store.database import SCHEMA_REVISION, current_revision, head_revision, make_engine, migrate
from retroflow.store.schema import metadata


def test_upgrade_head_on_an_empty_database_creates_every_table(db_url: str) -> None:
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == head_revision()
    tables = set(sa.inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables
    engine.dispose()


def test_models_match_the_migrations(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_does_not_load_the_postgresql_dialect_and_postgresql_gets_its_partial_index(db_url: str) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from retroflow.store import open_store; open_store(sys.argv[1]).close(); "
        "print(any(m.startswith('sqlalchemy.dialects.postgresql') for m in sys.modules))"
    )
    open_store(db_url).close()  # migrating imports Alembic, which loads every dialect
    if db_url.startswith("sqlite"):  # a build into the database: as a rebuild opens it
        loaded = subprocess.run([sys.executable, "-c", code, db_url], capture_output=True, text=True, check=True)
        assert loaded.stdout.strip() == "False"
        return
    queued = next(i for i in metadata.tables["jobs"].indexes if i.name == "uq_jobs_queued_lock_key")
    assert str(queued.dialect_options["postgresql"]["where"]) == "state = 'queued'"


def test_opening_twice_is_harmless(db_url: str) -> None:
    open_store(db_url).close()
    store = open_store(db_url)
    assert current_revision(store.engine) == head_revision()
    store.close()


def test_sqlite_file_is_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()


def test_processes_opening_a_new_sqlite_file_together_all_succeed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'race.db'}"
    code = f"from retroflow.store import open_store; open_store({url!r}).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE) for _ in range(4)]
    errors = [p.communicate()[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    engine = make_engine(url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_the_schema_revision_opened_without_alembic_is_the_head_of_the_migrations() -> None:
    # open_store compares a database's revision with SCHEMA_REVISION, not with the scripts
    # (reading them imports Alembic): a new migration updates it.
    assert head_revision() == SCHEMA_REVISION


def test_opening_a_store_at_the_newest_revision_imports_no_alembic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'x.db'}"
    open_store(url).close()
    code = f"import sys; from retroflow.store import open_store; open_store({url!r}).close(); print('alembic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
