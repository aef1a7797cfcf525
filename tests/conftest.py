"""Shared by every test directory: quiet logs, no installed plugins, no stray config."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from retroflow.logs import configure_logging


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Core tests see only the default plugins and the ones they register themselves.
    monkeypatch.setenv("RETROFLOW_LOAD_PLUGINS", "")
    monkeypatch.delenv("RETROFLOW_CONFIG", raising=False)
    monkeypatch.delenv("RETROFLOW_TRACE", raising=False)
    configure_logging(level="warning", json=True)
    yield
    structlog.reset_defaults()
