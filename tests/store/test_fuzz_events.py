"""Fuzzed event files: one bad line is skipped with its reason, and whatever is read can be
checked, stored (on SQLite and on PostgreSQL), read back and rendered.

Each example is a file of three lines: a good one, a mutation of a good one, another good
one. Mutations set a field to any JSON value, a time from year 1 to 9999 with any offset,
text with NUL characters, values nested up to 1,100 levels, drop a field, add one, or change
a byte. The profile is fixed (derandomised, no example database), so CI runs the same
examples every time, in a few seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retroflow.default_plugins.sources.file import read_events
from retroflow.model import Event, Incident, Retro, Timeline
from retroflow.roles import document_bytes
from retroflow.store import Store
from retroflow.testing import make_plugins
from retroflow.validation import event_problem

FIELDS = ("at", "kind", "summary", "id", "source", "actor", "service", "link", "details")
GOOD = {
    "at": "2026-11-02T14:00:00+01:00",
    "kind": "escalate",
    "summary": "Escalated to the payments team",
    "id": "pd-1",
    "source": "pagerduty",
    "actor": "alice",
    "service": "checkout",
    "link": "https://example.pagerduty.com/incidents/Q1",
    "details": {"runbook": "https://wiki.example.com/rb", "attempt": 2},
}
DEEP = "\x1edeep\x1e"  # stands for a deeply nested value, spliced into the JSON text

PROFILE = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

texts = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "\x00", "a\x00b", "a:b", "x" * 301, "\u2028", "ﬁ", "💥", "\\u0000", "\ud800"]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
offsets = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12, minutes=30))])
times = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59), timezones=offsets).map(
    datetime.isoformat
) | st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z", "1900-01-01T00:00:00Z", "2026-11-02"])
deep = st.tuples(st.integers(1, 1100), st.sampled_from(["{", "["]))
mutation = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(FIELDS), json_values | texts | times),
    st.tuples(st.just("deep"), st.sampled_from(FIELDS), deep),
    st.tuples(st.just("drop"), st.sampled_from(FIELDS), st.none()),
    st.tuples(st.just("add"), texts, json_values),
    st.tuples(st.just("byte"), st.integers(0, 400), st.integers(0, 255).filter(lambda b: b != 0x0A)),
)


def mutated_line(mutations: list[tuple[str, Any, Any]]) -> bytes:
    record: dict[str, Any] = dict(GOOD)
    nested: tuple[int, str] | None = None
    changes = []
    for op, where, value in mutations:
        if op == "set":
            record[where] = value
        elif op == "deep":
            record[where], nested = DEEP, value
        elif op == "drop":
            record.pop(where, None)
        elif op == "add":
            record[where] = value
        else:
            changes.append((where, value))
    text = json.dumps(record, ensure_ascii=False)
    if nested is not None:
        depth, bracket = nested
        inner = '{"a":' * depth + "1" + "}" * depth if bracket == "{" else "[" * depth + "1" + "]" * depth
        text = text.replace(json.dumps(DEEP), inner)
    line = bytearray(text.encode("utf-8", "surrogatepass"))
    for position, byte in changes:
        line[position % (len(line) + 1) : position % (len(line) + 1)] = bytes([byte])
    return bytes(line)


def good_line(n: int) -> bytes:
    return json.dumps({**GOOD, "id": f"good-{n}", "source": "fuzz"}).encode()


def read_three(tmp_path: Path, middle: bytes) -> tuple[list[Event], Any]:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join([good_line(1), middle, good_line(2)]) + b"\n")
    events, gap = read_events(path)
    assert events[0].native_id == "good-1" and events[0].source == "fuzz", "the line before is kept"
    assert events[-1].native_id == "good-2" and events[-1].source == "fuzz", "the line after is kept"
    if len(events) == 2:
        assert gap is not None and gap.count == 1 and ": 1 line(s) skipped (line 2" in gap.reason, gap
    else:
        assert len(events) == 3 and gap is None
    return events, gap


def retro_of(events: list[Event]) -> Retro:
    # The engine takes the file source's word for its events (vouch): hold it to it.
    assert [event_problem(e) for e in events] == [None] * len(events), "nothing the engine would drop"
    incident = Incident(id="FUZZ-1")
    return Retro(incident=incident, timeline=Timeline.from_events(events, incident))


RENDERERS = make_plugins().renderers


def render_all(retro: Retro) -> None:
    for name in ("markdown", "json"):
        assert document_bytes(RENDERERS.get(name), retro)


@settings(PROFILE, max_examples=400)
@given(mutations=st.lists(mutation, min_size=1, max_size=3))
def test_a_fuzzed_line_is_read_or_skipped_and_what_is_read_renders(
    tmp_path: Path, mutations: list[tuple[str, Any, Any]]
) -> None:
    events, _gap = read_three(tmp_path, mutated_line(mutations))
    render_all(retro_of(events))


@pytest.fixture
def saved(store: Store) -> Callable[[Retro], None]:
    def save(retro: Retro) -> None:
        version = store.save_retro(retro, "FUZZ-1")
        loaded = store.retro("FUZZ-1", version)
        assert [(e.id, e.at, e.summary, e.actor) for e in loaded.timeline.events] == [
            (e.id, e.at, e.summary, e.actor) for e in retro.timeline.events
        ]
        render_all(loaded)

    return save


@settings(PROFILE, max_examples=60)
@given(mutations=st.lists(mutation, min_size=1, max_size=2))
def test_a_fuzzed_line_that_is_read_is_stored_and_read_back(
    tmp_path: Path, saved: Callable[[Retro], None], mutations: list[tuple[str, Any, Any]]
) -> None:
    events, _gap = read_three(tmp_path, mutated_line(mutations))
    saved(retro_of(events))
