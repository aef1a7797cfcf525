"""Shared by every test directory: quiet logs, no installed plugins, no stray config; the
databases tests run on.

PostgreSQL is a throwaway cluster started once per session from the PostgreSQL binaries
on PATH (``initdb``, ``pg_ctl``). As root (CI and the dev machines) it runs as the
``postgres`` user through ``runuser``, since PostgreSQL refuses to run as root. Each test
gets its own schema. Without the binaries the PostgreSQL half is skipped, saying why.
"""

from __future__ import annotations

import itertools
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog

from retroflow.logs import configure_logging
from retroflow.store.pgtemp import binaries_available, temporary_postgres

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # Core tests see only the default plugins and the ones they register themselves.
    monkeypatch.setenv("RETROFLOW_LOAD_PLUGINS", "")
    # `retroflow retro` stores every build: keep that database out of the source tree (the
    # default one, in the user's data directory, is kept out of the home directory by the
    # repository's conftest.py).
    monkeypatch.setenv("RETROFLOW_DATABASE", f"sqlite:///{tmp_path / 'retroflow.db'}")
    monkeypatch.delenv("RETROFLOW_CONFIG", raising=False)
    monkeypatch.delenv("RETROFLOW_TRACE", raising=False)
    configure_logging(level="warning", json=True)
    yield
    structlog.reset_defaults()


@pytest.fixture
def first_party_plugins(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Load the first-party plugins (``plugins/*``) and no other installed plugin: a test
    about "every plugin" looks at these, never at whatever else is installed in the
    environment (the plugin template, someone's own plugin). Returns their names."""
    names: list[str] = []
    for path in sorted((ROOT / "plugins").glob("*/pyproject.toml")):
        project = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
        names.extend(project.get("entry-points", {}).get("retroflow", {}))
    monkeypatch.setenv("RETROFLOW_LOAD_PLUGINS", ",".join(names))
    return names


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server for this session; yields its base URL."""
    if not binaries_available():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not on PATH")
    with temporary_postgres() as url:
        yield url


_schemas = itertools.count(1)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A URL whose connections use a fresh, empty schema."""
    schema = f"t{os.getpid()}_{next(_schemas)}"
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    yield f"{pg_server}?options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'retroflow.db'}"
    return str(request.getfixturevalue("pg_url"))
