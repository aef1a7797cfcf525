"""Tests of the template plugin, with retroflow's plugin test kit."""

from __future__ import annotations

from pathlib import Path

import retroflow_csv

from retroflow import EventKind, RetroRequest
from retroflow.testing import build, check_source_contract, make_config, make_plugins

CSV = """at,kind,summary,actor,service
2026-11-02T14:00:00Z,deploy,Deploy checkout v2,alice,checkout
2026-11-02T14:05:00+00:00,alert,Checkout 5xx > 5%,,checkout
not a time,alert,broken row,,
"""


def _config(tmp_path: Path) -> object:
    (tmp_path / "events.csv").write_text(CSV, encoding="utf-8")
    return make_config(
        '[plugins.csv]\npath = "events.csv"\n', plugins=make_plugins(retroflow_csv), path=tmp_path / "retroflow.toml"
    )


def test_meets_the_source_contract_and_counts_bad_rows(tmp_path: Path) -> None:
    result = check_source_contract(retroflow_csv, RetroRequest("INC-1"), _config(tmp_path))  # type: ignore[arg-type]
    assert [e.kind for e in result.events] == [EventKind.CHANGE, EventKind.ALERT]
    assert result.gaps[0].count == 1


def test_not_configured_means_not_applicable() -> None:
    assert retroflow_csv.retroflow_timeline_source(RetroRequest("INC-1"), make_config()) is None


def test_builds_a_retro_with_the_default_plugins(tmp_path: Path) -> None:
    (tmp_path / "events.csv").write_text(CSV, encoding="utf-8")
    retro = build(plugins=[retroflow_csv], config=f'[plugins.csv]\npath = "{tmp_path / "events.csv"}"\n')
    assert "change-before-incident" in {f.key for f in retro.factors}
