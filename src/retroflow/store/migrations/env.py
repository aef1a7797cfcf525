"""Alembic environment for retroflow's store.

Run programmatically by :func:`retroflow.store.migrate` (which passes an open connection in
``config.attributes["connection"]``), or with the ``alembic`` command and ``-x url=...``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from retroflow.store.schema import metadata, with_postgresql_options

config = context.config


def _run(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        with_postgresql_options()
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # pragma: no cover - the alembic command line
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("pass the database with -x url=...")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
