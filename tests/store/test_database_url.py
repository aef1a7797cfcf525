"""Where the database is: config, environment, relative paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from retroflow.errors import ConfigError, RetroflowError
from retroflow.store import database_url, describe_url, open_store
from retroflow.testing import make_config


def test_default_is_one_file_in_the_user_data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not beside the config or in the working directory: every run, from anywhere, without
    a config or with one that names no database, uses the same store."""
    monkeypatch.delenv("RETROFLOW_DATABASE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    expected = f"sqlite:///{tmp_path / 'data' / 'retroflow' / 'retroflow.db'}"
    assert database_url(make_config(path=tmp_path / "a" / "retroflow.toml")) == expected
    monkeypatch.chdir(tmp_path)
    assert database_url(make_config()) == expected


def test_relative_sqlite_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    config = make_config('[retroflow]\ndatabase = "sqlite:///state/r.db"\n', path=tmp_path / "retroflow.toml")
    assert database_url(config) == f"sqlite:///{tmp_path / 'state' / 'r.db'}"


def test_environment_wins_and_env_references_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config('[retroflow]\ndatabase = "env:MY_DB_URL"\n', path=tmp_path / "retroflow.toml")
    monkeypatch.setenv("MY_DB_URL", "postgresql://u:pw@db/x")
    assert database_url(config) == "postgresql://u:pw@db/x"
    monkeypatch.setenv("RETROFLOW_DATABASE", "sqlite:////abs/other.db")
    assert database_url(config) == "sqlite:////abs/other.db"


def test_missing_env_reference_is_a_config_error(tmp_path: Path) -> None:
    config = make_config('[retroflow]\ndatabase = "env:NOT_SET_ANYWHERE"\n', path=tmp_path / "retroflow.toml")
    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE is not set"):
        database_url(config)


def test_messages_never_show_the_password() -> None:
    assert describe_url("postgresql://u:s3cret@db/x") == "postgresql://u:***@db/x"
    with pytest.raises(RetroflowError) as caught:
        open_store("postgresql://u:s3cret@127.0.0.1:1/x")
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)
