"""Start-up and exit of the ``retroflow`` process: what a command imports, how plugins are
found, and how the process ends (issue 9, item 20; the times are in bench/bench_build.py)."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import attrs
import pytest

import retroflow
import retroflow.store
from retroflow import plugins as plugins_module

#: Modules ``retroflow --help`` must not import: the store's libraries, structlog (and the
#: asyncio it imports), the metadata reader, the engine, the domain model, the heuristics.
NOT_FOR_HELP = (
    "sqlalchemy",
    "alembic",
    "structlog",
    "asyncio",
    "importlib.metadata",
    "email.utils",
    "tomllib",  # read only when there is a config file
    "orjson",
    "retroflow.model",
    "retroflow.engine",
    "retroflow.default_plugins.conditions.technical",
    "retroflow.default_plugins.renderers.markdown",
    # attrs: importing it costs --help ~20 ms and each class it makes ~2 ms; the classes
    # (settings, the HTTP client bases, the ticket content) are made when first used.
    "attr",
    "dataclasses",
    "retroflow.config",  # read only when there is a config file
    "retroflow.http",
    "retroflow.source_kit",
    "retroflow.tickets",
    "retroflow.tracker_settings",
    "retroflow.publisher",
    "retroflow.outcomes.settings",
    "pathlib",  # with urllib.parse: a path is made only where one is used
    "urllib.parse",
    "shutil",  # with bz2, lzma, zlib: click imports it only to ask the terminal's width
)


@attrs.frozen
class Ran:
    stdout: str
    stderr: str
    code: int
    modules: frozenset[str]  # what the process had imported when it ended


def run_main(*args: str, before: str = "", cwd: Path | None = None, env: dict[str, str] | None = None) -> Ran:
    """``retroflow ARGS`` in a fresh process, ``before`` run first."""
    code = "\n".join(
        [
            "import json, os, sys",
            "real_exit = os._exit",
            "def exit(code):",
            "    print('MODULES ' + json.dumps(sorted(sys.modules)), file=sys.stderr, flush=True)",
            "    real_exit(code)",
            "os._exit = exit",
            textwrap.dedent(before),
            "from retroflow.cli import main",
            f"sys.argv = ['retroflow', *{list(args)!r}]",
            "main()",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env or dict(os.environ)
    )
    lines = done.stderr.splitlines()
    modules = [json.loads(line[8:]) for line in lines if line.startswith("MODULES ")]
    stderr = "\n".join(line for line in lines if not line.startswith("MODULES "))
    return Ran(done.stdout, stderr, done.returncode, frozenset(modules[-1] if modules else ()))


def test_help_lists_every_command_and_imports_nothing_heavy(first_party_plugins: list[str]) -> None:
    ran = run_main("--help")
    assert ran.code == 0
    for command in ("retro", "retros", "show", "input", "export", "followup", "db", "plugins", "config"):
        assert f"\n  {command} " in ran.stdout
    assert not ran.modules & set(NOT_FOR_HELP)
    assert {f"retroflow_{name}" for name in ("pagerduty", "slack", "jira")} <= ran.modules
    plugin_parts = (".settings", ".mapping", ".refs", ".window", ".deploy_settings")
    assert not {m for m in ran.modules if m.startswith("retroflow_") and m.endswith(plugin_parts)}


def test_help_with_a_config_file_reads_it_for_the_plugins_it_blocks(
    tmp_path: Path, first_party_plugins: list[str]
) -> None:
    (tmp_path / "retroflow.toml").write_text('[retroflow]\nblock_plugins = ["pagerduty"]\n', encoding="utf-8")
    ran = run_main("--help", cwd=tmp_path)
    assert ran.code == 0
    assert "retroflow.config" in ran.modules
    assert "\n  pagerduty " not in ran.stdout
    assert "\n  pagerduty " in run_main("--help").stdout


def test_help_lists_the_commands_of_an_installed_plugin(tmp_path: Path) -> None:
    """A plugin found through its distribution's entry points, as pip installs it."""
    (tmp_path / "rf_hello.py").write_text(
        textwrap.dedent(
            """
            import click
            from retroflow import hookimpl

            @click.command()
            def hello():
                '''Say hello from a plugin.'''
                click.echo("hello from a plugin")

            @hookimpl
            def retroflow_register_commands(cli):
                cli.add_command(hello)
            """
        ),
        encoding="utf-8",
    )
    info = tmp_path / "rf_hello-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rf-hello\nVersion: 1.0\n\nA plugin.\n")
    (info / "entry_points.txt").write_text("# a comment\n[console_scripts]\nx = y:z\n\n[retroflow]\nhello = rf_hello\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("RETROFLOW_LOAD_PLUGINS", None)
    assert re.search(r"\n  hello +Say hello from a plugin\.\n", run_main("--help", env=env).stdout)
    assert run_main("hello", env=env).stdout == "hello from a plugin\n"
    assert "hello 1.0 (installed)\n  retroflow_register_commands\n" in run_main("plugins", env=env).stdout


def test_a_build_without_the_store_imports_no_sqlalchemy(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"at": "2026-11-02T10:00:00Z", "kind": "alert", "summary": "errors"}\n', encoding="utf-8")
    ran = run_main("-q", "retro", "INC-1", "--events", str(events), "--out", str(tmp_path), "--no-store")
    assert ran.code == 0
    assert not ran.modules & {"sqlalchemy", "alembic"}
    assert (tmp_path / "INC-1.md").exists()


def test_the_entry_points_are_those_importlib_metadata_finds() -> None:
    found = [(label, point.name, point.value) for label, point in plugins_module._entry_points()]
    # As importlib.metadata.entry_points(): a distribution found twice on the path (an
    # editable install's egg-info beside its dist-info) counts once, the first found.
    expected, seen = [], set()
    for dist in importlib.metadata.distributions():
        name = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
        if name in seen:
            continue
        seen.add(name)
        expected += [
            (f"{dist.metadata['Name']} {dist.version}", point.name, point.value)
            for point in dist.entry_points
            if point.group == "retroflow"
        ]
    assert found == expected
    assert len({name for _, name, _ in found}) == len(found)


def test_an_entry_point_loads_the_object_it_names() -> None:
    point = plugins_module.EntryPoint("x", "retroflow.plugins:Plugins.implementations [extra]")
    assert point.load() is plugins_module.Plugins.implementations
    assert plugins_module.EntryPoint("y", "retroflow.hookspecs").load() is importlib.import_module(
        "retroflow.hookspecs"
    )


@pytest.mark.parametrize("package", [retroflow, retroflow.store])
def test_every_public_name_is_there_when_asked_for(package: object) -> None:
    for name in package.__all__:  # type: ignore[attr-defined]
        assert getattr(package, name) is not None
    assert set(package.__all__) <= set(dir(package))  # type: ignore[attr-defined]


def test_the_first_party_plugin_packages_export_what_they_say(first_party_plugins: list[str]) -> None:
    packages = sorted({point.value.split(":")[0].split(".")[0] for _, point in plugins_module._entry_points()})
    assert "retroflow_pagerduty" in packages
    # retroflow_git keeps its package free of retroflow imports (its history reader is used
    # on its own), so every name there is loaded lazily, the plugin's module too.
    for name in [p for p in packages if p != "retroflow_git"]:
        package = importlib.import_module(name)
        for exported in getattr(package, "__all__", ()):
            value = getattr(package, exported)
            assert not (exported == "plugin" and isinstance(value, type(os))), f"{name}.plugin is a module"


# -- logging ----------------------------------------------------------------------------------

LOGS_LATER = """
import sys
from retroflow.logs import configure_logging, get_logger, register_secret
configure_logging(level="info", json=True)
assert "structlog" not in sys.modules
get_logger("quiet").debug("not shown")
assert "structlog" not in sys.modules, "a hidden level imported structlog"
register_secret("hunter2secret")
import structlog  # a plugin's own import: the configuration applies now
structlog.get_logger("plugin").info("token hunter2secret used", api_key="abc")
"""


def test_structlog_is_configured_when_first_imported() -> None:
    done = subprocess.run([sys.executable, "-c", LOGS_LATER], capture_output=True, text=True, check=True)
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["event"] == "token [redacted] used"
    assert line["api_key"] == "[redacted]"
    assert line["level"] == "info"


# -- the end of the process -------------------------------------------------------------------

AT_THE_END = """
import atexit, sys, threading, time
atexit.register(lambda: print("atexit ran", file=sys.stderr))
def late():
    time.sleep(0.2)
    print("thread finished", file=sys.stderr)
threading.Thread(target=late).start()
"""


def test_the_process_ends_as_the_interpreter_would(tmp_path: Path) -> None:
    ran = run_main("--version", before=AT_THE_END, cwd=tmp_path)
    assert ran.stderr.splitlines() == ["thread finished", "atexit ran"]
    assert ran.code == 0 and "version" in ran.stdout
    assert run_main("retro", "", cwd=tmp_path).code == 2
    assert run_main("no-such-command", cwd=tmp_path).code == 2


def test_standard_output_is_complete_when_the_process_ends(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    lines = [
        f'{{"at": "2026-11-02T10:{i // 60:02d}:{i % 60:02d}Z", "kind": "log", "summary": "e{i}"}}' for i in range(3000)
    ]
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ran = run_main("-q", "retro", "INC-1", "--events", str(events), "--out", "-", "-f", "json", "--no-store")
    document = json.loads(ran.stdout)
    assert len(document["timeline"]) == 3000


def test_the_default_plugins_that_add_commands_are_those_loaded_to_list_them() -> None:
    pm = plugins_module.get_plugin_manager(load_entrypoints=False)
    adding = {
        impl.plugin.__name__ for impl in pm.hook.retroflow_register_commands.get_hookimpls() if impl.plugin is not None
    }
    assert adding == {plugins_module.DEFAULT_PLUGINS[name] for name in plugins_module.COMMAND_PLUGINS}


def test_help_is_wrapped_to_the_terminal_width_columns_gives() -> None:
    ran = run_main("--help", env={**os.environ, "COLUMNS": "60"})
    assert ran.code == 0
    widths = [len(line) for line in ran.stdout.splitlines()]
    assert max(widths) <= 58 < max(len(line) for line in run_main("--help").stdout.splitlines())


@pytest.mark.parametrize("columns", [None, "", "abc", "0", "-3", "120", "40"])
def test_the_terminal_width_is_the_one_shutil_gives(monkeypatch: pytest.MonkeyPatch, columns: str | None) -> None:
    import shutil

    from retroflow.cli import terminal_columns

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns
