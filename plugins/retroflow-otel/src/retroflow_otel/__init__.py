"""retroflow-otel: OpenTelemetry logs and traces as a retroflow timeline source.

Reads OTLP JSON files — the collector's file-exporter output or saved export requests —
and turns log records at or above a severity and spans with status ERROR, inside the
incident's window, into condensed ``signal`` events. Configured in ``[plugins.otel]``; see
``docs/sources.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retroflow.lazy import lazy_exports

if TYPE_CHECKING:
    from .settings import OtelSettings
    from .window import Window

__all__ = ["TABLE", "OtelSettings", "OtelSource", "Window", "plugin", "signature"]

#: The plugin's name and its settings table, ``[plugins.otel]``.
TABLE = "otel"

# These modules are light (what the plugin runs is imported when it runs); they are
# imported here so that ``plugin`` and ``signature`` are what they name, not the modules
# of those names.
from .plugin import OtelSource, plugin  # noqa: E402
from .signature import signature  # noqa: E402

# Loaded when first used: loading the plugin imports no more than it needs.
__getattr__ = lazy_exports(__name__, {"OtelSettings": ".settings:OtelSettings", "Window": ".window:Window"})
