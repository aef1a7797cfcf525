"""Shared helpers: OTLP JSON builders, the published fixtures, and running the source."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from retroflow_otel import plugin

from retroflow import Incident, SourceResult
from retroflow.testing import make_config, make_plugins

FIXTURES = Path(__file__).parent / "fixtures"
#: The incident the tests read around: created at 14:00, resolved at 15:00 (UTC).
CREATED = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
RESOLVED = CREATED + timedelta(hours=1)


def nanos(at: datetime) -> str:
    """A time as OTLP/JSON writes it: Unix nanoseconds as a decimal string."""
    return str((at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000)


def at(minutes: float) -> datetime:
    """``minutes`` after the incident was created."""
    return CREATED + timedelta(minutes=minutes)


def record(minutes: float, body: str, severity: int = 17, **fields: Any) -> dict[str, Any]:
    """A log record ``minutes`` after the incident was created."""
    return {"timeUnixNano": nanos(at(minutes)), "severityNumber": severity, "body": {"stringValue": body}, **fields}


def span(minutes: float, name: str, code: int | None = 2, **fields: Any) -> dict[str, Any]:
    """A span ending ``minutes`` after the incident was created (one second long)."""
    end = at(minutes)
    value: dict[str, Any] = {
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "name": name,
        "kind": 2,
        "startTimeUnixNano": nanos(end - timedelta(seconds=1)),
        "endTimeUnixNano": nanos(end),
        **fields,
    }
    if code is not None:
        value["status"] = {"code": code, "message": "upstream returned 503"}
    return value


def _resource(service: str | None) -> dict[str, Any]:
    if service is None:
        return {"attributes": []}
    return {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}


def logs(records: Iterable[dict[str, Any]], service: str | None = "checkout") -> dict[str, Any]:
    """One ``LogsData`` of ``service`` holding ``records``."""
    return {
        "resourceLogs": [
            {"resource": _resource(service), "scopeLogs": [{"scope": {"name": "app"}, "logRecords": list(records)}]}
        ]
    }


def traces(spans: Iterable[dict[str, Any]], service: str | None = "checkout") -> dict[str, Any]:
    """One ``TracesData`` of ``service`` holding ``spans``."""
    return {
        "resourceSpans": [
            {"resource": _resource(service), "scopeSpans": [{"scope": {"name": "app"}, "spans": list(spans)}]}
        ]
    }


def write_lines(path: Path, documents: Iterable[Any]) -> Path:
    """Documents as the file exporter writes them, one per line."""
    path.write_bytes(b"".join(orjson.dumps(document) + b"\n" for document in documents))
    return path


def incident(**fields: Any) -> Incident:
    values: dict[str, Any] = {"id": "INC-1", "created": CREATED, "resolved": RESOLVED, **fields}
    return Incident(**values)


def run(base_dir: Path, settings: str = 'paths = ["*.jsonl"]', **incident_fields: Any) -> SourceResult:
    """The source's answer for the default incident, with ``[plugins.otel]`` ``settings``
    read as if from ``base_dir/retroflow.toml``."""
    plugins = make_plugins(plugin, default_plugins=False)
    config = make_config(f"[plugins.otel]\n{settings}\n", plugins=plugins, base_dir=base_dir)
    result = plugin.retroflow_timeline_source(config=config, incident=incident(**incident_fields))
    assert isinstance(result, SourceResult)
    return result


def reasons(result: SourceResult) -> list[str]:
    return [gap.reason for gap in result.gaps]
