"""Bad input never becomes an empty retro stored as a success: configuration mistakes exit 2
naming the file and key, an empty timeline exits 1, and nothing is stored or overwritten
unless the documents were written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from retroflow import hookimpl
from retroflow import publisher as publisher_module
from retroflow.cli import cli
from retroflow.plugins import get_plugin_manager
from retroflow.store import open_store

INCIDENT = '{"id": "CHK-1042", "title": "Checkout card payments failing"}'


def invoke(*args: str, obj: dict[str, Any] | None = None) -> Result:
    return CliRunner().invoke(cli, ["-q", *args], obj=obj)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """The SQLite file the tests' RETROFLOW_DATABASE names (tests/conftest.py)."""
    return tmp_path / "retroflow.db"


def versions(database: Path, incident: str = "CHK-1042") -> int:
    """How many versions of ``incident`` are stored (0 when there is no database)."""
    if not database.exists():
        return 0
    with open_store(f"sqlite:///{database}") as store:
        return len(store.versions(incident))


@pytest.fixture
def project(tmp_path: Path, example_dir: Path) -> Path:
    """A directory with the example's events, its incident file and a config naming both."""
    root = tmp_path / "project"
    (root / "out").mkdir(parents=True)
    (root / "events.jsonl").write_bytes((example_dir / "events.jsonl").read_bytes())
    (root / "incident.json").write_text(INCIDENT)
    (root / "retroflow.toml").write_text(
        '[retroflow]\noutput = "out"\n[plugins.file]\nevents = ["events.jsonl"]\nincident = "incident.json"\n'
    )
    return root


@pytest.fixture
def good(project: Path, database: Path) -> dict[str, bytes]:
    """A good retro of CHK-1042, written and stored (version 1): what bad runs must keep."""
    result = invoke("--config", str(project / "retroflow.toml"), "retro", "CHK-1042")
    assert result.exit_code == 0, result.output
    assert versions(database) == 1
    return {p.name: p.read_bytes() for p in (project / "out").iterdir()}


def unchanged(project: Path, database: Path, good: dict[str, bytes]) -> bool:
    documents = {p.name: p.read_bytes() for p in (project / "out").iterdir()}
    return documents == good and versions(database) == 1


# -- 1. a configured input that cannot be read --------------------------------------------


def test_a_misspelt_event_file_in_the_config_exits_2_naming_the_key(
    project: Path, database: Path, good: dict[str, bytes]
) -> None:
    config = project / "retroflow.toml"
    config.write_text(config.read_text().replace('"events.jsonl"', '"evnts.jsonl"'))
    result = invoke("--config", str(config), "retro", "CHK-1042")
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {config}: [plugins.file] events: {project / 'evnts.jsonl'}: no such file\n"
    assert unchanged(project, database, good)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        ("{not json", "--incident-file: incident file"),
        ('{"title": "no id"}', "incident field 'id' is required"),
        ('{"id": "CHK-9999"}', "describes incident 'CHK-9999', not 'CHK-1042'"),
        ('["a list"]', "an incident must be a JSON object"),
    ],
)
def test_a_bad_incident_file_exits_2_and_keeps_the_good_retro(
    project: Path, database: Path, good: dict[str, bytes], content: str | None, message: str
) -> None:
    incident_file = project / "given.json"
    if content is not None:
        incident_file.write_text(content)
    config = str(project / "retroflow.toml")
    result = invoke("--config", config, "retro", "CHK-1042", "--incident-file", str(incident_file))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and str(incident_file) in result.stderr
    assert unchanged(project, database, good)


def test_a_configured_incident_file_of_another_incident_names_the_key(project: Path, database: Path) -> None:
    (project / "incident.json").write_text('{"id": "CHK-9999"}')
    config = project / "retroflow.toml"
    result = invoke("--config", str(config), "retro", "CHK-1042")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {config}: [plugins.file] incident: incident file ")
    assert "describes incident 'CHK-9999'" in result.stderr
    assert not database.exists(), "a failed build creates no database"


