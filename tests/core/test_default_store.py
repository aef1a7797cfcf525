"""One default database, whatever the working directory; commands that only read create none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from retroflow.cli import cli
from retroflow.config import load_config


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No database named anywhere: the default one, in $XDG_DATA_HOME (tests/conftest.py
    points it into tmp_path, never at the real home directory)."""
    monkeypatch.delenv("RETROFLOW_DATABASE")
    home = tmp_path / "data-home"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def run_in(directory: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    directory.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(directory)
    return CliRunner().invoke(cli, ["-q", *args])


def test_builds_from_anywhere_go_to_one_default_database(
    data_home: Path, tmp_path: Path, example_dir: Path, example_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = str(example_dir / "events.jsonl")
    assert run_in(tmp_path / "one", monkeypatch, "retro", "INC-1", "--events", events).exit_code == 0
    example = str(example_config)
    out = tmp_path / "two" / "out"
    out.mkdir(parents=True)
    built = run_in(tmp_path / "two", monkeypatch, "--config", example, "retro", "CHK-1042", "--out", str(out))
    assert built.exit_code == 0, built.output
    listed = run_in(tmp_path / "three", monkeypatch, "retros", "--json")
    assert {r["incident"] for r in json.loads(listed.stdout)} == {"INC-1", "CHK-1042"}
    assert (data_home / "retroflow" / "retroflow.db").is_file()
    assert not list((tmp_path / "one").glob("*.db")) and not list((tmp_path / "three").iterdir())


def test_read_only_commands_create_no_database(
    data_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    assert run_in(here, monkeypatch, "retros").stdout == "no retros stored yet (build one: retroflow retro INCIDENT)\n"
    assert run_in(here, monkeypatch, "retros", "--json").stdout == "[]\n"
    assert run_in(here, monkeypatch, "followup").stdout == "no open actions\n"
    assert run_in(here, monkeypatch, "followup", "sync").exit_code == 0
    shown = run_in(here, monkeypatch, "show", "INC-1")
    assert shown.exit_code == 1 and "nothing is stored yet in sqlite:///" in shown.stderr
    assert run_in(here, monkeypatch, "input", "list", "INC-1").exit_code == 1
    assert run_in(here, monkeypatch, "input", "export", "INC-1", "-o", "-").exit_code == 1
    assert "revision none" in run_in(here, monkeypatch, "db", "current").stdout
    failed = run_in(here, monkeypatch, "retro", "NOPE-1")
    assert failed.exit_code == 1 and "no timeline source knows incident 'NOPE-1'" in failed.stderr
    assert list(here.iterdir()) == [], "nothing created in the working directory"
    assert not data_home.exists(), "nor the default database"


def test_the_configured_and_environment_databases_still_win(
    data_home: Path, tmp_path: Path, example_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = str(example_dir / "events.jsonl")
    config = tmp_path / "project" / "retroflow.toml"
    config.parent.mkdir()
    config.write_text('[retroflow]\ndatabase = "sqlite:///state/retro.db"\n')
    assert run_in(tmp_path / "project", monkeypatch, "retro", "INC-1", "--events", events).exit_code == 0
    assert (tmp_path / "project" / "state" / "retro.db").is_file()
    monkeypatch.setenv("RETROFLOW_DATABASE", f"sqlite:///{tmp_path / 'env.db'}")
    assert run_in(tmp_path / "project", monkeypatch, "retro", "INC-1", "--events", events).exit_code == 0
    assert (tmp_path / "env.db").is_file()
    assert not data_home.exists()


@pytest.mark.parametrize("config", ["retroflow.toml", "pagerduty/retroflow-pagerduty.toml"])
def test_the_example_keeps_documents_and_retro_as_code_files_together(example_dir: Path, config: str) -> None:
    """Under the repository's retros/, in the default database: never a file in the source tree."""
    engine = load_config(example_dir / config).engine
    assert engine.input_dir.resolve() == engine.output.resolve() == example_dir.parents[2] / "retros"
    assert engine.database is None


def test_a_relative_config_path_puts_retro_as_code_files_in_input_dir(
    example_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--config contrib/…/retroflow.toml`` from the repository root: the configured
    directory is joined with the config's directory once, not twice."""
    from retroflow.store.human import input_file_path

    root = example_dir.parents[2]
    monkeypatch.chdir(root)
    config = load_config(example_dir.relative_to(root) / "retroflow.toml")
    assert input_file_path(config, "CHK-1042") == root / "retros" / "CHK-1042.retro.toml"


def test_tests_never_use_the_real_user_data_directory(tmp_path: Path) -> None:
    from retroflow.store import default_database

    assert default_database() == f"sqlite:///{tmp_path / 'xdg-data' / 'retroflow' / 'retroflow.db'}"
