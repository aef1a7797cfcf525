"""Shared by every test directory: quiet logs, no installed plugins, no stray config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from retroflow.logs import configure_logging


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # Core tests see only the default plugins and the ones they register themselves.
    monkeypatch.setenv("RETROFLOW_LOAD_PLUGINS", "")
    # `retroflow retro` stores every build: keep that database out of the source tree.
    monkeypatch.setenv("RETROFLOW_DATABASE", f"sqlite:///{tmp_path / 'retroflow.db'}")
    monkeypatch.delenv("RETROFLOW_CONFIG", raising=False)
    monkeypatch.delenv("RETROFLOW_TRACE", raising=False)
    configure_logging(level="warning", json=True)
    yield
    structlog.reset_defaults()
