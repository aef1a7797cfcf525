"""What the source keeps, how it condenses floods, and the ids it gives them."""

from __future__ import annotations

import random
from datetime import timedelta

import orjson
import pytest

from retroflow import EventKind, stable_id


def test_records_at_or_above_the_severity_become_signals(kit, tmp_path):
    kit.write_lines(
        tmp_path / "logs.jsonl",
        [kit.logs([kit.record(1, "cache warm", 9), kit.record(2, "pool low", 13), kit.record(3, "pool gone", 17)])],
    )
    assert [e.summary for e in kit.run(tmp_path).events] == ["WARN pool low", "ERROR pool gone"]
    assert [e.summary for e in kit.run(tmp_path, 'paths = ["*.jsonl"]\nseverity = "error"').events] == [
        "ERROR pool gone"
    ]
    infos = kit.run(tmp_path, 'paths = ["*.jsonl"]\nseverity = "INFO"').events
    assert all(e.kind is EventKind.SIGNAL and e.service == "checkout" for e in infos) and len(infos) == 3


def test_without_a_severity_number_the_severity_text_counts(kit, tmp_path):
    records = [
        kit.record(1, "text only", 0, severityText="Warning"),
        kit.record(2, "no number at all", None, severityText="ERROR"),
        kit.record(3, "neither"),
    ]
    del records[1]["severityNumber"], records[2]["severityNumber"]
    records[0]["severityNumber"] = 0  # unset, as proto3 writes it
    kit.write_lines(tmp_path / "logs.jsonl", [kit.logs(records)])
    assert [e.summary for e in kit.run(tmp_path).events] == ["WARN text only", "ERROR no number at all"]


def test_64_bit_integers_as_numbers_unknown_fields_and_the_observed_time_are_read(kit, tmp_path):
    document = kit.logs(
        [
            {**kit.record(1, "time as a number"), "timeUnixNano": int(kit.nanos(kit.at(1))), "futureField": {"x": 1}},
            {**kit.record(2, "observed only", timeUnixNano="0"), "observedTimeUnixNano": kit.nanos(kit.at(2))},
        ]
    )
    document["resourceLogs"][0]["newResourceField"] = [1, 2]
    document["someEnvelopeField"] = "ignored"
    kit.write_lines(tmp_path / "logs.jsonl", [document])
    events = kit.run(tmp_path).events
    assert [(e.at, e.summary) for e in events] == [
        (kit.at(1), "ERROR time as a number"),
        (kit.at(2), "ERROR observed only"),
    ]


def test_a_flood_becomes_one_event_per_service_signature_and_minute(kit, tmp_path):
    rng = random.Random(7)
    flood = [
        kit.record(
            10 + n / 1000,  # 1,000 records over 60 s
            f"Timeout after {rng.randrange(100, 30000)} ms for order {rng.randrange(10**9)} "
            f"(req {rng.getrandbits(32):08x})",
        )
        for n in range(1000)
    ]
    other = [kit.record(10.5, "Payment declined: card expired")]
    next_minute = [kit.record(11.2, "Timeout after 5 ms for order 1 (req d4dd1fc6)")]
    kit.write_lines(
        tmp_path / "logs.jsonl",
        [kit.logs(flood[:500]), kit.logs(flood[500:] + other + next_minute), kit.logs(flood[:3], service="payments")],
    )
    events = kit.run(tmp_path).events
    summary = {(e.service, e.details["signature"], e.at.minute): e.details["count"] for e in events}
    signature = "Timeout after <*> ms for order <*> (req <*>)"
    assert summary == {
        ("checkout", signature, 10): 1000,
        ("checkout", "Payment declined: card expired", 10): 1,
        ("checkout", signature, 11): 1,
        ("payments", signature, 10): 3,
    }
    (flood_event,) = [e for e in events if e.service == "checkout" and e.details["count"] == 1000]
    assert flood_event.at == kit.at(10)
    assert flood_event.details["first"] == "2026-11-02T14:10:00Z"
    assert flood_event.details["last"] == "2026-11-02T14:10:59.940000Z"
    assert flood_event.details["example"]["body"] == flood[0]["body"]["stringValue"]  # the earliest
    assert flood_event.summary.endswith("(×1,000, 14:10:00–14:10:59)")


