"""The outcome report (periods, tables, JSON against its schema, text) and the SVG charts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from retroflow.default_plugins.outcomes.metrics import METRICS
from retroflow.model import DoneAction, IncidentRecord
from retroflow.outcomes.history import History
from retroflow.outcomes.plots import Mark, Point, Series, service_charts, time_chart
from retroflow.outcomes.report import build_report, periods, render_text, to_json
from retroflow.outcomes.settings import OutcomeSettings

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "src" / "retroflow" / "schema" / "outcomes-1.schema.json").read_text(encoding="utf-8")
)
BY_NAME = {m.name: m for m in METRICS}
START = datetime(2025, 1, 1, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def history() -> History:
    incidents = []
    for service, every in (("checkout", 2), ("payments", 5)):
        at = START + timedelta(hours=3)
        number = 0
        while at < START + timedelta(days=300):
            incidents.append(
                IncidentRecord(
                    id=f"{service}-{number}",
                    services=(service,),
                    started=at,
                    detected=at + timedelta(minutes=3),
                    resolved=at + timedelta(minutes=30 + number % 50),
                    alerts=1 + number % 4,
                )
            )
            number += 1
            at += timedelta(days=every if at < START + timedelta(days=150) or service != "checkout" else every * 3)
    done = START + timedelta(days=150)
    actions = (
        DoneAction("a1", "checkout-40", "Canary checkout", "incident-rate", "checkout", done, "import"),
        DoneAction("a2", "payments-3", "Tune payments alert", "alerts-per-incident", "payments", done, "import"),
        DoneAction("a3", "payments-4", "Write a runbook", "runbook coverage", "payments", done, "import"),
    )
    return History(incidents=tuple(incidents), actions=actions)


def test_periods_are_calendar_months_or_quarters_cut_to_the_range() -> None:
    start, end = datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 4, 2, tzinfo=UTC)
    months = list(periods(start, end, "month"))
    assert [label for label, _, _ in months] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert months[0][1] == start and months[-1][2] == end and months[1][1] == datetime(2025, 2, 1, tzinfo=UTC)
    assert [label for label, _, _ in periods(start, end, "quarter")] == ["2025-Q1", "2025-Q2"]
    with pytest.raises(ValueError, match="month or quarter"):
        list(periods(start, end, "week"))


def test_the_report_has_every_metric_per_service_and_period_and_judges_each_done_action() -> None:
    report = build_report(history(), BY_NAME, OutcomeSettings(), period="month")
    assert {row.service for row in report.rows} == {"checkout", "payments"}
    january = next(r for r in report.rows if r.service == "checkout" and r.period == "2025-01")
    assert set(january.windows) == set(BY_NAME)
    assert january.windows["incident-rate"].count == 16  # every second day from Jan 1 03:00
    assert january.windows["time-to-detect"].value == 180.0
    assert [o.action.id for o in report.outcomes] == ["a1", "a2"]
    assert [a.id for a in report.unmeasured] == ["a3"]
    assert report.outcomes[0].verdict == "improved"


def test_since_until_and_service_narrow_the_report() -> None:
    until = START + timedelta(days=100)
    report = build_report(
        history(), BY_NAME, OutcomeSettings(), services=["payments"], since=START + timedelta(days=31), until=until
    )
    assert {row.service for row in report.rows} == {"payments"}
    assert report.rows[0].period == "2025-02" and report.rows[-1].end <= until
    assert report.outcomes == () and report.unmeasured == ()  # done after --until
    assert report.as_of == until


def test_the_json_report_follows_its_schema() -> None:
    document = to_json(build_report(history(), BY_NAME, OutcomeSettings(), period="quarter"))
    jsonschema.validate(document, SCHEMA)
    assert document["schema"] == "retroflow.outcomes/1"
    first = document["actions"][0]
    assert set(first) >= {
        "id",
        "incident",
        "service",
        "metric",
        "verdict",
        "before",
        "after",
        "effect",
        "ci",
        "p",
        "q",
        "control",
    }
    assert set(first["before"]) >= {"n", "from", "to", "value"}
    assert document["unmeasured"][0]["metric"] == "runbook coverage"
    # ``retroflow outcomes --json`` writes an action's keys in this order (orjson keeps it).
    done = ["id", "incident", "title", "service", "metric", "done_at", "origin"]
    assert list(document["unmeasured"][0]) == done
    measured = ["verdict", "before", "after", "effect", "ci", "p", "q", "method", "needed", "reason", "control"]
    assert list(first) == done + measured
    entry = document["metrics"][0]
    assert {"service", "period", "metric", "from", "to", "n", "value"} <= set(entry)


def test_the_text_report_shows_the_tables_then_the_actions() -> None:
    text = render_text(build_report(history(), BY_NAME, OutcomeSettings()))
    assert "checkout\n  period" in text and "2025-01" in text
    assert "improved      Canary checkout [a1] — incident-rate on checkout, from checkout-40, done 2025-05-31" in text
    assert "unmeasured    Write a runbook [a3] — 'runbook coverage' is not an outcome metric" in text
    assert "control: the other 1 services" in text


def test_an_empty_history_says_so() -> None:
    text = render_text(build_report(History((), ()), BY_NAME, OutcomeSettings()))
    assert "No incident history yet" in text


def _titled(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.find(f"{SVG}title") is not None
    for mark in (*root.iter(f"{SVG}rect"), *root.iter(f"{SVG}circle")):
        if mark.get("fill-opacity") or mark.tag == f"{SVG}circle":  # data marks, not the background
            assert mark.find(f"{SVG}title") is not None, ET.tostring(mark)
    return root


def test_charts_are_self_contained_svg_with_a_title_on_every_mark() -> None:
    report = build_report(history(), BY_NAME, OutcomeSettings())
    rows = [r for r in report.rows if r.service == "checkout"]
    charts = service_charts("checkout", rows, report.outcomes, report.unmeasured)
    assert set(charts) == {"time-to-restore", "incidents", "alerts-per-incident"}
    for svg in charts.values():
        root = _titled(svg)
        assert "<script" not in svg and "<style" not in svg and " id=" not in svg
        marks = [
            g for g in root.iter(f"{SVG}g") if (g.findtext(f"{SVG}title") or "").endswith("(incident-rate: improved)")
        ]
        assert len(marks) == 1 and marks[0].findtext(f"{SVG}title") == (
            "2025-05-31 done: Canary checkout (incident-rate: improved)"
        )
    bars = list(ET.fromstring(charts["incidents"]).iter(f"{SVG}rect"))[1:]
    assert bars[0].findtext(f"{SVG}title") == "2025-01: 16 incidents"
    assert "median" in charts["time-to-restore"] and "p90" in charts["time-to-restore"]


def test_a_chart_escapes_text_and_shows_gaps_and_no_data() -> None:
    a, b, c = START, START + timedelta(days=31), START + timedelta(days=59)
    svg = time_chart(
        "x < y & z",
        [Series("s", [Point(a, b, 1.0, "one <1>"), Point(b, c, None, "none")])],
        marks=[Mark(b, "done: <b>")],
    )
    root = _titled(svg)
    assert root.findtext(f"{SVG}title") == "x < y & z"
    assert len(list(root.iter(f"{SVG}circle"))) == 1  # the month without data has no point
    empty = time_chart("nothing", [Series("s", [])])
    assert "no data" in empty and ET.fromstring(empty).findtext(f"{SVG}title") == "nothing"


RETRO_SCHEMA = json.loads(
    (Path(__file__).parents[2] / "src" / "retroflow" / "schema" / "retro-2.schema.json").read_text(encoding="utf-8")
)


def test_the_retro_schema_copies_the_outcome_definitions_unchanged() -> None:
    def renamed(definition: object) -> object:
        text = json.dumps(definition).replace('"#/$defs/window"', '"#/$defs/outcome_window"')
        return json.loads(text.replace('"#/$defs/timestamp"', '"#/$defs/outcome_timestamp"'))

    defs = RETRO_SCHEMA["$defs"]
    for copy, original in (
        ("outcome_timestamp", "timestamp"),
        ("outcome_window", "window"),
        ("done_action", "done_action"),
        ("outcome", "action"),
    ):
        assert defs[copy] == renamed(SCHEMA["$defs"][original]), copy


def _retro_with_past_actions():  # type: ignore[no-untyped-def]
    import attrs

    from retroflow.model import PastActions
    from retroflow.testing import build, make_event

    report = build_report(history(), BY_NAME, OutcomeSettings())
    past = PastActions(
        services=("checkout", "payments"),
        as_of=START + timedelta(days=290),
        incidents=240,
        outcomes=report.outcomes,
        unmeasured=report.unmeasured,
    )
    return attrs.evolve(build([make_event("alert", 0, service="checkout")]), past_actions=past)


def test_past_actions_round_trip_through_the_retro_document_and_follow_its_schema() -> None:
    from retroflow.serialize import dumps, from_document, to_document

    retro = _retro_with_past_actions()
    document = json.loads(dumps(retro))
    jsonschema.validate(document, RETRO_SCHEMA)
    assert document["past_actions"]["actions"][0]["verdict"] == "improved"
    assert from_document(to_document(retro)) == retro


def test_the_markdown_section_lists_each_done_action_with_its_verdict_and_why() -> None:
    from retroflow.default_plugins.renderers.markdown import render_markdown

    text = render_markdown(_retro_with_past_actions())
    section = text[text.index("## Which past retro actions measurably improved the system?") :]
    assert (
        "Done actions on checkout, payments, judged on the history known when this incident began (2025-10-18 00:00 UTC) (240 past incidents)"
        in section
    )
    assert (
        "| **improved** | Canary checkout (from checkout-40) | incident-rate on checkout | 2025-05-31 | ×0." in section
    )
    assert (
        "| not measured | Write a runbook (from payments-4) | runbook coverage: not an outcome metric | 2025-05-31 | — | — | — |"
        in section
    )
    assert "- Canary checkout: incidents: " in section


def test_the_markdown_section_of_an_incident_without_a_service() -> None:
    import attrs

    from retroflow.default_plugins.renderers.markdown import render_markdown
    from retroflow.model import PastActions

    retro = attrs.evolve(_retro_with_past_actions(), past_actions=PastActions(services=(), as_of=None, incidents=0))
    assert "This incident names no service, so no past action can be matched to it." in render_markdown(retro)


def test_chart_file_names_are_safe_and_never_shared() -> None:
    from retroflow.commands.outcomes import _file_name

    assert _file_name("checkout") == "checkout"
    assert _file_name("team/checkout").startswith("team-checkout-")
    assert _file_name("team/checkout") != _file_name("team-checkout") == "team-checkout"
    assert _file_name("../..").startswith("service-")


def test_gridlines_fall_on_round_numbers_and_durations() -> None:
    from retroflow.outcomes.plots import duration_step, number_step

    assert [number_step(v) for v in (0, 3, 13, 20, 99)] == [0.25, 1.0, 5.0, 5.0, 25.0]
    assert [duration_step(s) for s in (200, 3000, 14 * 3600, 10 * 86400)] == [60.0, 900.0, 4 * 3600.0, 3 * 86400.0]
