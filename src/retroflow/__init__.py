"""retroflow: turn a resolved incident into a retrospective that changes the system.

The public API for plugins is what this module exports: the ``hookimpl`` marker, the
domain model, the role protocols, configuration types, errors, and :func:`redact_text`
(mask secrets in text a plugin shows). Everything else is
private and may change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from retroflow.lazy import lazy_package

if TYPE_CHECKING:
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
        GapKind,
        Incident,
        IncidentRecord,
        Layer,
        MetricKind,
        Moments,
        NarrativeLine,
        Outcome,
        OutcomeControl,
        OutcomeWindow,
        PastActions,
        Retro,
        Score,
        Severity,
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
        TicketState,
        TicketStatus,
        TrackerClient,
        TrackerSink,
        WebhookReceiver,
        document_bytes,
    )
    from retroflow.service.events import DraftedRetro, IncidentEvent, Lifecycle, WebhookDelivery

    __version__: str

#: Marker for hook implementations: ``@hookimpl def retroflow_timeline_source(...)``.
hookimpl = pluggy.HookimplMarker("retroflow")

# The names below are imported when first asked for (``from retroflow import Event``), not
# with the package: a plugin that only needs ``hookimpl`` to load, and ``retroflow --help``,
# do not pay for the domain model, the configuration types and the roles.
_HOMES = {
    "retroflow.clock": ("utcnow",),
    "retroflow.config": ("INPUT_PATH", "Config", "Secret", "at_least_one", "not_negative", "positive", "region_url"),
    "retroflow.errors": (
        "ConfigError",
        "PluginError",
        "RetroflowError",
        "SourceError",
        "TrackerError",
        "WebhookRejected",
    ),
    "retroflow.logs": ("redact_text",),
    "retroflow.model": (
        "ActionItem",
        "Category",
        "DoneAction",
        "Effort",
        "Event",
        "EventKind",
        "Exposure",
        "Factor",
        "Finding",
        "Gap",
        "GapKind",
        "Incident",
        "IncidentRecord",
        "Layer",
        "MetricKind",
        "Moments",
        "NarrativeLine",
        "Outcome",
        "OutcomeControl",
        "OutcomeWindow",
        "PastActions",
        "Retro",
        "Score",
        "Severity",
        "SourceResult",
        "Timeline",
        "TimelineOwner",
        "Verdict",
        "Verification",
        "format_duration",
        "format_timestamp",
        "parse_timestamp",
        "stable_id",
    ),
    "retroflow.request": ("RetroRequest",),
    "retroflow.roles": (
        "IncidentFeed",
        "OutcomeMetric",
        "Renderer",
        "ScoringContext",
        "ScoringModel",
        "TicketDraft",
        "TicketRef",
        "TicketState",
        "TicketStatus",
        "TrackerClient",
        "TrackerSink",
        "WebhookReceiver",
        "document_bytes",
    ),
    "retroflow.service.events": ("DraftedRetro", "IncidentEvent", "Lifecycle", "WebhookDelivery"),
}
_exported, __dir__ = lazy_package(__name__, _HOMES)


def __getattr__(name: str) -> Any:
    value = _version() if name == "__version__" else _exported(name)
    globals()[name] = value  # kept: later lookups do not come back here
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("retroflow")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


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
    "GapKind",
    "Incident",
    "IncidentEvent",
    "IncidentFeed",
    "IncidentRecord",
    "Layer",
    "Lifecycle",
    "MetricKind",
    "Moments",
    "NarrativeLine",
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
    "Severity",
    "SourceError",
    "SourceResult",
    "TicketDraft",
    "TicketRef",
    "TicketState",
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