def test_the_example_is_the_earliest_record_whatever_the_order_of_the_lines(kit, tmp_path):
    records = [kit.record(5 + n / 100, f"disk {n} full") for n in range(50)]
    random.Random(3).shuffle(records)
    kit.write_lines(tmp_path / "logs.jsonl", [kit.logs(records[:20]), kit.logs(records[20:])])
    (event,) = kit.run(tmp_path).events
    assert (event.at, event.details["example"]["body"], event.details["count"]) == (kit.at(5), "disk 0 full", 50)


def test_the_highest_severity_of_a_bucket_is_its_severity(kit, tmp_path):
    kit.write_lines(
        tmp_path / "logs.jsonl", [kit.logs([kit.record(1, "pool at 95%", 13), kit.record(1.5, "pool at 99%", 21)])]
    )
    (event,) = kit.run(tmp_path).events
    assert event.details["severity"] == "FATAL"
    assert event.summary.startswith("FATAL pool at 95%")  # the earliest record is the example


def test_condense_off_gives_one_event_per_record(kit, tmp_path):
    kit.write_lines(tmp_path / "logs.jsonl", [kit.logs([kit.record(1 + n / 10, f"retry {n}") for n in range(5)])])
    events = kit.run(tmp_path, 'paths = ["*.jsonl"]\ncondense = false').events
    assert [e.summary for e in events] == [f"ERROR retry {n}" for n in range(5)]
    assert {e.details["count"] for e in events} == {1}


def test_error_spans_become_signals_and_other_spans_do_not(kit, tmp_path):
    kit.write_lines(
        tmp_path / "traces.jsonl",
        [
            kit.traces(
                [
                    kit.span(3, "GET /api/cart/123"),
                    kit.span(3.5, "GET /api/cart/456", spanId="00f067aa0ba902b7"),
                    kit.span(4, "GET /health", code=1),
                    kit.span(4, "GET /unset", code=None),
                ]
            )
        ],
    )
    (event,) = kit.run(tmp_path).events
    assert event.summary == "span 'GET /api/cart/123' failed: upstream returned 503 (×2, 14:03:00–14:03:30)"
    assert (event.details["signature"], event.details["signal"]) == ("GET /api/cart/<*>", "span")


def test_ids_are_derived_from_content_and_stay_the_same_when_collected_again(kit, tmp_path):
    records = [kit.record(2 + n / 60, f"lock wait {n} ms") for n in range(30)]
    kit.write_lines(tmp_path / "logs.jsonl", [kit.logs(records)])
    first = kit.run(tmp_path).events
    assert first == kit.run(tmp_path).events
    (event,) = first
    assert event.native_id == stable_id(
        "log", "checkout", "lock wait <*> ms", int(kit.nanos(kit.at(2))) // 60_000_000_000
    )
    # The file grew (the collector kept writing), and the lines came in another order:
    # the same bucket keeps its id, with the new count; the new minute is a new event.
    more = [kit.record(2.9, "lock wait 7 ms"), kit.record(3.1, "lock wait 9 ms")]
    kit.write_lines(tmp_path / "logs.jsonl", [kit.logs(more), kit.logs(list(reversed(records)))])
    again = kit.run(tmp_path).events
    assert again[0].native_id == event.native_id
    assert again[0].details["count"] == 31
    assert len({e.native_id for e in again}) == 2


def test_only_the_incident_s_window_with_its_margins_is_kept(kit, tmp_path):
    minutes = [-61, -59, 0, 30, 60, 89, 91]
    kit.write_lines(tmp_path / "logs.jsonl", [kit.logs([kit.record(m, f"at {m}") for m in minutes])])
    kept = [e.summary for e in kit.run(tmp_path).events]  # 60 min before created, 30 after resolved
    assert kept == ["ERROR at -59", "ERROR at 0", "ERROR at 30", "ERROR at 60", "ERROR at 89"]
    narrow = kit.run(tmp_path, 'paths = ["*.jsonl"]\nminutes_before = 0\nminutes_after = 0').events
    assert [e.summary for e in narrow] == ["ERROR at 0", "ERROR at 30", "ERROR at 60"]


def test_an_open_incident_keeps_everything_after_its_window_start(kit, tmp_path):
    kit.write_lines(tmp_path / "logs.jsonl", [kit.logs([kit.record(m, f"at {m}") for m in (-90, 0, 600)])])
    result = kit.run(tmp_path, resolved=None)
    assert [e.summary for e in result.events] == ["ERROR at 0", "ERROR at 600"]
    assert not result.gaps


