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

from retroflow import RetroRequest
from retroflow.engine import build_retro
from retroflow.logs import configure_logging
from retroflow.model import Retro
from retroflow.store.pgtemp import binaries_available, temporary_postgres
from retroflow.testing import make_config, make_plugins

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "contrib" / "examples" / "checkout-outage"
#: The installed plugins the bundled example's config reads, beside the default ones.
EXAMPLE_PLUGINS = ("git", "github-deploys", "slack")


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


@pytest.fixture
def example_config(example_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundled example's ``retroflow.toml``, ready to build: its repository made and the
    plugins it reads loaded (its deploys and chat come from them)."""
    monkeypatch.setenv("RETROFLOW_LOAD_PLUGINS", ",".join(EXAMPLE_PLUGINS))
    return EXAMPLE / "retroflow.toml"


@pytest.fixture(scope="session")
def example_built(example_repo: Path) -> Retro:
    """The bundled example's retro, as ``retroflow retro CHK-1042`` builds it with its config
    (the plugins it reads are registered here, whatever the environment says)."""
    from retroflow_git.plugin import plugin as git
    from retroflow_github.deploys import plugin as github_deploys
    from retroflow_slack.plugin import plugin as slack

    plugins = make_plugins(("git", git), ("github-deploys", github_deploys), ("slack", slack))
    path = EXAMPLE / "retroflow.toml"
    config = make_config(path.read_text(encoding="utf-8"), plugins=plugins, path=path)
    return build_retro(RetroRequest("CHK-1042"), plugins=plugins, config=config)
