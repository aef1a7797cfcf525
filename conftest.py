"""Shared by every test in the repository, the plugins' included."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _no_real_user_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The default database lives in the user's data directory: a test that uses it (any
    # command without $RETROFLOW_DATABASE or a config naming one) writes into tmp_path.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