def test_without_the_incident_s_times_everything_is_kept_and_a_gap_says_why(kit, tmp_path):
    kit.write_lines(tmp_path / "logs.jsonl", [kit.logs([kit.record(m, f"at {m}") for m in (-900, 0, 900)])])
    result = kit.run(tmp_path, created=None, resolved=None)
    assert len(result.events) == 3
    assert kit.reasons(result) == [
        "the incident's window is unknown (no source gave its created or resolved time): every record was kept"
    ]


def test_nothing_in_the_window_is_a_gap_with_the_counts(kit, tmp_path):
    kit.write_lines(
        tmp_path / "logs.jsonl",
        [kit.logs([kit.record(-300, "long before"), kit.record(5, "fine", 9)]), kit.traces([kit.span(500, "late")])],
    )
    result = kit.run(tmp_path)
    assert result.events == ()
    assert kit.reasons(result) == [
        "no log record at or above WARN and no span with status ERROR in the incident's window "
        "2026-11-02T13:00:00Z – 2026-11-02T15:30:00Z (2 log record(s) and 1 span(s) read from 1 file(s); "
        "2 of them outside the window)"
    ]


def test_paths_are_files_or_globs_relative_to_the_config_file(kit, tmp_path):
    (tmp_path / "otel" / "2026-11-02").mkdir(parents=True)
    kit.write_lines(tmp_path / "otel" / "2026-11-02" / "logs-1.jsonl", [kit.logs([kit.record(1, "one")])])
    kit.write_lines(tmp_path / "otel" / "2026-11-02" / "logs-2.jsonl", [kit.logs([kit.record(2, "two")])])
    kit.write_lines(tmp_path / "single.json", [kit.logs([kit.record(3, "three")])])
    settings = 'paths = ["otel/**/logs-*.jsonl", "single.json", "otel/2026-11-02/logs-1.jsonl"]'
    result = kit.run(tmp_path, settings)
    assert [e.summary for e in result.events] == ["ERROR one", "ERROR two", "ERROR three"]
    assert not result.gaps


def test_paths_matching_nothing_are_gaps(kit, tmp_path):
    result = kit.run(tmp_path, 'paths = ["missing.jsonl", "otel/*.jsonl"]')
    assert result.events == ()
    assert kit.reasons(result) == [
        f"no file matches {tmp_path / 'missing.jsonl'} ([plugins.otel] paths)",
        f"no file matches {tmp_path / 'otel/*.jsonl'} ([plugins.otel] paths)",
        "no OTLP file to read ([plugins.otel] paths match no file)",
    ]


def test_without_paths_the_source_is_not_configured(kit, tmp_path):
    from retroflow_otel import plugin

    from retroflow.testing import make_config, make_plugins

    plugins = make_plugins(plugin, default_plugins=False)
    config = make_config("", plugins=plugins, base_dir=tmp_path)
    assert plugin.retroflow_timeline_source(config=config, incident=kit.incident()) is None


