"""Shared by every test directory: quiet logs, no installed plugins, no stray config."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from retroflow.logs import configure_logging

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
