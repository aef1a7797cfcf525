"""Outcome history in the store and ``retroflow outcomes`` end to end, on both databases:
the import, its merge with stored retros and the sources' past incidents, done actions
from tracker sync, and the section every retro now has."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from retroflow import hookimpl
from retroflow.cli import cli
from retroflow.config import Config
from retroflow.model import ActionItem, Incident, SourceResult, Verification
from retroflow.outcomes.history import load_history, parse_history, store_history
from retroflow.plugins import get_plugin_manager
from retroflow.store import Store
from retroflow.store import schema as t
from retroflow.store.fake import FakeTrackerSink
from retroflow.testing import T0, make_event, make_incident

SCHEMAS = Path(__file__).parents[2] / "src" / "retroflow" / "schema"
METRICS = ("incident-rate", "time-to-restore", "alerts-per-incident")


def incident_line(id: str, service: str, at: datetime, **extra: Any) -> str:
    record = {
        "type": "incident",
        "id": id,
        "service": service,
        "started_at": at.isoformat(),
        "resolved_at": (at + timedelta(minutes=40)).isoformat(),
        **extra,
    }
    return json.dumps(record)


def test_reimporting_the_same_file_changes_nothing_and_a_changed_record_is_updated(store: Store) -> None:
    lines = [incident_line(f"OPS-{n}", "checkout", T0 + timedelta(days=n), alerts=n) for n in range(5)]
    lines.append(
        json.dumps(
            {
                "type": "action",
                "id": "A-1",
                "incident": "OPS-1",
                "service": "checkout",
                "title": "Canary",
                "metric": "incident-rate",
                "done_at": (T0 + timedelta(days=2)).isoformat(),
            }
        )
    )
    first = store_history(store, parse_history(lines, metrics=METRICS), now=T0)
    assert (first.incidents, first.actions) == ((5, 0, 0), (1, 0, 0))
    again = store_history(store, parse_history(lines, metrics=METRICS), now=T0 + timedelta(days=1))
    assert (again.incidents, again.actions) == ((0, 0, 5), (0, 0, 1))
    with store.engine.connect() as conn:
        stamps = set(conn.execute(sa.select(t.history_incidents.c.imported_at)).scalars())
    assert stamps == {T0}  # nothing was rewritten
    lines[2] = incident_line("OPS-2", "checkout", T0 + timedelta(days=2), alerts=7)
    changed = store_history(store, parse_history(lines, metrics=METRICS), now=T0 + timedelta(days=2))
    assert changed.incidents == (0, 1, 4)
    history = load_history(store, Config.empty())
    assert [r.alerts for r in history.incidents] == [0, 1, 7, 3, 4]
    assert history.incidents[0].started == T0 and history.incidents[0].origin == "import"
    assert history.actions[0].done_at == T0 + timedelta(days=2)


def test_history_merges_a_stored_retro_its_sources_past_incidents_and_the_import(
    store: Store, build_sample: Callable[..., Any]
) -> None:
    past = Incident(
        id="PD-7",
        source="pagerduty",
        services=("checkout",),
        urgency="high",
        created=T0 - timedelta(days=20),
        resolved=T0 - timedelta(days=20) + timedelta(minutes=30),
        details={"alert_counts": {"all": 3, "triggered": 0, "resolved": 3}, "resolved_by": "checkout"},
    )
    retro = attrs.evolve(build_sample(), history=(past,))
    store.save_retro(retro, "INC-1")
    lines = [
        incident_line("INC-1", "checkout", T0, alerts=99, severity="SEV1"),
        incident_line("PD-7", "checkout", T0 - timedelta(days=20), pages=4),
        incident_line("OPS-1", "payments", T0 - timedelta(days=3)),
    ]
    store_history(store, parse_history(lines, metrics=METRICS))
    records = {r.id: r for r in load_history(store, Config.empty()).incidents}
    assert set(records) == {"INC-1", "PD-7", "OPS-1"}
    mine = records["INC-1"]
    # The stored retro first: its timeline's moments and counts ...
    assert (mine.origin, mine.started, mine.alerts, mine.pages) == ("retro", T0, 1, 1)
    assert mine.acknowledged == T0 + timedelta(minutes=9) and mine.auto_resolved is False
    assert mine.pages_out_of_hours == 0  # a Monday, 14:06 UTC, is within working hours
    # ... then the import for what the retro does not know.
    assert mine.severity == "SEV1"
    sourced = records["PD-7"]
    assert (sourced.origin, sourced.pages, sourced.alerts, sourced.auto_resolved) == ("import", 4, 3, True)


def test_history_besides_an_incident_leaves_its_own_retro_out_and_keeps_its_sources_history(
    store: Store, build_sample: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from retroflow.outcomes import history as module

    past = Incident(
        id="PD-7",
        source="pagerduty",
        services=("checkout",),
        created=T0 - timedelta(days=20),
        resolved=T0 - timedelta(days=20) + timedelta(minutes=30),
    )
    store.save_retro(attrs.evolve(build_sample(), history=(past,)), "INC-1")
    counted: list[list[int]] = []
    real_counts = module._timeline_counts
    monkeypatch.setattr(
        module,
        "_timeline_counts",
        lambda conn, ids, people: counted.append(list(ids)) or real_counts(conn, ids, people),
    )
    besides = load_history(store, Config.empty(), besides="INC-1")
    assert counted == [[]]  # its timeline (the largest one on a rebuild) is not counted
    assert [(r.id, r.origin) for r in besides.incidents] == [("PD-7", "pagerduty")]
    whole = load_history(store, Config.empty())
    assert {r.id for r in whole.incidents} == {"INC-1", "PD-7"} and len(counted[1]) == 1


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """``retroflow ARGS`` with a source for INC-1 (resolved at T0) and INC-2 (150 days
    later), an action measured by ``incident-rate`` on checkout, and a fake tracker."""
    sink = FakeTrackerSink()
    later = make_incident(id="INC-2", title="Checkout errors again", created=T0 + timedelta(days=150), resolved=None)

    class Source:
        @hookimpl
        def retroflow_timeline_source(self, request):  # type: ignore[no-untyped-def]
            incident = {"INC-1": make_incident(), "INC-2": later}.get(request.incident_ref)
            if incident is None:
                return None
            start = incident.created
            events = [
                make_event("alert", 0, at=start, service="checkout", native_id=f"{incident.id}-a"),
                make_event("resolve", 30, at=start + timedelta(minutes=30), native_id=f"{incident.id}-r"),
            ]
            return SourceResult(incident=incident, events=events)

        @hookimpl
        def retroflow_propose_actions(self, incident):  # type: ignore[no-untyped-def]
            verify = Verification(metric="incident-rate", service="checkout", target="-50% per quarter")
            return [ActionItem.create(incident_id=incident.id, title="Canary checkout deploys", key="c", verify=verify)]

        @hookimpl
        def retroflow_register_tracker_sinks(self, register):  # type: ignore[no-untyped-def]
            register(sink)

    def manager(**kwargs: Any) -> Any:
        return get_plugin_manager(load_entrypoints=False, extra_plugins=[Source()], **kwargs)

    monkeypatch.setenv("RETROFLOW_DATABASE", db_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "retroflow.toml").write_text('[retroflow]\noutput = "out"\n\n[plugins.outcomes]\nsettle_days = 5\n')

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["-q", *args], catch_exceptions=False, obj={"plugin_manager_factory": manager})

    invoke.sink = sink  # type: ignore[attr-defined]
    return invoke


def _history_file(tmp_path: Path) -> Path:
    """Checkout: one incident a day for 200 days before T0 + 10 days, then one every four
    days; payments: one every two days throughout."""
    done = T0 + timedelta(days=10)
    lines = []
    at = T0 - timedelta(days=190)
    while at < T0 + timedelta(days=200):
        lines.append(incident_line(f"CHK-{at:%Y%m%d}", "checkout", at, alerts=2))
        at += timedelta(days=1 if at < done else 4)
    at = T0 - timedelta(days=190, hours=5)
    while at < T0 + timedelta(days=200):
        lines.append(incident_line(f"PAY-{at:%Y%m%d}", "payments", at))
        at += timedelta(days=2)
    lines.append("this line is not JSON")
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_outcomes_end_to_end(run: Callable[..., Result], tmp_path: Path) -> None:
    assert run("retro", "INC-1").exit_code == 0
    assert run("export", "INC-1", "--sink", "fake").exit_code == 0
    sink: FakeTrackerSink = run.sink  # type: ignore[attr-defined]
    (ticket,) = [t for t in sink.tracker.tickets if t.title == "Canary checkout deploys"]
    sink.tracker.set_state(ticket.external_id, "done", at=T0 + timedelta(days=10))
    assert run("followup", "sync").exit_code == 0

    imported = run("history", "import", str(_history_file(tmp_path)))
    assert imported.exit_code == 1  # a line was skipped
    assert f"{tmp_path / 'history.jsonl'}: line " in imported.stderr and "not JSON" in imported.stderr
    assert "incidents " in imported.stdout and " new, 0 updated, 0 unchanged" in imported.stdout

    result = run("outcomes", "--json", "--window", "60", "--plot", "plots")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, json.loads((SCHEMAS / "outcomes-1.schema.json").read_text(encoding="utf-8")))
    (judged,) = document["actions"]
    assert (judged["incident"], judged["service"], judged["metric"], judged["origin"]) == (
        "INC-1",
        "checkout",
        "incident-rate",
        "tracker:fake",
    )
    assert judged["verdict"] == "improved"
    assert judged["after"]["from"] == "2026-11-17T14:00:00Z"  # done + settle_days = 5 from the config
    assert judged["control"]["services"] == 1 and judged["control"]["fleet_moved"] is False
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "checkout-alerts-per-incident.svg",
        "checkout-incidents.svg",
        "checkout-time-to-restore.svg",
        "payments-alerts-per-incident.svg",
        "payments-incidents.svg",
        "payments-time-to-restore.svg",
    ]
    text = run("outcomes", "--service", "checkout", "--period", "quarter").stdout
    assert "checkout\n  period" in text and "payments\n" not in text
    assert "improved      Canary checkout deploys" in text

    # A later incident's retro answers the standing question from the same history.
    assert run("retro", "INC-2").exit_code == 0
    document = json.loads((tmp_path / "out" / "INC-2.json").read_text(encoding="utf-8"))
    past = document["past_actions"]
    assert past["services"] == ["checkout"] and past["as_of"] == "2027-04-01T14:00:00Z"
    assert [(a["id"], a["verdict"]) for a in past["actions"]] == [(judged["id"], "improved")]
    jsonschema.validate(document, json.loads((SCHEMAS / "retro-2.schema.json").read_text(encoding="utf-8")))
    markdown = (tmp_path / "out" / "INC-2.md").read_text(encoding="utf-8")
    assert "## Which past retro actions measurably improved the system?" in markdown
    assert (
        "| **improved** | Canary checkout deploys (from INC-1) | incident-rate on checkout | 2026-11-12 |" in markdown
    )


def test_a_retro_without_the_store_says_past_actions_were_not_looked_up(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    assert run("retro", "INC-1", "--no-store").exit_code == 0
    markdown = (tmp_path / "out" / "INC-1.md").read_text(encoding="utf-8")
    assert "Not looked up: this retro was built without the store (`--no-store`)" in markdown
    assert json.loads((tmp_path / "out" / "INC-1.json").read_text(encoding="utf-8"))["past_actions"] is None


def test_a_retro_with_an_empty_store_says_there_is_no_history_yet(run: Callable[..., Result], tmp_path: Path) -> None:
    assert run("retro", "INC-1").exit_code == 0
    markdown = (tmp_path / "out" / "INC-1.md").read_text(encoding="utf-8")
    assert "No history of checkout yet: no past incidents or done actions are known." in markdown
    past = json.loads((tmp_path / "out" / "INC-1.json").read_text(encoding="utf-8"))["past_actions"]
    assert past == {
        "services": ["checkout"],
        "as_of": "2026-11-02T14:00:00Z",
        "incidents": 0,
        "actions": [],
        "unmeasured": [],
    }


def test_outcomes_on_an_empty_store(run: Callable[..., Result]) -> None:
    result = run("outcomes")
    assert result.exit_code == 0 and "No incident history yet" in result.stdout
    assert json.loads(run("outcomes", "--json").stdout)["actions"] == []


def test_outcomes_refuses_a_bad_date(run: Callable[..., Result]) -> None:
    result = run("outcomes", "--since", "last tuesday")
    assert result.exit_code == 2 and "expected YYYY-MM-DD" in result.output


def test_a_failing_lookup_is_a_gap_not_a_lost_retro(
    run: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retroflow.outcomes.report as report

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("history unreadable")

    assert run("retro", "INC-1").exit_code == 0  # the store exists: its history is read from now on
    monkeypatch.setattr(report, "load_history", broken)
    assert run("retro", "INC-1").exit_code == 0
    markdown = (tmp_path / "out" / "INC-1.md").read_text(encoding="utf-8")
    assert "Not looked up: the store's history could not be read (see Data gaps)" in markdown
    assert "**outcomes** (outcomes, error): RuntimeError: history unreadable" in markdown


def test_a_stored_retro_counts_night_pages_and_knows_when_nobody_responded(store: Store) -> None:
    from retroflow.testing import build

    night = T0 - timedelta(hours=12)  # Monday 02:00 UTC
    paged = build(
        [
            make_event("alert", at=night, service="checkout", native_id="a"),
            make_event("page", at=night + timedelta(minutes=1), actor="bob", native_id="p"),
            make_event("resolve", at=night + timedelta(minutes=20), actor="pagerduty", native_id="r"),
        ],
        incident=make_incident(id="NIGHT-1", created=night),
    )
    chat_only = build(
        [make_event("message", at=T0, actor="ana", native_id="m"), make_event("resolve", 20, native_id="z")],
        incident=make_incident(id="CHAT-1"),
    )
    store.save_retro(paged, "NIGHT-1")
    store.save_retro(chat_only, "CHAT-1")
    records = {r.id: r for r in load_history(store, Config.empty()).incidents}
    night_record = records["NIGHT-1"]
    assert (night_record.alerts, night_record.pages, night_record.pages_out_of_hours) == (1, 1, 1)
    assert night_record.auto_resolved is True  # resolved by the integration, nobody acknowledged or acted
    assert night_record.detected == night and night_record.resolved == night + timedelta(minutes=20)
    chat = records["CHAT-1"]
    assert (chat.alerts, chat.pages, chat.auto_resolved) == (None, None, None)  # no alerting on the timeline
