"""The plugin imports only retroflow's public API, and its entry point registers the source and its table."""

from __future__ import annotations

from pathlib import Path

from retroflow.testing import check_entry_point, check_public_imports


def test_the_plugin_imports_only_retroflow_s_public_api() -> None:
    check_public_imports(Path(__file__).parents[1] / "src" / "retroflow_honeycomb", test_kit=False)


def test_the_entry_point_registers_the_source_and_its_table() -> None:
    check_entry_point("honeycomb", reads=("incident",))
