"""The published OTLP JSON: the OTLP repository's examples and the file exporter's, as
the specification prints them (tests/fixtures/PROVENANCE.md)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import orjson
from retroflow_otel import plugin

from retroflow import EventKind, Incident, RetroRequest
from retroflow.testing import check_source_contract, make_config, make_plugins

EXAMPLES_AT = datetime(2018, 12, 13, 14, 51, tzinfo=UTC)  # the proto examples' records
FILE_EXPORTER_AT = datetime(2020, 2, 11, 20, 26, tzinfo=UTC)  # the specification's lines


def _copy(kit, tmp_path: Path, *names: str) -> None:
    for name in names:
        shutil.copy(kit.FIXTURES / name, tmp_path / name)


def _run(kit, tmp_path: Path, paths: str, created: datetime, severity: str = "WARN"):
    return kit.run(tmp_path, f'paths = [{paths}]\nseverity = "{severity}"', created=created, resolved=created)


def test_the_proto_logs_example_keeps_its_ids_hex_its_service_and_its_attributes(kit, tmp_path):
    _copy(kit, tmp_path, "proto-examples-logs.json")
    result = _run(kit, tmp_path, '"proto-examples-logs.json"', EXAMPLES_AT, severity="INFO")
    (event,) = result.events
    assert (event.kind, event.service, event.source) == (EventKind.SIGNAL, "my.service", "otel")
    assert event.at == datetime(2018, 12, 13, 14, 51, 0, 300000, tzinfo=UTC)
    assert event.summary == "INFO Example log record"
    # Hex, as written: protobuf's JSON parser would have read 24 bytes of base64 here.
    assert event.details["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert event.details["span_id"] == "eee19b7ec3c1b174"
    example = event.details["example"]
    assert example["attributes"] == {
        "string.attribute": "some string",
        "boolean.attribute": True,
        "int.attribute": 10,  # "10": a 64-bit integer as a decimal string
        "double.attribute": 637.704,
        "array.attribute": ["many", "values"],
        "map.attribute": {"some.map.key": "some value"},
    }
    assert (example["scope"], example["severity_text"]) == ("my.library", "Information")
    assert not result.gaps


def test_the_proto_logs_example_is_below_the_default_severity_and_the_gap_says_so(kit, tmp_path):
    _copy(kit, tmp_path, "proto-examples-logs.json")
    result = _run(kit, tmp_path, '"proto-examples-logs.json"', EXAMPLES_AT)
    assert result.events == ()
    (reason,) = kit.reasons(result)
    assert reason.startswith("no log record at or above WARN and no span with status ERROR in the incident's window")
    assert "1 log record(s) and 0 span(s) read from 1 file(s)" in reason


def test_the_proto_events_example_shows_its_map_body_and_event_name(kit, tmp_path):
    _copy(kit, tmp_path, "proto-examples-events.json")
    result = _run(kit, tmp_path, '"proto-examples-events.json"', EXAMPLES_AT, severity="INFO")
    (event,) = result.events
    assert event.summary == (
        "INFO type=0 url=https://www.guidgenerator.com/online-guid-generator.aspx "
        "referrer=https://wwww.google.com title=Free Online GUID Generator"
    )
    assert event.details["example"]["event_name"] == "browser.page_view"
    assert event.details["trace_id"] is None


def test_the_proto_trace_example_has_no_error_span_but_one_with_status_error_is_a_signal(kit, tmp_path):
    _copy(kit, tmp_path, "proto-examples-trace.json")
    assert _run(kit, tmp_path, '"proto-examples-trace.json"', EXAMPLES_AT).events == ()
    document = orjson.loads((kit.FIXTURES / "proto-examples-trace.json").read_bytes())
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["status"] = {"code": 2, "message": "connection reset"}
    (tmp_path / "proto-examples-trace.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    (event,) = _run(kit, tmp_path, '"proto-examples-trace.json"', EXAMPLES_AT).events
    assert event.summary == 'span "I\'m a server span" failed: connection reset'
    assert event.at == datetime(2018, 12, 13, 14, 51, 1, tzinfo=UTC)  # when it ended
    assert (event.service, event.details["signal"], event.details["severity"]) == ("my.service", "span", "ERROR")
    assert event.details["trace_id"] == "5b8efff798038103d269b633813fc60c"
    example = event.details["example"]
    assert (example["parent_span_id"], example["kind"], example["duration_ms"]) == ("eee19b7ec3c1b173", 2, 1000.0)
    assert example["attributes"] == {"my.span.attr": "some value"}


def test_the_file_exporter_traces_condense_into_one_event_per_span_name_and_minute(kit, tmp_path):
    _copy(kit, tmp_path, "spec-file-exporter-traces.jsonl")
    result = _run(kit, tmp_path, '"spec-file-exporter-traces.jsonl"', FILE_EXPORTER_AT)
    (event,) = result.events  # operationA fails four times in the same minute; operationB has no status
    assert event.summary == "span 'operationA' failed: status-cancelled (×4, 20:26:13–20:26:13)"
    assert event.details["count"] == 4
    assert event.service is None  # the resource has no service.name
    assert (event.details["trace_id"], event.details["span_id"]) == (None, None)  # empty ids
    assert not result.gaps


def test_the_file_exporter_logs_condense_per_message(kit, tmp_path):
    _copy(kit, tmp_path, "spec-file-exporter-logs.jsonl")
    result = _run(kit, tmp_path, '"spec-file-exporter-logs.jsonl"', FILE_EXPORTER_AT, severity="INFO")
    counts = {e.details["example"]["body"]: e.details["count"] for e in result.events}
    assert counts == {"This is a log message": 4, "something happened": 4}
    first = min(result.events, key=lambda e: e.details["example"]["body"])
    assert first.details["trace_id"] == "08040201000000000000000000000000"


def test_the_file_exporter_metrics_are_ignored_with_a_gap(kit, tmp_path):
    _copy(kit, tmp_path, "spec-file-exporter-metrics.jsonl")
    result = _run(kit, tmp_path, '"spec-file-exporter-metrics.jsonl"', FILE_EXPORTER_AT)
    assert result.events == ()
    assert "spec-file-exporter-metrics.jsonl: 4 line(s) of metrics ignored" in kit.reasons(result)[0]


def test_every_published_example_passes_the_source_contract(kit, tmp_path):
    for name in ("proto-examples-logs.json", "proto-examples-events.json", "spec-file-exporter-logs.jsonl"):
        _copy(kit, tmp_path, name)
    plugins = make_plugins(plugin, default_plugins=False)
    config = make_config(
        '[plugins.otel]\npaths = ["*.json", "*.jsonl"]\nseverity = "INFO"', plugins=plugins, base_dir=tmp_path
    )
    result = check_source_contract(plugin, RetroRequest("INC-1"), config, incident=Incident(id="INC-1"))
    assert len(result.events) == 4
