"""``[plugins.otel]``: the settings of the OpenTelemetry timeline source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from retroflow import positive

from . import TABLE

__all__ = ["SEVERITIES", "TABLE", "OtelSettings"]


#: The lowest OTLP ``severityNumber`` of each severity name (logs data model: TRACE 1–4,
#: DEBUG 5–8, INFO 9–12, WARN 13–16, ERROR 17–20, FATAL 21–24).
SEVERITIES = {"TRACE": 1, "DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17, "FATAL": 21}
_ALIASES = {"WARNING": "WARN", "CRITICAL": "FATAL"}


def _severity_name(value: str) -> str:
    name = value.strip().upper()
    name = _ALIASES.get(name, name)
    if name not in SEVERITIES:
        raise ValueError(f"severity: expected one of {', '.join(SEVERITIES)}, got {value!r}")
    return name


def _not_negative(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name}: expected 0 or more minutes, got {value!r}")


@attrs.frozen
class OtelSettings:
    """``[plugins.otel]``. The source runs when ``paths`` names at least one file or glob.

    :ivar paths: OTLP JSON files or globs (``"otel/logs-*.jsonl"``), relative to the config
        file: collector file-exporter output (one ``LogsData``/``TracesData`` per line,
        optionally gzip-compressed) or one ``ExportLogsServiceRequest`` /
        ``ExportTraceServiceRequest`` document.
    :ivar severity: log records at or above this severity become signals: ``TRACE``,
        ``DEBUG``, ``INFO``, ``WARN`` (the default), ``ERROR`` or ``FATAL``.
    :ivar condense: one event per service, message signature (or span name) and minute,
        with the count, first and last time and one example (``false``: one event per
        record, for small files).
    :ivar minutes_before: how many minutes before the incident was created records are kept.
    :ivar minutes_after: how many minutes after it was resolved records are kept.
    :ivar timeout: seconds this source may take (default: ``[retroflow] source_timeout``).
    """

    paths: list[Path] = attrs.field(factory=list)
    severity: str = attrs.field(default="WARN", converter=_severity_name)
    condense: bool = True
    minutes_before: float = attrs.field(default=60.0, validator=_not_negative)
    minutes_after: float = attrs.field(default=30.0, validator=_not_negative)
    timeout: float | None = attrs.field(default=None, validator=positive)

    @property
    def configured(self) -> bool:
        return bool(self.paths)

    @property
    def threshold(self) -> int:
        """The lowest ``severityNumber`` kept."""
        return SEVERITIES[self.severity]
