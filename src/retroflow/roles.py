"""The objects plugins register for named roles, as :class:`typing.Protocol` types.

A plugin registers any object with these attributes; it need not inherit from anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from retroflow.model import ActionItem, Factor, Incident, Retro, Score, Timeline


@attrs.frozen
class ScoringContext:
    """What a scoring model may look at besides the action itself."""

    incident: Incident
    timeline: Timeline
    factors: tuple[Factor, ...]
    history: tuple[Incident, ...]
    settings: Any = None


@runtime_checkable
class ScoringModel(Protocol):
    """A named way to score an action (higher = do it sooner)."""

    name: str

    def score(self, action: ActionItem, context: ScoringContext) -> Score: ...


@runtime_checkable
class Renderer(Protocol):
    """A named document format."""

    name: str
    extension: str

    def render(self, retro: Retro) -> str: ...


@attrs.frozen
class TicketDraft:
    """What a sink is asked to create for one action. ``key`` is the idempotency key the
    created ticket must carry so a retried export finds it instead of creating another."""

    key: str
    action: ActionItem
    retro: Retro


@attrs.frozen
class TicketRef:
    """A ticket in a tracker."""

    sink: str
    external_id: str
    url: str | None = None
    key: str | None = None


@attrs.frozen
class TicketStatus:
    """A ticket's state as the tracker reports it: open, in progress, done, won't do."""

    ref: TicketRef
    state: str
    changed_at: datetime | None = None


@runtime_checkable
class TrackerSink(Protocol):
    """A named tracker that actions are exported to."""

    name: str

    def create(self, drafts: Sequence[TicketDraft]) -> Sequence[TicketRef | Exception]:
        """Create one ticket per draft; return, in order, a ref or the per-item error."""
        ...

    def find(self, key: str) -> TicketRef | None:
        """Find the ticket that carries idempotency ``key``, if any."""
        ...

    def status(self, refs: Sequence[TicketRef]) -> Sequence[TicketStatus]:
        """Read the current state of tickets."""
        ...


@runtime_checkable
class OutcomeMetric(Protocol):
    """A named measurement of a service over a window (time to resolve, recurrence, ...)."""

    name: str

    def measure(
        self, service: str | None, start: datetime, end: datetime, history: Sequence[Incident]
    ) -> float | None: ...
