"""The ``otel`` timeline source: the plugin object retroflow registers.

It runs when ``[plugins.otel]`` names ``paths``. It asks the engine for the ``incident``
(so it runs after the sources that describe the incident) and keeps only what happened in
the incident's window: from ``minutes_before`` before it was created to ``minutes_after``
after it was resolved. With neither time known it keeps everything and says so in a gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from retroflow.lazy import lazy_exports
from retroflow.sources import AroundIncidentSource

from . import TABLE

if TYPE_CHECKING:
    from pathlib import Path

    from retroflow import Gap, Incident, SourceResult

    from .reader import FileReport
    from .settings import OtelSettings
    from .window import Window

# The reader, the event mapping and the settings are imported when the source runs: every
# command loads every plugin, most without running it (``retroflow --help``).

__all__ = ["OtelSource", "Window", "plugin", "resolve_paths"]

_UNKNOWN_WINDOW = (
    "the incident's window is unknown (no source gave its created or resolved time): every record was kept"
)


def resolve_paths(patterns: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """The files ``patterns`` name (globs expanded, sorted, each once) and the patterns
    that name none."""
    import glob  # here: loading the plugin (every command) reads no paths
    from pathlib import Path

    files: dict[Path, None] = {}
    unmatched = []
    for pattern in patterns:
        text = str(pattern)
        if any(char in text for char in "*?["):
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        else:
            matches = [pattern] if pattern.is_file() else []
        if not matches:
            unmatched.append(pattern)
        files.update(dict.fromkeys(matches))
    return list(files), unmatched


def _gap(reason: str, count: int = 1, kind: str = "skipped") -> Gap:
    from retroflow import Gap

    from .events import SOURCE

    return Gap(SOURCE, "collect", kind, reason, count)


def file_gaps(report: FileReport) -> list[Gap]:
    """What one file could not give: a failure, skipped lines and records, metrics."""
    name = report.path.name
    gaps = []
    if report.failure:
        gaps.append(_gap(f"{name}: {report.failure}", kind="error"))
    if report.skipped_lines:
        gaps.append(
            _gap(f"{name}: {report.skipped_lines} line(s) skipped ({report.first_line_problem})", report.skipped_lines)
        )
    if report.skipped_records:
        reason = f"{name}: {report.skipped_records} record(s) skipped ({report.first_record_problem})"
        gaps.append(_gap(reason, report.skipped_records))
    if report.metrics_lines:
        reason = f"{name}: {report.metrics_lines} line(s) of metrics ignored (this source reads logs and traces)"
        gaps.append(_gap(reason, report.metrics_lines))
    return gaps


def nothing_gap(reports: Sequence[FileReport], window: Window, settings: OtelSettings) -> Gap:
    """Why no event came out of the files that were read."""
    if not reports:
        return _gap("no OTLP file to read ([plugins.otel] paths match no file)")
    logs = sum(r.log_records for r in reports)
    spans = sum(r.spans for r in reports)
    outside = sum(r.outside for r in reports)
    no_data = sum(r.no_data_lines for r in reports)
    reason = (
        f"no log record at or above {settings.severity} and no span with status ERROR {window.describe()} "
        f"({logs:,} log record(s) and {spans:,} span(s) read from {len(reports)} file(s)"
        f"{f'; {outside:,} of them outside the window' if outside else ''}"
        f"{f'; {no_data:,} line(s) with neither resourceLogs nor resourceSpans' if no_data else ''})"
    )
    return _gap(reason)


def collect(settings: OtelSettings, incident: Incident) -> SourceResult:
    """Read the configured files for ``incident``'s window into signal events and gaps."""
    from retroflow import Event, SourceResult

    from .events import to_event
    from .reader import Reader

    files, unmatched = resolve_paths(settings.paths)
    gaps = [_gap(f"no file matches {pattern} ([plugins.otel] paths)") for pattern in unmatched]
    from .window import Window

    window = Window.around(incident, settings.minutes_before, settings.minutes_after)
    if not window.known:
        gaps.append(_gap(_UNKNOWN_WINDOW))
    reader = Reader(window.selection(settings))
    reports = [reader.read(path) for path in files]
    for report in reports:
        gaps.extend(file_gaps(report))
    events = sorted((to_event(key, bucket) for key, bucket in reader.buckets.items()), key=Event.sort_key)
    if not events:
        gaps.append(nothing_gap(reports, window, settings))
    return SourceResult(events=events, gaps=gaps)


class OtelSource(AroundIncidentSource):
    """The plugin: the errors of the telemetry files in the incident's window.
    :data:`plugin` is the instance the entry point registers."""

    table = TABLE
    settings_class = "retroflow_otel.settings:OtelSettings"

    def collect(self, settings: OtelSettings, incident: Incident) -> SourceResult:
        return collect(settings, incident)


#: The instance the ``retroflow`` entry point registers.
plugin = OtelSource()


__getattr__ = lazy_exports(__name__, {"Window": "retroflow_otel.window:Window"})
