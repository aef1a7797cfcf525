"""The documents: the JSON schema, round trips, and a Markdown timeline that stays short."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources
from types import MappingProxyType
from typing import Any

import attrs
import jsonschema
import pytest

from retroflow.default_plugins.renderers.json import JsonRenderer
from retroflow.default_plugins.renderers.markdown import MAX_ROWS, condense, human_duration
from retroflow.model import Gap, Timeline
from retroflow.roles import document_bytes
from retroflow.serialize import dumps, from_document, json_default, to_document
from retroflow.testing import build, make_event


@pytest.fixture(scope="module")
def schema() -> Any:
    return json.loads(resources.files("retroflow").joinpath("schema/retro-2.schema.json").read_text())


def _sample() -> Any:
    return build(
        [
            make_event("deploy", -5, service="checkout", actor="alice", native_id="d1"),
            make_event("signal", 0, service="checkout", details={"n": 1}, native_id="s1"),
            make_event("alert", 9, service="checkout", link="https://mon/1", native_id="a1"),
            make_event("page", 10, actor="bob", native_id="p1"),
            make_event("ack", 25, actor="bob", native_id="k1"),
            make_event("resolution", 50, native_id="r1"),
        ]
    )


def test_json_document_matches_its_schema(schema: Any) -> None:
    document = json.loads(dumps(_sample()))
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["schema"] == "retroflow.retro/2"
    assert {"key", "layer", "evidence"} <= set(document["factors"][0])
    assert {"title", "score", "findings"} <= set(document["actions"][0])


def test_a_provisional_retro_is_a_valid_document(schema: Any) -> None:
    gap = Gap("pagerduty", "collect", "incomplete", "incident P1 is triggered, not resolved: provisional")
    document = json.loads(dumps(attrs.evolve(_sample(), gaps=(gap,))))
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["gaps"][0]["kind"] == "incomplete"


def _with_verdicts() -> Any:
    """The sample with one factor confirmed and one rejected, as human input leaves them."""
    retro = _sample()
    confirmed, rejected = retro.factors[0], retro.factors[1]

    def said(factor: Any, status: str) -> Any:
        human = {"status": status, "reason": "checked", "author": "bob"}
        return attrs.evolve(factor, details={**factor.details, "human": human})

    factors = (said(confirmed, "confirmed"), *retro.factors[2:])
    return attrs.evolve(retro, factors=factors, rejected_factors=(said(rejected, "rejected"),))


def test_rejected_factors_are_in_the_document_and_match_the_schema(schema: Any) -> None:
    retro = _with_verdicts()
    document = json.loads(dumps(retro))
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["rejected_factors"][0]["details"]["human"] == {
        "status": "rejected",
        "reason": "checked",
        "author": "bob",
    }
    assert from_document(document) == retro
    document["rejected_factors"][0]["details"]["human"]["status"] = "confirmed"
    with pytest.raises(jsonschema.ValidationError, match="'rejected' was expected"):
        jsonschema.Draft202012Validator(schema).validate(document)


def test_a_document_from_before_rejected_factors_still_reads(schema: Any) -> None:
    document = json.loads(dumps(_sample()))
    del document["rejected_factors"]
    jsonschema.Draft202012Validator(schema).validate(document)
    assert from_document(document).rejected_factors == ()


def test_schema_refuses_a_document_missing_a_field(schema: Any) -> None:
    document = json.loads(dumps(_sample()))
    del document["gaps"]
    with pytest.raises(jsonschema.ValidationError, match="'gaps' is a required property"):
        jsonschema.Draft202012Validator(schema).validate(document)


def test_json_round_trips_to_an_equal_retro() -> None:
    retro = _sample()
    assert from_document(json.loads(dumps(retro))) == retro
    assert json.loads(dumps(retro)) == json.loads(json.dumps(to_document(retro)))


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"actor": 'quote " and \\ backslash', "service": "s", "link": "l"},
        {"details": {"b": [1, {"z": None}], "a": "ü\u2028", "n": 1.5}},
        {"summary": "\x00 control and emoji 🔥"},
        {"details": {"big": 2**70, "nested": {"y": 1, "x": 2}}},  # beyond orjson's 64 bits
    ],
)
def test_the_document_text_is_what_the_json_module_writes(fields: dict[str, Any]) -> None:
    retro = build([make_event("alert", 3, **fields), make_event("page", 4, actor="bob")])
    expected = json.dumps(to_document(retro), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert dumps(retro) == expected


def test_odd_details_still_give_a_document() -> None:
    odd = {3: "int key", "when": date(2026, 11, 2), "tags": {"x"}, "frozen": MappingProxyType({"b": 1, "a": 2})}
    assert json_default(datetime(2026, 11, 2, 9, 30, tzinfo=UTC)) == "2026-11-02T09:30:00Z"
    timeline = json.loads(dumps(build([make_event("alert", 3, details=odd)])))["timeline"]
    assert timeline[0]["details"] == {"3": "int key", "when": "2026-11-02", "tags": "{'x'}", "frozen": {"a": 2, "b": 1}}


def test_the_document_writes_every_instant_in_utc() -> None:
    utc = make_event("alert", 3)
    elsewhere = attrs.evolve(utc, at=utc.at.astimezone(timezone(timedelta(hours=-5))), native_id="other")
    timeline = json.loads(dumps(build([utc, elsewhere])))["timeline"]
    assert [e["at"] for e in timeline] == ["2026-11-02T14:03:00Z", "2026-11-02T14:03:00Z"]


def test_thousands_of_log_lines_do_not_become_thousands_of_rows() -> None:
    events = [make_event("signal", i / 60, service=f"svc{i % 3}") for i in range(20_000)]  # one a second
    events += [make_event("page", 30, actor="bob"), make_event("ack", 95, actor="bob")]
    rows = condense(Timeline.from_events(events).events)
    assert len(rows) <= MAX_ROWS
    assert sum(sum(r.signals.values()) for r in rows) == 20_000, "every signal is still counted"
    assert sum(len(r.notable) for r in rows) == 2, "what people did is never dropped"


def test_a_repeating_log_line_is_quoted_once_and_a_new_one_where_it_starts() -> None:
    events = [make_event("signal", m, summary="pool exhausted", service="checkout") for m in range(10)]
    events += [make_event("page", m + 0.5, actor="bob") for m in range(10)]  # people on every row
    events += [make_event("signal", 6.2, summary="payments timeout", service="payments")]
    rows = condense(Timeline.from_events(events).events)
    assert [r.first_signal for r in rows] == ["pool exhausted", "", "", "", "", "", "payments timeout", "", "", ""]


def test_markdown_reads_like_a_retro() -> None:
    text = build(
        [make_event("deploy", -5, service="checkout"), make_event("signal", 0, service="checkout"),
         make_event("page", 10), make_event("ack", 25), make_event("resolution", 50)],
    ).timeline  # fmt: skip
    assert len(text) == 5
    markdown = _render_markdown(_sample())
    for heading in ("# Retrospective:", "## Summary", "## Timeline (UTC, 6 events)", "## Contributing conditions",
                    "## Actions (prioritised by impact-math)"):  # fmt: skip
        assert heading in markdown
    assert "| Time to acknowledge (page → ack) | 15 min |" in markdown


def test_markdown_names_the_actor_once_when_the_summary_already_does() -> None:
    ack = make_event("ack", 2, summary="Acknowledged by Laura Haley", actor="Laura Haley", native_id="k1")
    page = make_event("page", 1, summary="Notified Wiley Jacobson (via sms)", actor="bob", native_id="p1")
    markdown = _render_markdown(build([make_event("alert", 0, native_id="a1"), page, ack]))
    assert "**ack** Acknowledged by Laura Haley;" in markdown or "**ack** Acknowledged by Laura Haley |" in markdown
    assert "(Laura Haley)" not in markdown
    assert "**page** Notified Wiley Jacobson (via sms) (bob)" in markdown  # another name: still said
    bobby = make_event("page", 1, summary="Notified bobby", actor="bob", native_id="p1")
    assert "Notified bobby (bob)" in _render_markdown(build([make_event("alert", 0, native_id="a1"), bobby]))


def _render_markdown(retro: Any) -> str:
    from retroflow.default_plugins.renderers.markdown import render_markdown

    return render_markdown(retro)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (timedelta(seconds=42), "42 s"),
        (timedelta(minutes=7), "7 min"),
        (timedelta(hours=1, minutes=32), "1 h 32 min"),
    ],
)
def test_human_durations(value: timedelta | None, text: str) -> None:
    assert human_duration(value) == text


class _TextOnly:
    name = "text"
    extension = "txt"

    def render(self, retro: Any) -> str:
        return f"{retro.incident.id} — {len(retro.timeline)} events\n"


class _WrongBytes(_TextOnly):
    def render_bytes(self, retro: Any) -> str:
        return "not bytes"


def test_document_bytes_is_what_the_cli_writes() -> None:
    retro = _sample()
    assert document_bytes(JsonRenderer(), retro) == dumps(retro).encode()
    assert document_bytes(_TextOnly(), retro) == "INC-1 — 6 events\n".encode()
    with pytest.raises(TypeError, match="renderer 'text': render_bytes\\(\\) returned str, not bytes"):
        document_bytes(_WrongBytes(), retro)
