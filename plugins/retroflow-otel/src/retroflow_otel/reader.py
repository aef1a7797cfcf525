"""Reading OTLP files into buckets: the hot loop of the source.

Every log record at or above the severity threshold and every span with status ERROR
inside the window lands in a :class:`Bucket`, keyed by (signal, service, message signature
or span name, minute) — so a flood of a million records is as many buckets as it has
distinct messages per minute, and memory does not grow with the file. With ``condense``
off the key is the record itself (its time, text and ids).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import orjson

from .otlp import NotOtlpJson, json_values, service_of, severity_of, text_of
from .signature import signature

__all__ = ["LOG", "MINUTE_NS", "SPAN", "Bucket", "FileReport", "Reader", "Selection"]

LOG = "log"
SPAN = "span"
MINUTE_NS = 60_000_000_000
_STATUS_ERROR = 2
_SPAN_SEVERITY = 17  # an error span weighs as an ERROR log record
_SIGNATURE_CACHE_SIZE = 50_000

#: How the reader reads one scope's items: ``(items, service, scope, resource, line number,
#: report)`` → how many were outside the window.
_ReadScope = Callable[[list[Any], Any, Any, Any, int, "FileReport"], int]


@attrs.frozen
class Selection:
    """What is kept: log records at or above ``threshold`` and error spans, whose time (in
    Unix nanoseconds) is within ``start_ns``–``end_ns``; ``condense`` buckets by minute."""

    threshold: int
    start_ns: int
    end_ns: int
    condense: bool = True


class Bucket:
    """The records of one key: how many, the first and last time, the highest severity,
    and the earliest record as the example. Updated once per record, hence mutable."""

    __slots__ = ("count", "example", "first", "last", "resource", "scope", "severity")

    def __init__(self, at: int, example: dict[str, Any], severity: int, scope: Any, resource: Any) -> None:
        self.count = 1
        self.first = self.last = at
        self.example = example
        self.severity = severity
        self.scope = scope
        self.resource = resource

    def add(self, at: int, example: dict[str, Any], severity: int, scope: Any, resource: Any) -> None:
        self.count += 1
        if at < self.first:
            self.first = at
            self.example, self.scope, self.resource = example, scope, resource
        elif at > self.last:
            self.last = at
        if severity > self.severity:
            self.severity = severity


@attrs.define
class FileReport:
    """What reading one file found, for its gaps and for the "got nothing" reason."""

    path: Path
    lines: int = 0
    log_records: int = 0
    spans: int = 0
    outside: int = 0
    metrics_lines: int = 0
    no_data_lines: int = 0
    skipped_lines: int = 0
    skipped_records: int = 0
    first_line_problem: str = ""
    first_record_problem: str = ""
    failure: str = ""

    def skip_line(self, line: int, problem: str) -> None:
        self.skipped_lines += 1
        if not self.first_line_problem:
            self.first_line_problem = f"line {line}: {problem}"

    def skip_record(self, line: int, problem: str) -> None:
        self.skipped_records += 1
        if not self.first_record_problem:
            where = f"line {line}" if line else "the document"
            self.first_record_problem = f"{where}: {problem}"


def _record_problem(what: str, exc: Exception) -> str:
    if isinstance(exc, AttributeError):
        return f"a {what} that is not an object, or with a field of the wrong type"
    return f"{what}: {exc}"


def _scoped(resources: list[Any], scopes_key: str, items_key: str) -> Iterator[tuple[Any, Any, Any, Any]]:
    """The two levels OTLP nests records in (``resourceLogs`` → ``scopeLogs`` →
    ``logRecords``, and the same for spans): each scope's items, with their resource, its
    service and the scope. A level that is not an object raises, as reading it would."""
    for entry in resources:
        resource = entry.get("resource")
        service = service_of(resource)
        for scoped in entry.get(scopes_key) or ():
            yield resource, service, scoped.get("scope"), scoped.get(items_key) or ()


class Reader:
    """Reads OTLP files into :attr:`buckets`, one file at a time (buckets span files)."""

    def __init__(self, selection: Selection) -> None:
        self.selection = selection
        self.buckets: dict[tuple[Any, ...], Bucket] = {}
        self._condense = selection.condense
        self._signatures: dict[str, str] = {}

    def read(self, path: Path) -> FileReport:
        """Read one file; what could not be read is counted in the report, never raised."""
        report = FileReport(path)
        loads = orjson.loads
        number = 0
        try:
            for number, line in json_values(path):
                if not line.strip():
                    continue
                report.lines += 1
                try:
                    document = loads(line)
                except orjson.JSONDecodeError as exc:  # its line is this line's, or the document's
                    report.skip_line(number or exc.lineno, f"column {exc.colno}: not JSON ({exc.msg})")
                    continue
                if type(document) is not dict:
                    report.skip_line(number or 1, "not a JSON object")
                    continue
                try:
                    self._document(document, number, report)
                except (AttributeError, TypeError, ValueError) as exc:
                    report.skip_line(number or 1, _record_problem("resource or scope", exc))
        except NotOtlpJson as exc:
            report.failure = str(exc)
        except (OSError, EOFError, zlib.error) as exc:  # unreadable, or a truncated or corrupt gzip
            report.failure = f"unreadable after line {number}: {exc}" if number else f"unreadable: {exc}"
        return report

    def _document(self, document: dict[str, Any], number: int, report: FileReport) -> None:
        resource_logs = document.get("resourceLogs")
        resource_spans = document.get("resourceSpans")
        if resource_logs:
            report.log_records += self._scopes(resource_logs, "scopeLogs", "logRecords", self._logs, number, report)
        if resource_spans:
            report.spans += self._scopes(resource_spans, "scopeSpans", "spans", self._spans, number, report)
        if not resource_logs and not resource_spans:
            if document.get("resourceMetrics"):
                report.metrics_lines += 1
            else:
                report.no_data_lines += 1

    def _scopes(
        self, resources: list[Any], scopes_key: str, items_key: str, read: _ReadScope, number: int, report: FileReport
    ) -> int:
        """Read each scope's items (log records, spans) with ``read``, which gives how many
        were outside the window; how many items there were. A resource or scope that is not
        an object raises: the line is then reported skipped, none of its items counted."""
        items_read = outside = 0
        for resource, service, scope, items in _scoped(resources, scopes_key, items_key):
            items_read += len(items)
            outside += read(items, service, scope, resource, number, report)
        report.outside += outside
        return items_read

    def _signature(self, text: str) -> str:
        known = self._signatures.get(text)
        if known is None:
            if len(self._signatures) >= _SIGNATURE_CACHE_SIZE:  # bounded: memory stays flat
                self._signatures.clear()
            known = self._signatures[text] = signature(text)
        return known

    def _gather(
        self,
        signal: str,
        service: Any,
        shape: str,
        at: int,
        item: Any,
        severity: int,
        scope: Any,
        resource: Any,
        *text: str,
    ) -> None:
        """Add a record or span to its bucket (one event to be), opening it: condensing, the
        bucket of its signal, service, shape and minute; else its own, which adds to those
        its time, ``text`` (a log record's) and its trace and span ids."""
        if self._condense:
            key = (signal, service, shape, at // MINUTE_NS)
        else:
            key = (signal, service, shape, at, *text, item.get("traceId"), item.get("spanId"))
        bucket = self.buckets.get(key)
        if bucket is None:
            self.buckets[key] = Bucket(at, item, severity, scope, resource)
        else:
            bucket.add(at, item, severity, scope, resource)

    def _logs(
        self, records: list[Any], service: Any, scope: Any, resource: Any, number: int, report: FileReport
    ) -> int:
        """Gather one scope's log records at or above the threshold in the window; how many
        were outside it."""
        threshold, start, end, _condense = attrs.astuple(self.selection)
        gather, signatures, sign = self._gather, self._signatures, self._signature
        outside = 0
        for record in records:
            try:
                severity = record.get("severityNumber")
                if type(severity) is not int or not severity:
                    severity = severity_of(record)
                if severity < threshold:
                    continue
                at = record.get("timeUnixNano")
                if not at or at == "0":  # unset: the spec says to use the observed time
                    at = record.get("observedTimeUnixNano")
                at = int(at)
                if at < start or at > end:
                    outside += 1
                    continue
                body = record.get("body")
                text = body.get("stringValue") if body else None
                if type(text) is not str:
                    text = text_of(body) or record.get("eventName") or ""
                shape = signatures.get(text) or sign(text)
                gather(LOG, service, shape, at, record, severity, scope, resource, text)
            except (AttributeError, TypeError, ValueError) as exc:
                report.skip_record(number, _record_problem("log record", exc))
        return outside

    def _spans(self, spans: list[Any], service: Any, scope: Any, resource: Any, number: int, report: FileReport) -> int:
        """Gather one scope's spans with status ERROR in the window; how many were outside it."""
        _threshold, start, end, _condense = attrs.astuple(self.selection)
        gather, sign = self._gather, self._signature
        outside = 0
        for span in spans:
            try:
                status = span.get("status")
                code = status.get("code") if status else None
                if code != _STATUS_ERROR and code != "STATUS_CODE_ERROR":
                    continue
                # The error is known when the span ends: that is its time on the timeline.
                at = int(span.get("endTimeUnixNano") or span.get("startTimeUnixNano"))
                if at < start or at > end:
                    outside += 1
                    continue
                gather(SPAN, service, sign(span.get("name") or ""), at, span, _SPAN_SEVERITY, scope, resource)
            except (AttributeError, TypeError, ValueError) as exc:
                report.skip_record(number, _record_problem("span", exc))
        return outside
