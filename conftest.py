"""Shared by every test in the repository, the plugins' included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

#: The bundled example incident (its config, files, saved replies and export).
EXAMPLE = Path(__file__).resolve().parent / "contrib" / "examples" / "checkout-outage"


@pytest.fixture(autouse=True)
def _no_real_user_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The default database lives in the user's data directory: a test that uses it (any
    # command without $RETROFLOW_DATABASE or a config naming one) writes into tmp_path.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="session")
def example_repo() -> Path:
    """The example's Git repository, made as ``scripts/example.sh`` makes it: by its
    ``make_repo.py``, into the example's git-ignored ``repos/`` (kept when it already holds
    the same history)."""
    made = subprocess.run([sys.executable, str(EXAMPLE / "make_repo.py")], capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    return Path(made.stdout.strip())
