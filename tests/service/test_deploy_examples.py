"""The deployment examples in contrib/deploy/ stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from retroflow.cli import cli

DEPLOY = Path(__file__).resolve().parents[2] / "contrib" / "deploy"


def test_the_example_config_passes_config_check(
    first_party_plugins: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAGERDUTY_TOKEN", "example-token-1234")
    monkeypatch.setenv("PAGERDUTY_WEBHOOK_SECRET", "example-secret-1234")
    result = CliRunner().invoke(cli, ["--config", str(DEPLOY / "retroflow.toml"), "config", "check"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("unit", ["retroflow.service", "retroflow-worker@.service"])
def test_the_systemd_units_run_commands_that_exist(unit: str) -> None:
    text = (DEPLOY / unit).read_text()
    [command] = re.findall(r"^ExecStart=\S+ (.*)$", text, re.M)
    args = [a for a in command.split() if not a.startswith("/")]
    name = next(a for a in args if not a.startswith("-") and a not in ("json",))
    assert CliRunner().invoke(cli, [name, "--help"]).exit_code == 0
    assert "KillSignal=SIGTERM" in text


def test_the_container_runs_serve_and_checks_readiness() -> None:
    text = (DEPLOY / "Containerfile").read_text()
    assert '"serve", "--host", "0.0.0.0"' in text and "/readyz" in text
    assert (DEPLOY / "Caddyfile").read_text().replace("127.0.0.1", "retroflow") == (
        DEPLOY / "Caddyfile.compose"
    ).read_text()
