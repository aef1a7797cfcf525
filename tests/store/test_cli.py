"""The store's commands, end to end through the CLI, on both databases."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import retroflow.cli
from retroflow import hookimpl
from retroflow.cli import cli
from retroflow.plugins import get_plugin_manager
from retroflow.store import open_store
from retroflow.store.fake import FakeTrackerSink


@pytest.fixture
def sink() -> FakeTrackerSink:
    return FakeTrackerSink(max_batch=2)


@pytest.fixture
def run(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sink: FakeTrackerSink, sample_plugins: list[object]
) -> Callable[..., Result]:
    """Run ``retroflow ARGS`` in a project directory with a config, a fake tracker and the
    test heuristics; the database is ``db_url``."""

    class Sinks:
        @hookimpl
        def retroflow_register_tracker_sinks(self, register: Any) -> None:
            register(sink)

    extra = [*sample_plugins, Sinks()]

    def manager(**kwargs: Any) -> Any:
        return get_plugin_manager(load_entrypoints=False, extra_plugins=extra, **kwargs)

    monkeypatch.setattr(retroflow.cli, "get_plugin_manager", manager)
    monkeypatch.setenv("RETROFLOW_DATABASE", db_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "retroflow.toml").write_text('[retroflow]\noutput = "out"\n')

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["-q", *args], catch_exceptions=False)

    return invoke


def test_retro_stores_each_build_and_show_reads_it_back(run: Callable[..., Result], db_url: str) -> None:
    assert run("retro", "INC-1").exit_code == 0
    assert run("retro", "INC-1").exit_code == 0
    listing = run("retros", "--json")
    assert json.loads(listing.output)[0]["incident"] == "INC-1"
    assert json.loads(listing.output)[0]["versions"] == 2
    shown = run("show", "INC-1", "--version", "1", "-f", "json")
    assert json.loads(shown.output)["version"] == 1
    assert "Alert on checkout error rate" in run("show", "INC-1").output
    assert run("show", "INC-1", "--versions").output.startswith("v1\t")


def test_no_store_stores_nothing(run: Callable[..., Result], db_url: str) -> None:
    assert run("retro", "INC-1", "--no-store").exit_code == 0
    assert "no retros stored yet" in run("retros").output


def test_input_from_the_cli_and_the_file_is_applied_on_rebuild(run: Callable[..., Result], tmp_path: Path) -> None:
    run("retro", "INC-1")
    action = json.loads(run("show", "INC-1", "-f", "json").output)["actions"][0]["id"]
    assert run("input", "factor", "INC-1", "late-alert", "--confirm", "--reason", "seen").exit_code == 0
    out = run("input", "event", "INC-1", "--at", "2026-11-02T14:07:00Z", "--kind", "decision", "--summary", "Hold")
    assert out.output.startswith("human:")
    assert run("input", "action", "INC-1", action, "--owner", "dan", "--due", "2026-12-01").exit_code == 0
    new_id = run("input", "action", "INC-1", "--title", "Practise rollbacks").output.strip()
    (tmp_path / "retros").mkdir()
    (tmp_path / "retros" / "INC-1.retro.toml").write_text(
        f'[[actions]]\nid = "{action}"\neffort = "low"\n', encoding="utf-8"
    )
    run("retro", "INC-1")
    doc = json.loads(run("show", "INC-1", "-f", "json").output)
    edited = next(a for a in doc["actions"] if a["id"] == action)
    assert (edited["owner"], edited["due"], edited["effort"]) == ("dan", "2026-12-01", "low")
    assert any(a["id"] == new_id and a["title"] == "Practise rollbacks" for a in doc["actions"])
    assert next(f for f in doc["factors"] if f["key"] == "late-alert")["details"]["human"]["status"] == "confirmed"
    assert any(e["source"] == "human" for e in doc["timeline"])
    assert "file " in run("input", "list", "INC-1").output
    exported = run("input", "export", "INC-1", "-o", "-").output
    assert 'status = "confirmed"' in exported and 'effort = "low"' in exported


def test_export_dry_run_then_export_then_rerun(run: Callable[..., Result], sink: FakeTrackerSink) -> None:
    run("retro", "INC-1")
    dry = run("export", "INC-1", "--sink", "fake", "--dry-run")
    assert dry.exit_code == 0 and "would create" in dry.output and '"labels"' in dry.output
    assert sink.tracker.create_calls == []
    first = run("export", "INC-1", "--sink", "fake", "--json")
    assert first.exit_code == 0
    assert {i["outcome"] for i in json.loads(first.output)["items"]} == {"created"}
    again = run("export", "INC-1", "--sink", "fake")
    assert again.exit_code == 0 and "already exported" in again.output
    assert len(sink.tracker.tickets) == len(json.loads(first.output)["items"])


def test_export_that_cannot_finish_exits_1(run: Callable[..., Result], sink: FakeTrackerSink) -> None:
    from retroflow.errors import TrackerError

    run("retro", "INC-1")
    sink.tracker.fail_next = [(TrackerError("400 bad project"), False)]
    result = run("export", "INC-1", "--sink", "fake")
    assert result.exit_code == 1 and "400 bad project" in result.output


def test_export_racing_another_run_exits_1_until_every_action_has_its_ticket(
    run: Callable[..., Result], sink: FakeTrackerSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from retroflow.store import exports
    from retroflow.store import schema as t

    run("retro", "INC-1")
    read_rows = exports._Run._rows
    raced: list[bool] = []

    def racing_rows(export: Any, action_ids: Any) -> Any:
        rows = read_rows(export, action_ids)
        if not raced:  # right after this run's first read, another run claims every row
            raced.append(True)
            with export.store.begin() as conn:
                lease = datetime.now(UTC) + timedelta(hours=1)
                conn.execute(sa.update(t.exports).values(state="in_flight", claim_token="other", lease_until=lease))
        return rows

    monkeypatch.setattr(exports._Run, "_rows", racing_rows)
    held = run("export", "INC-1", "--sink", "fake", "--json")
    assert held.exit_code == 1, "a run that exported nothing is not a success"
    assert {i["outcome"] for i in json.loads(held.output)["items"]} == {"in flight elsewhere"}
    assert sink.tracker.create_calls == []


def test_unknown_sink_is_a_usage_error(run: Callable[..., Result]) -> None:
    run("retro", "INC-1")
    result = run("export", "INC-1", "--sink", "nope")
    assert result.exit_code == 2 and "no tracker sink named 'nope'" in result.output


def test_followup_sync_and_listing(run: Callable[..., Result], sink: FakeTrackerSink) -> None:
    run("retro", "INC-1")
    run("export", "INC-1", "--sink", "fake")
    first = sink.tracker.tickets[0]
    sink.tracker.set_state(first.external_id, "done")
    assert "changed state" in run("followup", "sync").output
    listed = json.loads(run("followup", "--json").output)
    assert first.external_id not in {f["external_id"] for f in listed}
    assert len(listed) == len(sink.tracker.tickets) - 1
    assert all(f["state"] == "open" for f in listed)


def test_db_upgrade_and_current(run: Callable[..., Result], db_url: str) -> None:
    assert "revision none" in run("db", "current").output
    assert "at revision 0001" in run("db", "upgrade").output
    assert "up to date" in run("db", "current").output
    open_store(db_url).close()


def test_errors_hide_the_database_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RETROFLOW_DATABASE", "postgresql://retro:hunter2secret@127.0.0.1:1/nodb")
    result = CliRunner().invoke(cli, ["-q", "retros"])
    assert result.exit_code == 1
    assert "hunter2secret" not in result.output and "***" in result.output


def test_no_store_still_applies_the_retro_as_code_file(run: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "retros").mkdir()
    (tmp_path / "retros" / "INC-1.retro.toml").write_text('[[factors]]\nkey = "late-alert"\nstatus = "rejected"\n')
    result = run("retro", "INC-1", "--no-store", "-f", "json", "--out", "-")
    assert result.exit_code == 0
    assert "late-alert" not in {f["key"] for f in json.loads(result.output)["factors"]}


def test_bad_input_is_a_usage_error(run: Callable[..., Result], tmp_path: Path) -> None:
    bad_time = run("input", "event", "INC-1", "--at", "14:00", "--kind", "decision", "--summary", "s")
    assert bad_time.exit_code == 2 and "e.g. 2026-11-02T14:05:00Z" in bad_time.output
    assert run("input", "action", "INC-1").exit_code == 2
    (tmp_path / "retros").mkdir()
    (tmp_path / "retros" / "INC-1.retro.toml").write_text("[[factors]]\nkey = 'x'\nstatus = 'maybe'\n")
    result = run("retro", "INC-1")
    assert result.exit_code == 2 and "INC-1.retro.toml: factors[0]" in result.output


def test_an_incident_typed_by_another_name_is_found_under_its_id(run: Callable[..., Result], tmp_path: Path) -> None:
    """``retroflow retro 1042`` of a PagerDuty incident stores it under PagerDuty's id."""
    assert run("input", "factor", "1042", "late-alert", "--reject", "--reason", "on time").exit_code == 0
    assert run("retro", "1042").exit_code == 0
    assert "late-alert" not in {f["key"] for f in json.loads(run("show", "1042", "-f", "json").output)["factors"]}
    shown = run("show", "INC-1", "-f", "json")
    assert json.loads(shown.output)["incident"]["id"] == "INC-1", "stored under the id"
    hold = run("input", "event", "1042", "--at", "2026-11-02T14:07:00Z", "--kind", "decision", "--summary", "Hold")
    assert hold.exit_code == 0
    listed = run("input", "list", "INC-1").output
    assert "late-alert" in listed and "Hold" in listed, "input typed as 1042, before and after, is INC-1's"
    run("retro", "1042")
    document = json.loads(run("show", "INC-1", "-f", "json").output)
    assert document["version"] == 2 and "Hold" in {e["summary"] for e in document["timeline"]}
