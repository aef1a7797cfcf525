"""The store's commands, end to end through the CLI, on both databases."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from retroflow import hookimpl
from retroflow.cli import cli
from retroflow.model import Category
from retroflow.plugins import get_plugin_manager
from retroflow.store import open_store
from retroflow.store.database import head_revision
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

    monkeypatch.setenv("RETROFLOW_DATABASE", db_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "retroflow.toml").write_text('[retroflow]\noutput = "out"\n')

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["-q", *args], catch_exceptions=False, obj={"plugin_manager_factory": manager})

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
    assert f"at revision {head_revision()}" in run("db", "upgrade").output
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


def test_a_persons_action_carries_its_verification_and_category(run: Callable[..., Result]) -> None:
    run("retro", "INC-1")
    machine = json.loads(run("show", "INC-1", "-f", "json").output)["actions"][0]
    added = run(
        "input", "action", "INC-1", "--title", "Page on checkout 5xx above 2%", "--owner", "carol",
        "--category", "detect faster", "--verify-metric", "time-to-detect", "--verify-service", "checkout",
        "--verify-target", "≤ 5 min",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    new_id = added.output.strip()
    edited = run("input", "action", "INC-1", machine["id"], "--verify-target", "≤ 3 min", "--category", "detect faster")
    assert edited.exit_code == 0, edited.output
    run("retro", "INC-1")
    actions = {a["id"]: a for a in json.loads(run("show", "INC-1", "-f", "json").output)["actions"]}
    assert actions[new_id]["verify"] == {"metric": "time-to-detect", "service": "checkout", "target": "≤ 5 min"}
    assert actions[new_id]["category"] == "detect faster"
    assert machine["verify"]["metric"] and machine["verify"]["target"] != "≤ 3 min"
    assert actions[machine["id"]]["verify"] == {**machine["verify"], "target": "≤ 3 min"}, "the metric is kept"
    assert actions[machine["id"]]["category"] == "detect faster"
    for action_id in (new_id, machine["id"]):
        assert "no-verification" not in {f["rule"] for f in actions[action_id]["findings"]}


def test_a_bad_category_or_a_target_without_a_metric_is_a_usage_error(run: Callable[..., Result]) -> None:
    bad = run("input", "action", "INC-1", "--title", "x", "--category", "faster")
    assert bad.exit_code == 2 and all(c.value in bad.output for c in Category), bad.output
    no_metric = run("input", "action", "INC-1", "--title", "x", "--verify-target", "≤ 5 min")
    assert no_metric.exit_code == 2 and "--verify-metric" in no_metric.output
    nothing = run("input", "action", "INC-1", "abc123")
    assert nothing.exit_code == 2 and "--category" in nothing.output and "--verify-metric" in nothing.output


def test_input_list_reads_as_text_not_python(run: Callable[..., Result], tmp_path: Path) -> None:
    run("retro", "INC-1")
    run("input", "factor", "INC-1", "late-alert", "--reject", "--reason", "the alert was on time", "--author", "bob")
    run(
        "input", "event", "INC-1", "--at", "2026-11-02T14:07:00Z", "--kind", "decision", "--summary", "Hold",
        "--why", "errors looked external", "--actor", "alice", "--id", "hold",
    )  # fmt: skip
    run("input", "action", "INC-1", "abc123", "--owner", "dan", "--due", "2026-12-01", "--verify-target", "≤ 5 min")
    run("input", "action", "INC-1", "--title", "Practise rollbacks", "--category", "automate a decision")
    (tmp_path / "retros").mkdir()
    (tmp_path / "retros" / "INC-1.retro.toml").write_text('[[factors]]\nkey = "late-alert"\nstatus = "confirmed"\n')
    listed = run("input", "list", "INC-1").output
    for python in ("FactorVerdict(", "AddedEvent(", "ActionEdit(", "NewAction(", "datetime.", "tzinfo", "<Effort"):
        assert python not in listed
    lines = listed.splitlines()
    assert lines[0].startswith("#1\t") and lines[0].endswith(
        "\tbob\tfactor late-alert: rejected — “the alert was on time”"
    )
    assert lines[1].endswith(
        "event human:hold at 2026-11-02 14:07Z, decision by alice: Hold (why: errors looked external)"
    )
    assert lines[2].endswith("edit action abc123: owner dan, due 2026-12-01, verify target “≤ 5 min”")
    assert "new action h" in lines[3] and lines[3].endswith(": “Practise rollbacks” (category automate a decision)")
    assert "INC-1.retro.toml: 1 entry" in lines[4] and lines[5] == "  factor late-alert: confirmed"


def test_input_factor_of_a_key_the_retro_lacks_names_the_keys_it_has(run: Callable[..., Result]) -> None:
    run("retro", "INC-1")
    keys = [f["key"] for f in json.loads(run("show", "INC-1", "-f", "json").output)["factors"]]
    result = run("input", "factor", "INC-1", "late-alrt", "--reject")
    assert result.exit_code == 2
    assert "'late-alrt'" in result.output and all(key in result.output for key in keys), result.output
    assert "no stored input" in run("input", "list", "INC-1").output, "nothing recorded"
    assert run("input", "factor", "INC-1", "late-alert", "--reject").exit_code == 0
    run("retro", "INC-1")  # late-alert is now rejected, and can still be confirmed again
    assert run("input", "factor", "INC-1", "late-alert", "--confirm").exit_code == 0