def test_an_unreadable_event_file_is_a_gap_and_the_other_files_still_count(project: Path, example_dir: Path) -> None:
    (project / "a-directory.jsonl").mkdir()
    config = project / "retroflow.toml"
    config.write_text(config.read_text().replace('"events.jsonl"', '"events.jsonl", "a-directory.jsonl"'))
    result = CliRunner().invoke(cli, ["--config", str(config), "retro", "CHK-1042", "-f", "json", "--out", "-"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert len(document["timeline"]) == sum(1 for line in (example_dir / "events.jsonl").open() if line.strip())
    assert any("a-directory.jsonl" in gap["reason"] for gap in document["gaps"])


def test_config_check_lists_every_problem(write: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RETROFLOW_DATABASE")
    monkeypatch.setenv("RETROFLOW_LOAD_PLUGINS", "pagerdty")
    config = write(
        "retroflow.toml",
        """
[retroflow]
scoring = "astrology"
focus = "three"
database = "env:RETRO_DB_URL_NOT_SET"
load_plugins = ["jiraa"]
block_plugins = ["markdwn"]
[plugins.file]
events = ["missing-one.jsonl", "missing-two.jsonl"]
incident = "no-incident.json"
colour = "red"
[plugins.fiel]
events = []
""",
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "config", "check"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    expected = [
        "[retroflow] focus: expected an integer, got 'three'",
        "[plugins.fiel] is not read by any installed plugin",
        "[plugins.file] colour: unknown key",
        "[retroflow] scoring: no scoring model named 'astrology'",
        "[retroflow] load_plugins: no installed plugin named 'jiraa'",
        "$RETROFLOW_LOAD_PLUGINS: no installed plugin named 'pagerdty'",
        "[retroflow] block_plugins: no plugin named 'markdwn'",
        "[retroflow] database: environment variable RETRO_DB_URL_NOT_SET is not set",
    ]
    for text in expected:
        assert sum(text in line for line in lines) == 1, f"{text!r} not reported once in:\n{result.stderr}"
    assert all(line.startswith("Error: ") for line in lines)


def test_config_check_reports_missing_input_files(write: Any, tmp_path: Path) -> None:
    config = write("retroflow.toml", '[plugins.file]\nevents = ["a.jsonl", "b.jsonl"]\nincident = "i.json"\n')
    (tmp_path / "b.jsonl").write_text("")
    result = CliRunner().invoke(cli, ["--config", str(config), "config", "check"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {config}: [plugins.file] events: {tmp_path / 'a.jsonl'}: no such file",
        f"Error: {config}: [plugins.file] incident: {tmp_path / 'i.json'}: no such file",
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@db/retro", "mysql://u@db/retro: unsupported database (use sqlite:///PATH or postgresql://...)"),
        ("not a url", "not a database URL"),
        ("postgresql+asyncpg://u@db/x", "postgresql+asyncpg://u@db/x: driver 'asyncpg' is not installed (for"),
    ],
)
def test_config_check_reports_an_unsupported_database(
    write: Any, monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.delenv("RETROFLOW_DATABASE")
    config = write("retroflow.toml", f'[retroflow]\ndatabase = "{url}"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "config", "check"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {config}: [retroflow] database: {message}")
    assert len(result.stderr.splitlines()) == 1
    monkeypatch.setenv("RETROFLOW_DATABASE", url)
    from_env = CliRunner().invoke(cli, ["config", "check"])
    assert from_env.stderr.startswith(f"Error: $RETROFLOW_DATABASE: {message}"), "it says where the URL is"


def test_an_unsupported_database_stops_a_build_before_it_runs(
    example_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETROFLOW_DATABASE", "mysql://u@db/retro")
    result = invoke("retro", "X", "--events", str(example_dir / "events.jsonl"), "-f", "json", "--out", "-")
    assert result.exit_code == 2 and "unsupported database" in result.stderr
    assert result.stdout == ""


def test_unknown_plugin_names_are_configuration_errors_for_every_command(write: Any) -> None:
    config = write("retroflow.toml", '[retroflow]\nblock_plugins = ["change-before-incidnet"]\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "retro", "X"])
    assert result.exit_code == 2
    assert "[retroflow] block_plugins: no plugin named 'change-before-incidnet'" in result.stderr


# -- 2. an empty timeline --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "shown"),
    [
        ("", "is an event file empty?"),
        ('{"at": "2026-11-02T14:00:00", "kind": "page", "summary": "no offset"}\n{"kind": "x"}\n', "2 line(s) skipped"),
    ],
)
def test_an_empty_timeline_exits_1_with_the_gaps_and_stores_nothing(
    project: Path, database: Path, good: dict[str, bytes], events: str, shown: str
) -> None:
    (project / "events.jsonl").write_text(events)
    result = invoke("--config", str(project / "retroflow.toml"), "retro", "CHK-1042")
    assert result.exit_code == 1, result.output
    first, *details = result.stderr.splitlines()
    assert first == "Error: the timeline of incident 'CHK-1042' is empty: no retro was written or stored"
    assert any(shown in line for line in details)
    assert unchanged(project, database, good)


def test_an_empty_timeline_without_the_store_is_a_failure_too(project: Path) -> None:
    (project / "events.jsonl").write_text("")
    result = invoke(
        "--config", str(project / "retroflow.toml"), "retro", "CHK-1042", "--no-store", "-f", "json", "--out", "-"
    )
    assert result.exit_code == 1 and result.stdout == ""


# -- 3. documents first, then the store --------------------------------------------------------


@pytest.mark.parametrize("kind", ["a file", "missing", "unwritable"])
def test_out_is_checked_before_anything_runs(
    example_dir: Path, tmp_path: Path, database: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "a file":
        out, message = tmp_path / "file.md", "not a directory"
        out.write_text("")
    elif kind == "missing":
        out, message = tmp_path / "nope", "no such directory"
    else:
        out, message = tmp_path / "locked", "cannot write in"
        out.mkdir()
        out.chmod(0o555)
        if os.access(out, os.W_OK):  # root writes anyway: take a directory nobody can write in
            out = Path("/sys")
            if not out.is_dir():
                pytest.skip("running as root without /sys")

    def never(**kwargs: Any) -> Any:
        raise AssertionError("the build ran")

    monkeypatch.setattr("retroflow.store.build.build_with_input", never)
    result = invoke("retro", "X", "--events", str(example_dir / "events.jsonl"), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: --out {out}: {message}")
    assert len(result.stderr.splitlines()) == 1
    assert not database.exists()


def test_a_document_that_cannot_be_written_leaves_no_version(
    project: Path, database: Path, good: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(path: Path, content: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publisher_module, "write_atomically", disk_full)
    result = invoke("--config", str(project / "retroflow.toml"), "retro", "CHK-1042")
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr
    assert unchanged(project, database, good)


def test_the_stored_version_is_the_one_the_documents_carry(project: Path, database: Path) -> None:
    config = str(project / "retroflow.toml")
    for expected in (1, 2):
        assert invoke("--config", config, "retro", "CHK-1042").exit_code == 0
        assert json.loads((project / "out" / "CHK-1042.json").read_text())["version"] == expected
    assert versions(database) == 2


def test_a_version_taken_by_another_build_is_written_again_under_the_next(
    project: Path, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two builds of one incident at once: the later one to store rewrites its documents
    with the version it is stored as."""
    config = str(project / "retroflow.toml")
    real = publisher_module.write_atomically
    raced = []

    def racing(path: Path, content: bytes) -> None:
        if not raced:  # another build stores version 1 while this one writes
            raced.append(True)
            with monkeypatch.context() as inner:
                inner.setattr(publisher_module, "write_atomically", real)
                assert invoke("--config", config, "retro", "CHK-1042").exit_code == 0
        real(path, content)

    monkeypatch.setattr(publisher_module, "write_atomically", racing)
    assert invoke("--config", config, "retro", "CHK-1042").exit_code == 0
    assert versions(database) == 2
    assert json.loads((project / "out" / "CHK-1042.json").read_text())["version"] == 2


# -- 5. Ctrl-C ---------------------------------------------------------------------------------


def test_ctrl_c_while_writing_exits_130_and_stores_nothing(
    project: Path, database: Path, good: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(path: Path, content: bytes) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(publisher_module, "write_atomically", interrupted)
    result = CliRunner().invoke(cli, ["--config", str(project / "retroflow.toml"), "retro", "CHK-1042"])
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    assert unchanged(project, database, good)


SLOW_BUILD = """
import sys, time
from retroflow import hookimpl
import retroflow.cli as cli
from retroflow.plugins import get_plugin_manager

class Slow:
    @hookimpl
    def retroflow_find_factors(self):
        print("SLOW-FACTORS-RUNNING", file=sys.stderr, flush=True)
        time.sleep(60)

cli.main(obj={"plugin_manager_factory": lambda **kwargs: get_plugin_manager(extra_plugins=[Slow()], **kwargs)})
"""


def test_a_real_ctrl_c_exits_130_and_leaves_no_version(project: Path, database: Path) -> None:
    args = ["--config", str(project / "retroflow.toml"), "retro", "CHK-1042"]
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_BUILD, *args], stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    assert process.stderr is not None
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "SLOW-FACTORS-RUNNING" not in process.stderr.readline():
            pass
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        assert "interrupted" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
    assert not database.exists() and list((project / "out").iterdir()) == []


# -- 25. renderers are isolated like every plugin ---------------------------------------------


class BadRenderers:
    """A renderer that raises and one that hangs."""

    @hookimpl
    def retroflow_register_renderers(self, register: Callable[[Any], None]) -> None:
        class Raising:
            name = "raising"
            extension = "txt"

            def render(self, retro: Any) -> str:
                raise ValueError("cannot render")

        class Hanging:
            name = "hanging"
            extension = "txt"

            def render(self, retro: Any) -> str:
                time.sleep(60)
                return ""

        register(Raising())
        register(Hanging())


@pytest.mark.parametrize(("renderer", "message"), [("raising", "ValueError: cannot render"), ("hanging", "no answer")])
def test_a_failing_renderer_leaves_no_version_and_no_document(
    project: Path, database: Path, good: dict[str, bytes], monkeypatch: pytest.MonkeyPatch, renderer: str, message: str
) -> None:
    def manager(**kwargs: Any) -> Any:
        return get_plugin_manager(extra_plugins=[("bad-renderers", BadRenderers())], **kwargs)

    config = project / "retroflow.toml"
    config.write_text(config.read_text().replace('output = "out"', 'output = "out"\nplugin_timeout = 0.5'))
    result = invoke(
        "--config",
        str(config),
        "retro",
        "CHK-1042",
        "-f",
        "json",
        "-f",
        renderer,
        obj={"plugin_manager_factory": manager},
    )
    assert result.exit_code == 1, result.output
    error = result.stderr.splitlines()[-1]  # after the warning every failing plugin logs
    assert error.startswith(f"Error: renderer {renderer!r} of plugin 'bad-renderers' failed: ")
    assert message in error
    assert unchanged(project, database, good), "the JSON document was not written either"
