"""The ``[service]`` table is validated like ``[retroflow]``: every problem named."""

from __future__ import annotations

from pathlib import Path

import pytest

from retroflow.config import ServiceSettings, parse_config
from retroflow.errors import ConfigError


def test_defaults_and_values(tmp_path: Path) -> None:
    assert parse_config("", tmp_path / "r.toml").service == ServiceSettings()
    config = parse_config('[service]\ndraft_delay = 0\nexport = ["jira"]\nurgencies = ["high"]\n', tmp_path / "r.toml")
    assert (config.service.draft_delay, config.service.export, config.service.urgencies) == (0.0, ["jira"], ["high"])


def test_every_problem_is_named(tmp_path: Path) -> None:
    text = '[service]\ndraft_delay = "ten minutes"\nmax_attempts = 0\nworkerz = 2\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, tmp_path / "r.toml")
    where = f"{tmp_path / 'r.toml'}: [service]"
    assert info.value.problems == (
        f"{where} workerz: unknown key (expected one of: " + ", ".join(sorted(ServiceSettings.__annotations__)) + ")",
        f"{where} draft_delay: expected a number, got 'ten minutes'",
        f"{where}: max_attempts: expected a positive number, got 0",
    )


def test_service_must_be_a_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"service: expected a table"):
        parse_config('service = "on"\n', tmp_path / "r.toml")