def test_malformed_lines_and_records_are_counted_with_their_line_number(kit, tmp_path):
    good = orjson.dumps(kit.logs([kit.record(1, "kept")]))
    bad_record = orjson.dumps(kit.logs([kit.record(2, "bad time", timeUnixNano="soon"), kit.record(3, "kept too")]))
    lines = [good, b'{"resourceLogs": [', b"", b"[1, 2]", bad_record, b'{"resourceLogs": [{"scopeLogs": 5}]}']
    (tmp_path / "logs.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    result = kit.run(tmp_path)
    assert [e.summary for e in result.events] == ["ERROR kept", "ERROR kept too"]
    lines_gap, records_gap = kit.reasons(result)
    assert lines_gap.startswith("logs.jsonl: 3 line(s) skipped (line 2: column ")  # the first of 2, 4 and 6
    assert lines_gap.endswith(": not JSON (unexpected end of data))")
    assert records_gap == (
        "logs.jsonl: 1 record(s) skipped (line 5: log record: invalid literal for int() with base 10: 'soon')"
    )
    assert [g.count for g in result.gaps] == [3, 1]


def test_a_pretty_printed_export_request_with_a_bom_is_read_as_one_document(kit, tmp_path):
    text = orjson.dumps(kit.logs([kit.record(1, "pretty")]), option=orjson.OPT_INDENT_2)
    (tmp_path / "request.json").write_bytes(b"\xef\xbb\xbf" + text)
    result = kit.run(tmp_path, 'paths = ["request.json"]')
    assert [e.summary for e in result.events] == ["ERROR pretty"]


def test_a_broken_pretty_printed_document_names_its_line(kit, tmp_path):
    text = orjson.dumps(kit.logs([kit.record(1, "pretty")]), option=orjson.OPT_INDENT_2)
    broken = text.replace(b'"body"', b"body", 1)
    line = broken.splitlines().index(next(line for line in broken.splitlines() if b"body" in line)) + 1
    (tmp_path / "request.json").write_bytes(broken)
    result = kit.run(tmp_path, 'paths = ["request.json"]')
    reason, nothing = kit.reasons(result)
    assert reason.startswith(f"request.json: 1 line(s) skipped (line {line}: column ")
    assert "(0 log record(s) and 0 span(s) read from 1 file(s))" in nothing
    assert line > 10


def test_a_gzip_compressed_file_is_read_like_a_plain_one(kit, tmp_path):
    import gzip

    plain = orjson.dumps(kit.logs([kit.record(1, "zipped")])) + b"\n"
    (tmp_path / "logs.jsonl.gz").write_bytes(gzip.compress(plain))
    result = kit.run(tmp_path, 'paths = ["logs.jsonl.gz"]')
    assert [e.summary for e in result.events] == ["ERROR zipped"]


def test_a_binary_file_is_an_error_gap_naming_the_fix(kit, tmp_path):
    (tmp_path / "data.proto").write_bytes(b"\x00\x00\x01\x2a\x0a\x85\x02garbage")
    kit.write_lines(tmp_path / "logs.jsonl", [kit.logs([kit.record(1, "still read")])])
    result = kit.run(tmp_path, 'paths = ["data.proto", "logs.jsonl"]')
    assert [e.summary for e in result.events] == ["ERROR still read"]
    (gap,) = result.gaps
    assert gap.kind == "error"
    assert gap.reason.startswith("data.proto: not OTLP JSON (a binary or length-prefixed file?")
    assert "use format: json" in gap.reason


def test_a_truncated_gzip_file_keeps_what_was_read_and_says_where_it_broke(kit, tmp_path):
    import gzip

    lines = b"".join(orjson.dumps(kit.logs([kit.record(1 + n / 100, f"line {n}")])) + b"\n" for n in range(200))
    compressed = gzip.compress(lines)
    (tmp_path / "logs.jsonl.gz").write_bytes(compressed[: len(compressed) // 2])
    result = kit.run(tmp_path, 'paths = ["logs.jsonl.gz"]')
    assert result.events and result.events[0].details["count"] > 1
    (gap,) = result.gaps
    assert gap.kind == "error" and gap.reason.startswith("logs.jsonl.gz: unreadable after line ")


def test_a_corrupt_gzip_file_is_an_error_gap_not_a_failed_source(kit, tmp_path):
    import gzip

    lines = b"".join(orjson.dumps(kit.logs([kit.record(1 + n / 100, f"line {n}")])) + b"\n" for n in range(200))
    compressed = bytearray(gzip.compress(lines))
    for index in range(len(compressed) // 2, len(compressed) // 2 + 40):
        compressed[index] ^= 0x5A
    (tmp_path / "logs.jsonl.gz").write_bytes(bytes(compressed))
    result = kit.run(tmp_path, 'paths = ["logs.jsonl.gz"]')
    assert result.gaps[0].kind == "error"
    assert result.gaps[0].reason.startswith("logs.jsonl.gz: unreadable after line ")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('severity = "LOUD"', "severity: expected one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL, got 'LOUD'"),
        ("minutes_before = -5", "minutes_before: expected 0 or more minutes, got -5.0"),
        ('paths = "logs.jsonl"', "paths: expected a list of paths, got 'logs.jsonl'"),
    ],
)
def test_bad_settings_name_the_key(kit, tmp_path, setting, message):
    from retroflow_otel import plugin

    from retroflow import ConfigError
    from retroflow.testing import make_config, make_plugins

    plugins = make_plugins(plugin, default_plugins=False)
    with pytest.raises(ConfigError) as error:
        make_config(f"[plugins.otel]\n{setting}\n", plugins=plugins, base_dir=tmp_path)
    assert "[plugins.otel]" in str(error.value) and message in str(error.value)


def test_a_record_s_time_converts_to_microseconds_in_utc(kit, tmp_path):
    at = kit.at(1) + timedelta(microseconds=123456)
    record = kit.record(0, "precise", timeUnixNano=str(int(kit.nanos(at)) + 789))
    kit.write_lines(tmp_path / "logs.jsonl", [kit.logs([record])])
    (event,) = kit.run(tmp_path).events
    assert event.at == at
