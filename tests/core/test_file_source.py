"""The file timeline source: the JSON Lines event format and incident metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from retroflow import EventKind, RetroRequest, SourceError
from retroflow.default_plugins.conditions.facts import handoff_of
from retroflow.default_plugins.sources import file as file_source
from retroflow.default_plugins.sources.file import read_events, read_incident
from retroflow.plugins import Plugins, get_plugin_manager
from retroflow.testing import T0, check_source_contract, make_config, make_plugins


def lines(*records: Any) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records)


def test_reads_every_field_and_normalises_time_and_kind(write: Any) -> None:
    path = write(
        "e.jsonl",
        lines(
            {"at": "2026-11-02T16:00:00+02:00", "kind": "deploy", "summary": "Deploy v2", "id": 7, "source": "github",
             "actor": "alice", "service": "checkout", "link": "https://x/7", "details": {"sha": "abc"}},
            {"at": "2026-11-02T14:05:00Z", "kind": "Alert", "summary": "p95 > 2 s"},
        ),
    )  # fmt: skip
    events, gap = read_events(path)
    assert gap is None
    deploy, alert = events
    assert (deploy.at, deploy.kind, deploy.id, deploy.actor, deploy.details) == (
        T0, EventKind.CHANGE, "github:7", "alice", {"sha": "abc"},
    )  # fmt: skip
    assert (alert.source, alert.kind) == ("file", EventKind.ALERT)


def test_the_word_belief_marks_a_message_as_a_belief(write: Any) -> None:
    """As the Slack source marks beliefs, so misleading-signal reads file lines too."""
    from retroflow import Event

    path = write(
        "e.jsonl",
        lines(
            {"at": "2026-11-02T14:05:00Z", "kind": "Belief", "summary": "I think it is the database"},
            {"at": "2026-11-02T14:06:00Z", "kind": "belief", "summary": "no", "details": {"belief": False}},
            {"at": "2026-11-02T14:07:00Z", "kind": "message", "summary": "on it"},
        ),
    )
    events, _ = read_events(path)
    assert [(e.kind, e.details.get("belief")) for e in events] == [
        (EventKind.MESSAGE, True), (EventKind.MESSAGE, False), (EventKind.MESSAGE, None),
    ]  # fmt: skip
    made = Event.create(at=T0, source="human", kind="belief", summary="looks like the cache")
    assert made.details == {"belief": True}


def test_bad_lines_are_skipped_and_counted_not_fatal(write: Any) -> None:
    good = {"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "paged"}
    path = write(
        "e.jsonl",
        lines(
            good,
            "{not json",
            {"at": "2026-11-02T14:00:00", "kind": "page", "summary": "naive time"},
            {"at": "2026-11-02T14:00:00Z", "kind": "comet", "summary": "unknown kind"},
            {"at": "2026-11-02T14:00:00Z", "summary": "no kind"},
            {"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "x", "colour": "red"},
            {"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "x", "source": "a:b"},
            "[1, 2]",
            "",
        ),
    )
    events, gap = read_events(path)
    assert [e.summary for e in events] == ["paged"]
    assert gap is not None and gap.count == 7 and gap.kind == "skipped"
    assert gap.reason.startswith("e.jsonl: 7 line(s) skipped (line 2, column 2: not JSON (")  # orjson's words


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"at": "9999-12-31T23:59:59Z", "kind": "resolve", "summary": "x"}', "is outside 1900-01-01 .. 2999-12-31"),
        ('{"at": "0001-01-01T00:00:00+01:00", "kind": "page", "summary": "x"}', "'at' 0001-01-01T00:00:00+01:00 is"),
        ('{"at": "9999-12-31T23:30:00-01:00", "kind": "page", "summary": "x"}', "is outside"),
        ('{"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "x", "details": ' + '{"a":' * 1000 + "1"
         + "}" * 1000 + "}", "'details' nest deeper than 253 levels"),
        ('{"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "x", "id": ' + '{"a":' * 1000 + "1"
         + "}" * 1000 + "}", "'id' is dict, not a string or a number"),
        ('{"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "a\\u0000b"}', "'summary' contains a NUL"),
        ('{"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "x", "details": {"k\\u0000": 1}}',
         "'details' contains a NUL"),
        ('{"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "x", "id": [1]}', "'id' is list"),
        ('{"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "x", "id": "' + "i" * 301 + '"}',
         "'id' is longer than 300 characters"),
        ('{"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "x", "actor": "' + "a" * 201 + '"}',
         "'actor' is longer than 200 characters"),
    ],
)  # fmt: skip
def test_one_bad_line_is_skipped_with_its_reason_and_never_drops_the_file(write: Any, line: str, reason: str) -> None:
    good = {"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "paged"}
    path = write("e.jsonl", lines(good, line, {**good, "summary": "again"}))
    events, gap = read_events(path)
    assert [e.summary for e in events] == ["paged", "again"]
    assert gap is not None and gap.count == 1 and reason in gap.reason, gap.reason


def test_a_literal_backslash_u0000_is_text_not_a_nul(write: Any) -> None:
    path = write("e.jsonl", '{"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "C:\\\\u0000 dir"}\n')
    events, gap = read_events(path)
    assert gap is None and events[0].summary == "C:\\u0000 dir"


def test_line_separators_inside_strings_and_crlf_do_not_split_events(write: Any) -> None:
    text = json.dumps({"at": "2026-11-02T14:00:00Z", "kind": "message", "summary": "a\u2028b\rc"}, ensure_ascii=False)
    path = write("e.jsonl", text + "\r\n" + text.replace("a\u2028", "z\u2028") + "\r\n")
    events, gap = read_events(path)
    assert gap is None and [e.summary for e in events] == ["a\u2028b\rc", "z\u2028b\rc"]


def test_a_bom_is_tolerated_and_a_line_that_is_not_utf8_or_strict_json_is_skipped(tmp_path: Path) -> None:
    good = json.dumps({"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "pagé"}, ensure_ascii=False)
    path = tmp_path / "e.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + good.encode()
        + b"\n" + good.replace("pag\u00e9", "x").encode().replace(b'"x"', b'"\xff"')
        + b'\n{"at": "2026-11-02T14:00:00Z", "kind": "page", "summary": "s", "details": {"n": NaN}}\n'
        + good.encode() + b"\n"
    )  # fmt: skip
    events, gap = read_events(path)
    assert [e.summary for e in events] == ["pagé", "pagé"]
    assert gap is not None and gap.count == 2
    assert "line 2, column 1: not JSON (str is not valid UTF-8" in gap.reason


def test_a_response_written_as_escalate_keeps_the_word_for_the_heuristics(write: Any) -> None:
    at = "2026-11-02T14:00:00Z"
    path = write(
        "e.jsonl",
        lines(
            {"at": at, "kind": "Escalate", "summary": "Paged the secondary", "id": "1"},
            {"at": at, "kind": "escalation", "summary": "Level 2", "id": "2"},
            {"at": at, "kind": "assign", "summary": "x", "id": "3", "details": {"action": "reassign"}},
            {"at": at, "kind": "response", "summary": "Status update", "id": "4"},
            {"at": at, "kind": "deploy", "summary": "Deploy", "id": "5"},
        ),
    )
    events, _ = read_events(path)
    assert [e.details.get("action") for e in events] == ["escalate", "escalation", "reassign", None, None]
    assert [handoff_of(e) for e in events] == ["escalate", "escalate", "reassign", None, None]


def test_events_without_id_get_a_stable_one_so_collecting_twice_never_duplicates(write: Any) -> None:
    record = {"at": "2026-11-02T14:00:00Z", "kind": "signal", "summary": "same line"}
    path = write("e.jsonl", lines(record, record))
    first, _ = read_events(path)
    second, _ = read_events(path)
    assert first[0].native_id == first[1].native_id == second[0].native_id


def test_incident_file_must_describe_the_incident_asked_for(write: Any) -> None:
    path = write("incident.json", json.dumps({"id": "A-1", "title": "t", "created": "2026-11-02T14:00:00Z"}))
    assert read_incident(path, "A-1").created == T0
    with pytest.raises(SourceError, match="describes incident 'A-1', not 'B-2'"):
        read_incident(path, "B-2")


def test_missing_files_are_source_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        read_events(tmp_path / "nope.jsonl")
    with pytest.raises(SourceError, match="not found"):
        read_incident(tmp_path / "nope.json", "X")


def test_not_configured_means_not_applicable() -> None:
    plugins = make_plugins(default_plugins=False)
    request = RetroRequest("X")
    assert file_source.retroflow_timeline_source(request, make_config(plugins=plugins)) is None


def test_the_file_source_meets_the_source_contract(example_config: Path) -> None:
    plugins = Plugins(get_plugin_manager())  # the example's config names its other sources' tables too
    config = make_config(example_config.read_text(), plugins=plugins, path=example_config)
    result = check_source_contract(file_source, RetroRequest("CHK-1042"), config)
    assert result.incident is not None and result.incident.services == ("checkout", "payments")
    assert len(result.events) > 100
