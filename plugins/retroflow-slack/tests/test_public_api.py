"""The plugin imports only retroflow's public API (``retroflow.testing.PUBLIC_MODULES``)."""

from __future__ import annotations

from pathlib import Path

from retroflow.testing import check_public_imports

SOURCE = Path(__file__).parents[1] / "src" / "retroflow_slack"


def test_the_plugin_imports_only_retroflow_s_public_api() -> None:
    check_public_imports(SOURCE, test_kit=False)


def test_the_entry_point_registers_the_plugin_under_its_table_name() -> None:
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="retroflow") if e.name == "slack"]
    plugin = entry.load()
    assert plugin.__name__ == "slack"
    assert hasattr(plugin, "retroflow_timeline_source")


def test_the_export_mode_does_not_import_the_slack_client() -> None:
    """Reading an export (and the benchmark's process) does not pay for slack_sdk."""
    import subprocess
    import sys

    code = "import retroflow_slack.plugin, retroflow_slack.export, sys; print('slack_sdk' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
