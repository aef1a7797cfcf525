"""The plugin imports only retroflow's public API, and its entry point registers the sink, the deploy-history source and their tables."""

from __future__ import annotations

from pathlib import Path

from retroflow.testing import check_entry_point, check_import_stays_light, check_public_imports


def test_the_plugin_imports_only_retroflow_s_public_api() -> None:
    check_public_imports(Path(__file__).parents[1] / "src" / "retroflow_github", test_kit=False)


def test_the_entry_point_registers_the_sink_and_its_table() -> None:
    check_entry_point("github", sink=True)


def test_the_second_entry_point_registers_the_deploy_history_source_and_its_table() -> None:
    check_entry_point("github-deploys", reads=("incident", "timeline"))


def test_loading_the_plugins_does_not_import_requests() -> None:
    check_import_stays_light(["retroflow_github", "retroflow_github.deploys"], "requests")
