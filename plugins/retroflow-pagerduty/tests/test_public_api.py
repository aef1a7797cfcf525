"""The plugin imports only retroflow's public API (``retroflow.testing.PUBLIC_MODULES``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from retroflow.testing import check_entry_point, check_public_imports

SOURCE = Path(__file__).parents[1] / "src" / "retroflow_pagerduty"
#: The one exception: the command line has no public API for plugin commands yet, so the
#: ``retroflow pagerduty`` commands take ``App`` and ``handle_errors`` from ``retroflow.cli``,
#: as the core's own store commands do. Nothing else of it, and nowhere else.
CLI_EXCEPTION = re.compile(r"/commands\.py:\d+: imports private module retroflow\.cli$")


def test_the_plugin_imports_only_retroflow_s_public_api():
    try:
        check_public_imports(SOURCE, test_kit=False)
        problems: list[str] = []
    except AssertionError as exc:
        problems = str(exc).splitlines()[1:]
    assert [p for p in problems if not CLI_EXCEPTION.search(p.strip())] == []
    commands = ast.parse((SOURCE / "commands.py").read_text(encoding="utf-8"))
    from_cli = [
        alias.name
        for node in ast.walk(commands)
        if isinstance(node, ast.ImportFrom) and node.module == "retroflow.cli"
        for alias in node.names
    ]
    assert sorted(from_cli) == ["App", "handle_errors"]


def test_the_entry_point_registers_the_source_and_its_table() -> None:
    check_entry_point("pagerduty")
