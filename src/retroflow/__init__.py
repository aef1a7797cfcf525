"""retroflow: turn a resolved incident into a retrospective that changes the system.

The public API for plugins is what this module exports: the ``hookimpl`` marker, the
domain model, the role protocols, configuration types, errors, and :func:`redact_text`
(mask secrets in text a plugin shows). Everything else is
private and may change.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import pluggy

from retroflow.config import INPUT_PATH, Config, Secret
from retroflow.errors import ConfigError, PluginError, RetroflowError, SourceError, TrackerError, WebhookRejected
from retroflow.logs import redact_text
from retroflow.model import (
    ActionItem,
    Category,
    Effort,
    Event,
    EventKind,
    Factor,
    Finding,
    Gap,
    Incident,
    Layer,
    Moments,
    Outcome,
    Retro,
    Score,
    SourceResult,
    Timeline,
    TimelineOwner,
    Verification,
    format_duration,
    format_timestamp,
    parse_timestamp,
    stable_id,
)
from retroflow.request import RetroRequest
from retroflow.roles import (
    IncidentFeed,
    OutcomeMetric,
    Renderer,
    ScoringContext,
    ScoringModel,
    TicketDraft,
    TicketRef,
    TicketStatus,
    TrackerClient,
    TrackerSink,
    WebhookReceiver,
    document_bytes,
)
from retroflow.service.events import DraftedRetro, IncidentEvent, Lifecycle, WebhookDelivery

try:
    __version__ = version("retroflow")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

#: Marker for hook implementations: ``@hookimpl def retroflow_timeline_source(...)``.
hookimpl = pluggy.HookimplMarker("retroflow")

__all__ = [
    "INPUT_PATH",
    "ActionItem",
    "Category",
    "Config",
    "ConfigError",
    "DraftedRetro",
    "Effort",
    "Event",
    "EventKind",
    "Factor",
    "Finding",
    "Gap",
    "Incident",
    "IncidentEvent",
    "IncidentFeed",
    "Layer",
    "Lifecycle",
    "Moments",
    "Outcome",
    "OutcomeMetric",
    "PluginError",
    "Renderer",
    "Retro",
    "RetroRequest",
    "RetroflowError",
    "Score",
    "ScoringContext",
    "ScoringModel",
    "Secret",
    "SourceError",
    "SourceResult",
    "TicketDraft",
    "TicketRef",
    "TicketStatus",
    "Timeline",
    "TimelineOwner",
    "TrackerClient",
    "TrackerError",
    "TrackerSink",
    "Verification",
    "WebhookDelivery",
    "WebhookReceiver",
    "WebhookRejected",
    "__version__",
    "document_bytes",
    "format_duration",
    "format_timestamp",
    "hookimpl",
    "parse_timestamp",
    "redact_text",
    "stable_id",
]
