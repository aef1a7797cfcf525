"""The command line: the main job on the example, formats, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from retroflow import SourceError, hookimpl
from retroflow.app import write_atomically
from retroflow.cli import cli
from retroflow.plugins import get_plugin_manager


def run(*args: str, **kwargs: Any) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


def test_retro_on_the_example_writes_markdown_and_json(example_config: Path, tmp_path: Path) -> None:
    result = run("--config", str(example_config), "retro", "CHK-1042", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "CHK-1042.md").read_text()
    document = json.loads((tmp_path / "CHK-1042.json").read_text())
    assert markdown.startswith("# Retrospective: Checkout card payments failing")
    assert "## Contributing conditions" in markdown and "## Actions" in markdown
    assert document["incident"]["id"] == "CHK-1042"
    assert "change-before-incident" in {f["key"] for f in document["factors"]}
    assert "retroflow: wrote" in result.stderr, "progress goes to stderr"


def test_out_dash_writes_one_format_to_stdout(example_config: Path) -> None:
    result = run("-q", "--config", str(example_config), "retro", "CHK-1042", "-f", "json", "--out", "-")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["schema"] == "retroflow.retro/2"
    assert result.stderr == ""


def test_events_and_title_from_the_command_line(example_dir: Path, tmp_path: Path) -> None:
    result = run(
        "-q", "retro", "ADHOC-1", "--events", str(example_dir / "events.jsonl"),
        "--title", "Ad-hoc retro", "--service", "checkout", "-f", "markdown", "--out", "-",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Retrospective: Ad-hoc retro")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["retro", "X", "--format", "pdf"], "unknown format 'pdf'"),
        (["retro", "X", "--out", "-"], "writes one format"),
        (["retro", "X", "--events", "missing.jsonl"], "missing.jsonl: file not found"),
        (["retro"], "Missing argument 'INCIDENT'"),
        (["--config", "nope.toml", "retro", "X"], "nope.toml: config file not found"),
    ],
)
def test_usage_and_config_errors_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_bad_config_value_exits_2_naming_file_and_key(write: Any) -> None:
    path = write("retroflow.toml", "[retroflow]\nscoring = 'astrology'\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "retro", "X"])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {path}: [retroflow] scoring: no scoring model named 'astrology' (available: ")


def test_an_unknown_incident_is_a_failure_exit_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["-q", "retro", "NOPE-1"], env={"RETROFLOW_CONFIG": ""})
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no timeline source knows incident 'NOPE-1'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_source_failure_is_a_gap_not_a_failure(
    example_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Down:
        @hookimpl
        def retroflow_timeline_source(self) -> None:
            raise SourceError("PagerDuty is down")

    def manager(**kwargs: Any) -> Any:
        return get_plugin_manager(extra_plugins=[("pagerduty", Down())], **kwargs)

    events = str(example_dir / "events.jsonl")
    result = run("retro", "X", "--events", events, "--out", str(tmp_path), obj={"plugin_manager_factory": manager})
    assert result.exit_code == 0
    assert "data gap: pagerduty (collect, error): SourceError: PagerDuty is down" in result.stderr
    markdown = (tmp_path / "X.md").read_text()
    assert "## Data gaps" in markdown and "PagerDuty is down" in markdown
    assert "## Contributing conditions" in markdown, "the other source's events still count"


def test_config_check_validates_without_running(example_config: Path, write: Any) -> None:
    ok = CliRunner().invoke(cli, ["--config", str(example_config), "config", "check"])
    assert ok.exit_code == 0 and "OK" in ok.stdout and "[plugins.file]" in ok.stdout
    bad = write("retroflow.toml", "[plugins.file]\nevents = 'one.jsonl'\n")
    result = CliRunner().invoke(cli, ["--config", str(bad), "config", "check"])
    assert result.exit_code == 2
    assert f"{bad}: [plugins.file] events: expected a list of paths" in result.stderr


def test_plugins_lists_names_versions_and_hooks() -> None:
    result = run("plugins")
    assert result.exit_code == 0
    assert "markdown " in result.stdout and "  retroflow_register_renderers" in result.stdout
    listed = json.loads(run("plugins", "--json").stdout)
    assert {"file", "markdown", "json-renderer", "impact-math"} <= {p["name"] for p in listed}


def test_version() -> None:
    import retroflow

    assert run("--version").stdout.strip().endswith(f"version {retroflow.__version__}")


def test_plugins_lists_even_when_a_plugin_table_cannot_be_validated(write: Any) -> None:
    path = write("retroflow.toml", "[plugins.file]\nevents = 'not a list'\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "plugins"])
    assert result.exit_code == 0
    assert "file " in result.stdout


def test_a_plugin_command_with_an_unreadable_config_reports_the_config_error(write: Any) -> None:
    path = write("retroflow.toml", "[retroflow\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "not-a-builtin"])
    assert result.exit_code == 2
    assert f"{path}: invalid TOML" in result.output


def test_written_files_get_normal_permissions_and_keep_their_own(tmp_path: Path) -> None:
    umask = os.umask(0o027)
    try:
        write_atomically(tmp_path / "new.md", "text")
        (tmp_path / "kept.md").write_text("old")
        (tmp_path / "kept.md").chmod(0o600)
        write_atomically(tmp_path / "kept.md", b"new")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.md").stat().st_mode) == 0o640, "not mkstemp's 0600"
    assert stat.S_IMODE((tmp_path / "kept.md").stat().st_mode) == 0o600
    assert (tmp_path / "kept.md").read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_global_options_may_follow_the_command(example_dir: Path, example_config: Path) -> None:
    events = str(example_dir / "events.jsonl")
    result = run("retro", "ADHOC-1", "--events", events, "--no-store", "-f", "json", "--out", "-", "-q")
    assert result.exit_code == 0, result.output
    assert result.stderr == "", "-q after the command silences progress too"
    config = str(example_config)
    result = run("retro", "CHK-1042", "--config", config, "--no-store", "-f", "json", "--out", "-", "--quiet")
    assert json.loads(result.stdout)["incident"]["title"].startswith("Checkout card payments failing")
    assert run("config", "check", f"--config={config}").stdout.startswith(f"{config}: OK")


def test_a_global_option_after_the_command_is_checked_like_before_it() -> None:
    result = CliRunner().invoke(cli, ["plugins", "--log-format", "xml"])
    assert result.exit_code == 2 and "Invalid value for '--log-format'" in result.stderr
    result = CliRunner().invoke(cli, ["retro", "X", "--config"])
    assert result.exit_code == 2 and "Option '--config' requires an argument" in result.stderr


def _every_command(first_party_plugins: list[str]) -> list[tuple[str, click.Command]]:
    from retroflow.cli import RetroflowGroup

    ctx = click.Context(cli, obj=None)
    found: list[tuple[str, click.Command]] = []

    def walk(path: str, command: click.Command) -> None:
        found.append((path, command))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(f"{path} {name}", sub)

    assert isinstance(cli, RetroflowGroup)
    walk("retroflow", cli)
    return found


def test_no_command_has_an_option_named_like_a_global_one(first_party_plugins: list[str]) -> None:
    from retroflow.cli import GLOBAL_OPTIONS

    for path, command in _every_command(first_party_plugins)[1:]:
        names = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        assert not names & set(GLOBAL_OPTIONS), f"{path}: {sorted(names & set(GLOBAL_OPTIONS))}"


def test_help_texts_show_no_rest_markup(first_party_plugins: list[str]) -> None:
    commands = _every_command(first_party_plugins)
    assert {"retroflow retro", "retroflow input factor", "retroflow export"} <= {p for p, _ in commands}
    for path, command in commands:
        texts = [command.help or "", command.short_help or ""]
        texts += [getattr(param, "help", None) or "" for param in command.params]
        for text in texts:
            assert "``" not in text and not re.search(r":[a-z]+:`", text), f"{path}: {text!r}"


@pytest.mark.parametrize("command", [["plugins"], ["retros"], ["plugins", "--json"]])
def test_a_closed_pipe_ends_quietly(command: list[str]) -> None:
    """``retroflow plugins | head -1``: the reader is gone before everything is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    done = subprocess.run(
        [sys.executable, "-c", "from retroflow.cli import main; main()", *command],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 1


class BrokenCommands:
    @hookimpl
    def retroflow_register_commands(self, cli: click.Group) -> None:
        raise ValueError("cannot add my commands")


class GoodCommands:
    @hookimpl
    def retroflow_register_commands(self, cli: click.Group) -> None:
        @cli.command("hello")
        def hello() -> None:
            click.echo("hello from a plugin")


def with_command_plugins() -> dict[str, Any]:
    """The CLI's context object that builds its plugin manager with two command plugins."""

    def manager(**kwargs: Any) -> Any:
        plugins = [("broken-commands", BrokenCommands()), ("good-commands", GoodCommands())]
        return get_plugin_manager(extra_plugins=plugins, **kwargs)

    return {"plugin_manager_factory": manager}


def test_a_plugin_whose_commands_raise_is_named_and_help_still_works() -> None:
    obj = with_command_plugins()
    result = run("--help", obj=obj)
    assert result.exit_code == 0
    assert "retro " in result.stdout and "hello" in result.stdout and "retros" in result.stdout
    assert (
        "retroflow: plugin 'broken-commands' failed in retroflow_register_commands: ValueError: cannot add my commands"
        in result.stderr
    )
    assert run("hello", obj=obj).stdout == "hello from a plugin\n", "the other plugins' commands work"
    assert run("retros", obj=obj).exit_code == 0, "and so do the built-in ones"


def test_a_command_missing_because_its_plugin_failed_says_why() -> None:
    result = CliRunner().invoke(cli, ["broken-thing"], obj=with_command_plugins())
    assert result.exit_code == 1
    assert "no command 'broken-thing'; plugin 'broken-commands' failed in retroflow_register_commands" in (
        result.stderr
    )


def test_help_asks_each_plugin_for_its_commands_once() -> None:
    """--help asks the group for every command in turn: the plugins' commands are made once."""
    calls: list[str] = []

    class Counted:
        @hookimpl
        def retroflow_register_commands(self, cli: click.Group) -> None:
            calls.append("called")
            for name in ("one", "two", "three"):
                cli.command(name, help=f"Command {name}.")(lambda: None)

    def manager(**kwargs: Any) -> Any:
        return get_plugin_manager(extra_plugins=[("counted", Counted())], **kwargs)

    result = run("--help", obj={"plugin_manager_factory": manager})
    assert result.exit_code == 0
    assert all(f"Command {name}." in result.stdout for name in ("one", "two", "three"))
    assert calls == ["called"]
