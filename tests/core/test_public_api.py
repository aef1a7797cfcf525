"""The public API boundary that plugins are held to."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from retroflow import SourceResult, hookimpl
from retroflow.testing import PUBLIC_MODULES, build, check_public_imports, make_event, make_plugins

ROOT = Path(__file__).resolve().parents[2]


def test_check_public_imports_finds_private_imports(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("from retroflow import Event, hookimpl\nfrom retroflow.testing import build\n")
    check_public_imports(tmp_path)
    (tmp_path / "bad.py").write_text("from retroflow.engine import build_retro\nfrom retroflow import _secret\n")
    with pytest.raises(AssertionError) as info:
        check_public_imports(tmp_path)
    assert "bad.py:1: imports private module retroflow.engine" in str(info.value)
    assert "bad.py:2: imports _secret" in str(info.value)


def test_check_public_imports_allows_the_public_modules_only(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text(
        "from retroflow.http import describe\nfrom retroflow.trackers import ticket_sections\n"
    )
    check_public_imports(tmp_path)
    check_public_imports(tmp_path, test_kit=False)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.py").write_text(
        "import retroflow\nimport retroflow.trackers\nfrom retroflow.trackers import _class_names\n"
    )
    with pytest.raises(AssertionError) as info:
        check_public_imports(tmp_path)
    text = str(info.value)
    assert "bad.py:1: imports retroflow" in text
    assert "bad.py:2: imports retroflow.trackers" in text
    assert "bad.py:3: imports _class_names, which retroflow.trackers does not export" in text


def test_a_plugin_package_may_not_import_the_test_kit(tmp_path: Path) -> None:
    (tmp_path / "plugin.py").write_text("from retroflow.testing import make_config\n")
    check_public_imports(tmp_path)
    with pytest.raises(AssertionError) as info:
        check_public_imports(tmp_path, test_kit=False)
    assert "plugin.py:1: imports private module retroflow.testing" in str(info.value)


def test_the_public_modules_are_the_ones_plugins_are_told_about() -> None:
    """docs/writing-plugins.md's "Import only from ..." sentence names the modules the
    public-API check accepts, no more and no fewer."""
    text = (ROOT / "docs" / "writing-plugins.md").read_text(encoding="utf-8")
    sentence = text[text.index("Import only from") :].split("private and may change")[0]
    told = set(re.findall(r"`(retroflow(?:\.[a-z_]+)*)`", sentence))
    assert told == set(PUBLIC_MODULES)


def test_the_plugin_template_uses_only_the_public_api() -> None:
    check_public_imports(ROOT / "contrib" / "plugin-template" / "src", test_kit=False)


def test_extra_plugins_can_be_registered_under_a_name() -> None:
    class Source:
        @hookimpl
        def retroflow_timeline_source(self) -> SourceResult:
            raise RuntimeError("down")

    retro = build([make_event("signal", 0)], plugins=[("pagerduty", Source())])
    assert any(g.plugin == "pagerduty" and g.stage == "collect" for g in retro.gaps)
    assert make_plugins(("named", Source())).pm.has_plugin("named")


def test_no_plugin_or_command_module_imports_the_cli() -> None:
    """Commands and plugins build on retroflow.app; retroflow.cli is the root group only."""
    import ast

    sources = [
        *(ROOT / "src" / "retroflow").rglob("*.py"),
        *(path for path in (ROOT / "plugins").glob("*/src/**/*.py")),
    ]
    importing = []
    for path in sources:
        if path.name == "cli.py" and path.parent.name == "retroflow":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) else []
            if isinstance(node, ast.ImportFrom) and node.module == "retroflow":
                names += [f"retroflow.{alias.name}" for alias in node.names]
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if "retroflow.cli" in names:
                importing.append(str(path.relative_to(ROOT)))
    assert importing == []
