"""The plugin imports only retroflow's public API (``retroflow.testing.PUBLIC_MODULES``)."""

from __future__ import annotations

from pathlib import Path

from retroflow.testing import check_entry_point, check_public_imports

SOURCE = Path(__file__).parents[1] / "src" / "retroflow_pagerduty"


def test_the_plugin_imports_only_retroflow_s_public_api():
    # The ``retroflow pagerduty`` commands take ``App`` and ``pass_app`` from the public
    # ``retroflow.app``, as the core's own commands do; nothing imports ``retroflow.cli``.
    check_public_imports(SOURCE, test_kit=False)


def test_the_entry_point_registers_the_source_and_its_table() -> None:
    check_entry_point("pagerduty")
