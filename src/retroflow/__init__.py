"""retroflow: turn a resolved incident into a retrospective that changes the system.

The public API for plugins is what this module exports: the ``hookimpl`` marker, the
domain model, the role protocols, configuration types, errors, and :func:`redact_text`
(mask secrets in text a plugin shows). Everything else is
private and may change.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import pluggy

from retroflow.clock import utcnow
from retroflow.config import INPUT_PATH, Config, Secret, at_least_one, not_negative, positive, region_url
from retroflow.errors import ConfigError, PluginError, RetroflowError, SourceError, TrackerError, WebhookRejected
from retroflow.logs import redact_text
from retroflow.model import (
    ActionItem,
    Category,
    DoneAction,
    Effort,
    Event,
    EventKind,
    Exposure,
    Factor,
    Finding,
    Gap,
    Incident,
    IncidentRecord,
    Layer,
    MetricKind,
    Moments,
    Outcome,
    OutcomeControl,
    OutcomeWindow,
    PastActions,
    Retro,
    Score,
    SourceResult,
    Timeline,
    TimelineOwner,
    Verdict,
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
    "DoneAction",
    "DraftedRetro",
    "Effort",
    "Event",
    "EventKind",
    "Exposure",
    "Factor",
    "Finding",
    "Gap",
    "Incident",
    "IncidentEvent",
    "IncidentFeed",
    "IncidentRecord",
    "Layer",
    "Lifecycle",
    "MetricKind",
    "Moments",
    "Outcome",
    "OutcomeControl",
    "OutcomeMetric",
    "OutcomeWindow",
    "PastActions",
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
    "Verdict",
    "Verification",
    "WebhookDelivery",
    "WebhookReceiver",
    "WebhookRejected",
    "__version__",
    "at_least_one",
    "document_bytes",
    "format_duration",
    "format_timestamp",
    "hookimpl",
    "not_negative",
    "parse_timestamp",
    "positive",
    "redact_text",
    "region_url",
    "stable_id",
    "utcnow",
]
