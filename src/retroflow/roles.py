"""The objects plugins register for named roles, as :class:`typing.Protocol` types.

A plugin registers any object with these attributes; it need not inherit from anything.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from retroflow.config import Config
from retroflow.errors import TrackerError
from retroflow.model import ActionItem, Exposure, Factor, Incident, IncidentRecord, MetricKind, Retro, Score, Timeline
from retroflow.service.events import IncidentEvent, WebhookDelivery


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
    """A named document format.

    A renderer may also define ``render_bytes(retro) -> bytes``, the document encoded as it
    is written to a file (UTF-8 for text). It is optional: the CLI uses it when present,
    which saves decoding a large document only to encode it again (see
    :func:`document_bytes`).

    A renderer with settings of its own lets ``render`` (and ``render_bytes``) take a
    ``config`` keyword argument, as a hook implementation asks for the arguments it wants:
    :func:`document_bytes` then passes the validated :class:`~retroflow.config.Config`
    (``config.settings_for(table)`` gives its table). Without one it must still render.
    """

    name: str
    extension: str

    def render(self, retro: Retro) -> str: ...


def document_bytes(renderer: Renderer, retro: Retro, config: Config | None = None) -> bytes:
    """The document as written to a file: ``renderer.render_bytes(retro)`` when the
    renderer has it, else ``renderer.render(retro)`` encoded as UTF-8; ``config`` is
    passed to a method that takes it."""
    render_bytes = getattr(renderer, "render_bytes", None)
    if render_bytes is not None:
        data = render_bytes(retro, **_config_for(render_bytes, config))
        if not isinstance(data, bytes):
            raise TypeError(f"renderer {renderer.name!r}: render_bytes() returned {type(data).__name__}, not bytes")
        return data
    text: str = renderer.render(retro, **_config_for(renderer.render, config))
    return text.encode()


def _config_for(method: Any, config: Config | None) -> dict[str, Config]:
    """``{"config": config}`` when ``method`` takes a ``config`` argument and there is one."""
    if config is None:
        return {}
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):  # a builtin or C method: no config for it
        return {}
    return {"config": config} if "config" in parameters else {}


@attrs.frozen
class TicketDraft:
    """What a sink is asked to create for one action.

    ``key`` is the deterministic idempotency key of the export (a hash of retro, action
    and tracker); the created ticket must carry it (Jira label or entity property, Linear
    client-chosen id, GitHub label or hidden marker) so that :meth:`TrackerClient.find`
    can find it after an ambiguous failure instead of creating a second ticket.
    """

    key: str
    action: ActionItem
    retro: Retro
    retro_url: str | None = None


@attrs.frozen
class TicketRef:
    """A ticket in a tracker."""

    sink: str
    external_id: str
    url: str | None = None
    key: str | None = None


class TicketState(enum.StrEnum):
    """A ticket's state, in retroflow's words (each sink maps its tracker's to these)."""

    OPEN = "open"
    IN_PROGRESS = "in progress"
    DONE = "done"
    WONT_DO = "won't do"
    MISSING = "missing"  # the tracker no longer shows the ticket

    @classmethod
    def of(cls, word: str) -> TicketState:
        """The state a tracker's word names (``closed`` is done, ``cancelled`` won't do …).

        :raises ValueError: a word that names none of them.
        """
        cleaned = word.strip().lower().replace("\u2019", "'")
        try:
            return _STATE_WORDS[cleaned]
        except KeyError:
            raise ValueError(f"unknown ticket state {word!r} (states: {', '.join(cls)})") from None


def _ticket_state(word: str) -> TicketState:
    """A tracker's word as a state; a word naming none of them (a workflow's own "in
    review", or one a store written by an earlier retroflow kept as given) counts as
    ``open``: not closed, so the action is still followed up."""
    try:
        return TicketState.of(word)
    except ValueError:
        return TicketState.OPEN


#: The words trackers use for each state.
_STATE_WORDS = {
    "open": TicketState.OPEN,
    "todo": TicketState.OPEN,
    "to do": TicketState.OPEN,
    "backlog": TicketState.OPEN,
    "in progress": TicketState.IN_PROGRESS,
    "in_progress": TicketState.IN_PROGRESS,
    "in-progress": TicketState.IN_PROGRESS,
    "started": TicketState.IN_PROGRESS,
    "done": TicketState.DONE,
    "closed": TicketState.DONE,
    "completed": TicketState.DONE,
    "resolved": TicketState.DONE,
    "won't do": TicketState.WONT_DO,
    "wont do": TicketState.WONT_DO,
    "wont_do": TicketState.WONT_DO,
    "won't fix": TicketState.WONT_DO,
    "canceled": TicketState.WONT_DO,
    "cancelled": TicketState.WONT_DO,
    "missing": TicketState.MISSING,
    "deleted": TicketState.MISSING,
    "not found": TicketState.MISSING,
}


@attrs.frozen
class TicketStatus:
    """A ticket's state as the tracker reports it: ``open``, ``in progress``, ``done`` or
    ``won't do``, and when it last changed; ``missing`` when the tracker no longer shows
    the ticket (deleted, moved, or invisible to the account), with no ``changed_at``."""

    ref: TicketRef
    state: TicketState = attrs.field(converter=_ticket_state)
    changed_at: datetime | None = None


@runtime_checkable
class TrackerClient(Protocol):
    """A connection to one tracker, opened with validated settings.

    Errors: raise :class:`retroflow.errors.TrackerError` with ``ambiguous=True`` when a
    request may have reached the tracker (timeout or 5xx after sending), ``False`` when it
    certainly did not take effect (refused, 4xx, connection refused).
    """

    def create(self, drafts: Sequence[TicketDraft]) -> Sequence[TicketRef | TrackerError]:
        """Create one ticket per draft (at most ``max_batch``); return, in order, a ref or
        the error for that item (partial failure). Raise for a failure of the whole call."""
        ...

    def find(self, key: str) -> TicketRef | None:
        """The ticket carrying idempotency ``key``, or ``None`` if the tracker shows none
        (which, within ``search_lag`` seconds of a create, proves nothing)."""
        ...

    def status(self, refs: Sequence[TicketRef]) -> Sequence[TicketStatus]:
        """The current state of each ticket, in order."""
        ...

    def preview(self, draft: TicketDraft) -> Mapping[str, Any]:
        """Exactly what :meth:`create` would send for ``draft`` (for ``--dry-run``)."""
        ...


@runtime_checkable
class TrackerSink(Protocol):
    """A named tracker that actions are exported to (registered by plugins).

    :ivar name: the name used in ``retroflow export --sink NAME``.
    :ivar max_batch: most drafts one :meth:`TrackerClient.create` call takes.
    :ivar search_lag: seconds after a create during which :meth:`TrackerClient.find`
        may not see the ticket yet (Jira Cloud search is eventually consistent).
    """

    name: str
    max_batch: int
    search_lag: float

    def open(self, config: Config) -> TrackerClient:
        """Connect with this sink's settings (``config.settings_for(name)``); raise
        :class:`retroflow.errors.ConfigError` naming the setting when something is missing."""
        ...


@runtime_checkable
class OutcomeMetric(Protocol):
    """A named measurement of incidents that an action is meant to move
    (``time-to-restore``, ``incident-rate``, …), compared before and after the action.

    :ivar name: the name actions' ``verify.metric`` gives.
    :ivar title: the metric in words, for documents (``time to restore``).
    :ivar kind: :attr:`MetricKind.COUNT` (events over an exposure, compared as a rate
        ratio) or :attr:`MetricKind.DURATION` (one duration per incident, compared as a
        ratio of medians).
    :ivar per: for a count, what it is divided by: :attr:`Exposure.DAYS` (reported per 30
        days) or :attr:`Exposure.INCIDENTS` (per incident; a share when each incident
        counts 0 or 1).
    :ivar higher_is_better: whether a rise is an improvement (a share of incidents that
        resolve themselves) rather than a fall (most metrics).
    """

    # Read-only properties, so that frozen attrs classes follow the protocol.
    @property
    def name(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def kind(self) -> MetricKind: ...
    @property
    def per(self) -> Exposure: ...
    @property
    def higher_is_better(self) -> bool: ...

    def observe(self, incident: IncidentRecord) -> float | None:
        """What ``incident`` contributes: for a count, how many (``1`` for the incident
        itself, its alerts, ``1``/``0`` for a yes/no); for a duration, seconds. ``None``
        when the record does not tell: the incident is then left out of this metric."""
        ...


@runtime_checkable
class WebhookReceiver(Protocol):
    """A named webhook endpoint, ``POST /webhooks/<name>`` of ``retroflow serve``.

    The service calls, for every delivery, in this order: :meth:`verify` on the raw bytes,
    then :meth:`parse`, and only then stores it. Both run on the server's event loop: keep
    them to checking and decoding (no network, no files).
    """

    name: str

    def configured(self, config: Config) -> bool:
        """Whether deliveries can be verified (a secret is configured); an endpoint that
        is not configured answers 404."""
        ...

    def verify(self, body: bytes, headers: Mapping[str, str], config: Config) -> None:
        """Check the delivery's signature on the raw ``body`` (``headers`` are
        case-insensitive); raise :class:`retroflow.errors.WebhookRejected` (400 missing or
        malformed, 403 not matching) unless it is genuine. Compare in constant time."""
        ...

    def parse(self, body: bytes, headers: Mapping[str, str], config: Config) -> WebhookDelivery:
        """The verified delivery, decoded; raise :class:`~retroflow.errors.WebhookRejected`
        (400) when it is not what the sender documents."""
        ...


@runtime_checkable
class IncidentFeed(Protocol):
    """A named list of resolved incidents ``retroflow watch`` polls (the fallback for
    setups that cannot receive webhooks)."""

    name: str

    def configured(self, config: Config) -> bool:
        """Whether the feed can be read (credentials are configured)."""
        ...

    def resolved_between(self, since: datetime, until: datetime, config: Config) -> Iterable[IncidentEvent]:
        """A ``resolved`` :class:`~retroflow.IncidentEvent` (``occurred_at`` the resolve
        time, ``event_id`` stable for that resolve) for each incident resolved in
        ``[since, until)``. Raise :class:`retroflow.errors.SourceError` when the system
        cannot be read (the poll is tried again at the next interval)."""
        ...
