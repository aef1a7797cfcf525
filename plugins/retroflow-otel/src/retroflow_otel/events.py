"""Buckets of log records and error spans as ``signal`` events.

An event's id is derived from its bucket's key — signal, service, signature (or span name)
and minute; with ``condense`` off, the record's own time, text and ids — never from a
position in a file, so collecting again (or from a file that grew) gives the same ids.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from retroflow import Event, EventKind, format_timestamp, stable_id

from .otlp import integer_of, plain_attributes, text_of
from .reader import LOG, Bucket
from .settings import SEVERITIES

__all__ = ["SOURCE", "severity_name", "to_datetime", "to_event"]

SOURCE = "otel"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SUMMARY_LENGTH = 200
_EXAMPLE_LENGTH = 2_000
_BY_NUMBER = sorted(SEVERITIES.items(), key=lambda item: -item[1])


def to_datetime(unix_ns: int) -> datetime:
    """Unix nanoseconds as an aware UTC datetime (microseconds: a datetime holds no more)."""
    return _EPOCH + timedelta(microseconds=unix_ns // 1_000)


def severity_name(number: int) -> str:
    """``17`` → ``"ERROR"``: the severity range a ``severityNumber`` falls in."""
    return next((name for name, lowest in _BY_NUMBER if number >= lowest), "UNSPECIFIED")


def _hex_id(value: Any) -> str | None:
    # Hex in OTLP/JSON (case-insensitive); kept as hex, lower case as trace UIs show it.
    return value.lower() if isinstance(value, str) and value else None


def _field(message: Any, name: str) -> Any:
    return message.get(name) if isinstance(message, dict) else None


def _shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _headline(text: str) -> str:
    """The first non-empty line of a message (a stack trace's first line says what failed)."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return _shortened(line, _SUMMARY_LENGTH)


def _counted(summary: str, bucket: Bucket) -> str:
    if bucket.count == 1:
        return summary
    first, last = to_datetime(bucket.first), to_datetime(bucket.last)
    return f"{summary} (×{bucket.count:,}, {first:%H:%M:%S}–{last:%H:%M:%S})"


def _log_example(bucket: Bucket) -> tuple[str, dict[str, Any]]:
    record = bucket.example
    text = text_of(record.get("body")) or record.get("eventName") or ""
    example = {
        "body": _shortened(text, _EXAMPLE_LENGTH),
        "severity_text": record.get("severityText"),
        "event_name": record.get("eventName"),
        "attributes": plain_attributes(record.get("attributes")),
    }
    summary = f"{severity_name(bucket.severity)} {_headline(text) or '(no message)'}"
    return summary, example


def _span_example(bucket: Bucket) -> tuple[str, dict[str, Any]]:
    span = bucket.example
    name = span.get("name") or "(unnamed span)"
    message = (span.get("status") or {}).get("message") or ""
    start = span.get("startTimeUnixNano")
    end = span.get("endTimeUnixNano")
    example = {
        "name": name,
        "status_message": _shortened(message, _EXAMPLE_LENGTH),
        "kind": span.get("kind"),
        "parent_span_id": _hex_id(span.get("parentSpanId")),
        "duration_ms": (integer_of(end) - integer_of(start)) / 1e6 if start and end else None,
        "attributes": plain_attributes(span.get("attributes")),
    }
    summary = f"span {name!r} failed" + (f": {_headline(message)}" if message else "")
    return summary, example


def to_event(key: tuple[Any, ...], bucket: Bucket) -> Event:
    """The ``signal`` event of one bucket."""
    signal, service, shape = key[0], key[1], key[2]
    summary, example = _log_example(bucket) if signal == LOG else _span_example(bucket)
    example["scope"] = _field(bucket.scope, "name")
    example["resource"] = plain_attributes(_field(bucket.resource, "attributes"))
    details = {
        "signal": signal,
        "count": bucket.count,
        "first": format_timestamp(to_datetime(bucket.first)),
        "last": format_timestamp(to_datetime(bucket.last)),
        "signature": shape,
        "severity": severity_name(bucket.severity),
        "trace_id": _hex_id(bucket.example.get("traceId")),
        "span_id": _hex_id(bucket.example.get("spanId")),
        "example": example,
    }
    return Event.create(
        at=to_datetime(bucket.first),
        source=SOURCE,
        kind=EventKind.SIGNAL,
        summary=_counted(summary, bucket),
        native_id=stable_id(*key),
        service=service,
        details=details,
    )
