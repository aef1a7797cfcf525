"""The plugin imports only retroflow's public API, and its entry point registers the source."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from retroflow.testing import check_public_imports, make_plugins

SOURCE = Path(__file__).parents[1] / "src" / "retroflow_git"


def test_the_plugin_imports_only_retroflow_s_public_api() -> None:
    check_public_imports(SOURCE, test_kit=False)


def test_the_entry_point_registers_the_git_source_and_table() -> None:
    (entry,) = [e for e in entry_points(group="retroflow") if e.name == "git"]
    plugin = entry.load()
    assert plugin.__name__ == "git"
    plugins = make_plugins(plugin, default_plugins=False)
    assert "git" in plugins.settings.names()
    (impl,) = plugins.implementations("retroflow_timeline_source")
    assert {"incident", "timeline"} <= set(impl.argnames), "it reads around the incident: a second-round source"


def test_reading_history_does_not_import_retroflow() -> None:
    code = "import sys, retroflow_git.history; print('retroflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
