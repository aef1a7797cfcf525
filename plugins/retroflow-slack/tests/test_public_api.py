"""The plugin imports only retroflow's public API, and its entry point registers the source and its table."""

from __future__ import annotations

from pathlib import Path

from retroflow.testing import check_entry_point, check_import_stays_light, check_public_imports


def test_the_plugin_imports_only_retroflow_s_public_api() -> None:
    check_public_imports(Path(__file__).parents[1] / "src" / "retroflow_slack", test_kit=False)


def test_the_entry_point_registers_the_source_and_its_table() -> None:
    check_entry_point("slack")


def test_the_export_mode_does_not_import_the_slack_client() -> None:
    """Reading an export (and the benchmark's process) does not pay for slack_sdk."""
    check_import_stays_light(["retroflow_slack.plugin", "retroflow_slack.export"], "slack_sdk")
