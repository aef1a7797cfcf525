"""The plugin template in contrib/ is itself tested: its own tests run here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / "contrib" / "plugin-template"


def test_the_plugin_template_passes_its_own_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TEMPLATE / "src"))
    try:
        code = pytest.main(["-q", "-p", "no:cacheprovider", str(TEMPLATE / "tests")])
    finally:
        sys.modules.pop("retroflow_csv", None)
    assert code == 0
