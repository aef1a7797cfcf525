"""retroflow-otel: OpenTelemetry logs and traces as a retroflow timeline source.

Reads OTLP JSON files — the collector's file-exporter output or saved export requests —
and turns log records at or above a severity and spans with status ERROR, inside the
incident's window, into condensed ``signal`` events. Configured in ``[plugins.otel]``; see
``docs/sources.md``.
"""

from __future__ import annotations

from .plugin import OtelSource, Window, plugin
from .settings import OtelSettings
from .signature import signature

__all__ = ["OtelSettings", "OtelSource", "Window", "plugin", "signature"]
