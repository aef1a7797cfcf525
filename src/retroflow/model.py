"""The domain model: frozen value objects that cross every hook.

Build them with the ``from_*`` classmethods or the constructors, change them with
:func:`attrs.evolve`. Every timestamp is an aware UTC :class:`datetime.datetime`.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import hashlib
import math
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs

__all__ = [
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
    "action_rank",
    "and_list",
    "as_utc",
    "format_duration",
    "stable_id",
    "strongest_factor",
]

SCHEMA_VERSION = 1


class EventKind(enum.StrEnum):
    """What an event was to the responders."""

    SIGNAL = "signal"  # a log, trace or metric anomaly that existed, whether anyone saw it
    ALERT = "alert"  # a monitoring alert fired (a signal somebody set up to be told about)
    PAGE = "page"  # a person was notified
    ACK = "ack"  # a person acknowledged a page
    RESPONSE = "response"  # assign, escalate, reassign, responder added, status update
    CHANGE = "change"  # deploy, rollback, config or flag change
    MESSAGE = "message"  # chat or a note: what people believed
    DECISION = "decision"  # what people decided, and why
    MITIGATION = "mitigation"  # the impact stopped (rollback done, failover, ...)
    RESOLUTION = "resolution"  # the incident was resolved


#: The kind word that makes a ``message`` a belief (``details["belief"] = True``), as the
#: Slack source marks what people believed.
BELIEF = "belief"

#: Words people write in event files, mapped to a kind.
KIND_ALIASES: Mapping[str, EventKind] = {
    **{k.value: k for k in EventKind},
    "log": EventKind.SIGNAL,
    "metric": EventKind.SIGNAL,
    "trace": EventKind.SIGNAL,
    "anomaly": EventKind.SIGNAL,
    "error": EventKind.SIGNAL,
    "notify": EventKind.PAGE,
    "notification": EventKind.PAGE,
    "acknowledge": EventKind.ACK,
    "acknowledged": EventKind.ACK,
    "assign": EventKind.RESPONSE,
    "escalate": EventKind.RESPONSE,
    "escalation": EventKind.RESPONSE,
    "deploy": EventKind.CHANGE,
    "deployment": EventKind.CHANGE,
    "config": EventKind.CHANGE,
    "flag": EventKind.CHANGE,
    "rollback": EventKind.MITIGATION,
    "chat": EventKind.MESSAGE,
    "note": EventKind.MESSAGE,
    BELIEF: EventKind.MESSAGE,
    "resolve": EventKind.RESOLUTION,
    "resolved": EventKind.RESOLUTION,
}

#: Kinds that count as a signal having existed.
SIGNAL_KINDS = frozenset({EventKind.SIGNAL, EventKind.ALERT})


class Layer(enum.StrEnum):
    """The layer a contributing condition sits on."""

    TECHNICAL = "technical"
    HUMAN = "human"
    PROCESS = "process"


LAYER_ORDER = {Layer.TECHNICAL: 0, Layer.HUMAN: 1, Layer.PROCESS: 2}


class Category(enum.StrEnum):
    """What kind of system change an action makes."""

    DETECT_FASTER = "detect faster"
    REDUCE_COGNITIVE_LOAD = "reduce cognitive load"
    LIMIT_BLAST_RADIUS = "limit blast radius"
    AUTOMATE_DECISION = "automate a decision"


class Effort(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; refuse naive datetimes, which name no instant."""
    if value.tzinfo is UTC:  # the common case, first: timestamps are read in bulk
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timestamp {value.isoformat()} has no UTC offset")
    if value.utcoffset() == timedelta(0) and value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 timestamp with an offset (``Z`` or ``+hh:mm``) into aware UTC."""
    return as_utc(datetime.fromisoformat(text))


def format_timestamp(value: datetime) -> str:
    """The one textual form of a timestamp in retroflow documents: UTC with ``Z``."""
    if value.tzinfo is not UTC:
        value = as_utc(value)
    return value.isoformat()[:-6] + "Z"  # several times faster than strftime


def and_list(words: Iterable[str]) -> str:
    """``words`` as a sentence lists them: ``"a"``, ``"a and b"``, ``"a, b and c"``."""
    items = list(words)
    return " and ".join(items) if len(items) < 3 else ", ".join(items[:-1]) + " and " + items[-1]


def format_duration(value: timedelta) -> str:
    """The one textual form of a duration in retroflow documents and texts, so that one
    duration reads the same in every place it is named: under a minute in seconds
    (``42 s``), under ten minutes in minutes and seconds (``7 min 48 s``), from there in
    whole minutes (``22 min``) and hours (``1 h 34 min``), each rounded half up to the
    unit shown."""
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    seconds = math.floor(abs(total) + 0.5)
    if seconds < 60:
        return f"{sign}{seconds} s"
    if seconds < 600:
        minutes, rest = divmod(seconds, 60)
        return f"{sign}{minutes} min {rest} s" if rest else f"{sign}{minutes} min"
    hours, minutes = divmod((seconds + 30) // 60, 60)
    if not hours:
        return f"{sign}{minutes} min"
    return f"{sign}{hours} h {minutes} min" if minutes else f"{sign}{hours} h"


def stable_id(*parts: object) -> str:
    """A short deterministic id from ``parts`` (same parts → same id, across runs)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8)
    return digest.hexdigest()


def _tuple_of_str(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _to_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


def _optional_utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The object's own copy of ``value``, so that changing the caller's dict changes no
    frozen object. What is not a mapping is kept as given, for the engine to drop with a
    source's other malformed items (:func:`retroflow.validation.checked_result`)."""
    if type(value) is dict:  # the usual case, first: an ABC check costs more than the copy
        return value.copy()
    if value is None:
        return {}
    return dict(value) if isinstance(value, Mapping) else value


@attrs.frozen
class Incident:
    """The incident a retro is about, as the sources describe it."""

    id: str
    title: str = ""
    source: str = ""
    services: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    severity: str | None = None
    urgency: str | None = None
    priority: str | None = None
    teams: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    created: datetime | None = attrs.field(default=None, converter=_optional_utc)
    resolved: datetime | None = attrs.field(default=None, converter=_optional_utc)
    links: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    details: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping, hash=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "") -> Incident:
        """Build from a plain mapping such as the incident JSON file of the file source.

        Raises :class:`ValueError` naming the first field that is wrong.
        """
        if not isinstance(data, Mapping):
            raise ValueError("an incident must be a JSON object")
        known = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown incident field(s): {', '.join(unknown)}")
        if "id" not in data or not str(data["id"]).strip():
            raise ValueError("incident field 'id' is required")
        kwargs: dict[str, Any] = {"source": source, **data, "id": str(data["id"])}
        for name in ("created", "resolved"):
            if isinstance(kwargs.get(name), str):
                try:
                    kwargs[name] = parse_timestamp(kwargs[name])
                except ValueError as exc:
                    raise ValueError(f"incident field {name!r}: {exc}") from None
        for name in ("services", "teams", "links"):
            value = kwargs.get(name)
            if value is not None and not (
                isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
            ):
                raise ValueError(f"incident field {name!r} must be a string or a list of strings")
        return cls(**kwargs)

    def merged_with(self, other: Incident) -> Incident:
        """Fill the fields this incident lacks from ``other`` (this one wins)."""
        changes: dict[str, Any] = {}
        for field in attrs.fields(Incident):
            mine = getattr(self, field.name)
            if mine in (None, "", ()) or (field.name == "details" and not mine):
                theirs = getattr(other, field.name)
                if theirs not in (None, "", ()):
                    changes[field.name] = theirs
        if self.details and other.details:
            changes["details"] = {**other.details, **self.details}
        return attrs.evolve(self, **changes) if changes else self


@attrs.frozen
class Event:
    """One fact on the timeline. Identity is ``(source, native_id)``; ``source`` never
    contains ``:`` (so :attr:`id`, ``source:native_id``, can be split back)."""

    at: datetime
    source: str
    kind: EventKind
    summary: str
    native_id: str
    actor: str | None = None
    service: str | None = None
    link: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping, hash=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.native_id)

    @property
    def id(self) -> str:
        """The id factors cite as evidence: ``source:native_id``."""
        return f"{self.source}:{self.native_id}"

    @classmethod
    def create(
        cls,
        *,
        at: datetime,
        source: str,
        kind: EventKind | str,
        summary: str,
        native_id: str | None = None,
        actor: str | None = None,
        service: str | None = None,
        link: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Event:
        """Validating constructor for plugins: converts ``at`` to UTC, ``kind`` from an
        alias, and derives a stable ``native_id`` from the content when none is given."""
        event_kind = kind if isinstance(kind, EventKind) else KIND_ALIASES.get(kind.lower())
        if event_kind is None:
            raise ValueError(f"unknown event kind {kind!r}")
        if ":" in source:
            raise ValueError(f"event source {source!r} contains ':'")
        at = as_utc(at)
        if native_id is None:
            native_id = stable_id(at.isoformat(), event_kind, summary, actor, service)
        if isinstance(kind, str) and kind.lower() == BELIEF and "belief" not in (details or {}):
            details = {**(details or {}), "belief": True}  # the word says what the message is
        return cls(
            at=at,
            source=source,
            kind=event_kind,
            summary=summary,
            native_id=str(native_id),
            actor=actor,
            service=service,
            link=link,
            details=details,
        )

    def sort_key(self) -> tuple[datetime, str]:
        """Time, then source (sources sort their events by it); events of one source at the
        same instant keep the order the source gave them (see :meth:`Timeline.from_events`)."""
        return (self.at, self.source)


_identity = operator.attrgetter("source", "native_id")


def _first_by_identity(events: Sequence[Event]) -> dict[tuple[str, str], Event]:
    """Each ``(source, native_id)`` with its first event: fed in reverse, dict() keeps the
    last value per key, which is the first event."""
    return dict(zip(map(_identity, reversed(events)), reversed(events), strict=True))


#: Sorting is stable: events of one source at the same instant (sources stamping whole
#: seconds, such as PagerDuty: a trigger and its assignment) keep the order the source
#: gave them, which is the only order known. Their ids would order them arbitrarily.
_sort_key = operator.attrgetter("at", "source")


@attrs.frozen
class Moments:
    """The key moments of a timeline (``None`` where no event shows one)."""

    first_signal: datetime | None = None
    first_alert: datetime | None = None
    first_page: datetime | None = None
    first_ack: datetime | None = None
    mitigation: datetime | None = None
    resolve: datetime | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, str | None]) -> Moments:
        """The moments a document holds (timestamps as :func:`format_timestamp` writes them)."""
        fields = attrs.fields_dict(cls)
        return cls(
            **{
                name: None if value is None else parse_timestamp(value)
                for name, value in data.items()
                if name in fields
            }
        )

    @property
    def start(self) -> datetime | None:
        """When the incident began as far as the facts show: the earliest moment."""
        known = [m for m in attrs.astuple(self, recurse=False) if m is not None]
        return min(known) if known else None

    @property
    def detected(self) -> datetime | None:
        """When somebody (or something that pages) was told: first alert or first page."""
        known = [m for m in (self.first_alert, self.first_page) if m is not None]
        return min(known) if known else None

    def durations(self) -> dict[str, timedelta | None]:
        """Time to detect, acknowledge, mitigate and resolve.

        * ``detect``: first signal → first alert or page
        * ``acknowledge``: first page → first ack
        * ``mitigate``: start → mitigation
        * ``resolve``: start → resolve
        """

        def between(a: datetime | None, b: datetime | None) -> timedelta | None:
            return None if a is None or b is None or b < a else b - a

        return {
            "detect": between(self.first_signal, self.detected),
            "acknowledge": between(self.first_page, self.first_ack),
            "mitigate": between(self.start, self.mitigation),
            "resolve": between(self.start, self.resolve),
        }


class EventIndex(Mapping[str, Event]):
    """Events by :attr:`Event.id` (``source:native_id``), backed by the ``(source,
    native_id)`` keys the merge computed anyway: no id string is built per event (a
    100,000-event timeline is looked up a few dozen times). Iterates in timeline order."""

    __slots__ = ("_by_key", "_events")

    def __init__(self, events: tuple[Event, ...], by_key: Mapping[tuple[str, str], Event]) -> None:
        self._events = events
        self._by_key = by_key

    def __getitem__(self, event_id: str) -> Event:
        if type(event_id) is str:
            source, colon, native_id = event_id.partition(":")
            event = self._by_key.get((source, native_id)) if colon else None
            if event is not None:
                return event
        raise KeyError(event_id)

    def __iter__(self) -> Iterator[str]:
        by_key = self._by_key
        for event in self._events:
            if by_key.get((event.source, event.native_id)) is event:  # once per identity
                yield f"{event.source}:{event.native_id}"

    def __len__(self) -> int:
        return len(self._by_key)


@attrs.frozen
class Timeline:
    """Events in time order, deduplicated by identity, and the key moments."""

    events: tuple[Event, ...]
    moments: Moments

    @classmethod
    def from_events(cls, events: Iterable[Event], incident: Incident | None = None) -> Timeline:
        """Merge events (first of each ``(source, native_id)`` wins), sort them by time and
        source, and find the key moments. Events of one source at the same instant stay in
        the order they were given (for a repeated identity, where it last appeared), so the
        same input gives the same order. ``incident.resolved`` stands in for a missing
        resolution event."""
        collected = events if isinstance(events, list | tuple) else list(events)
        unique = _first_by_identity(collected)
        # ``unique`` holds its keys last-appearance-first; reversed, in the order given.
        ordered = tuple(sorted(reversed(unique.values()), key=_sort_key))
        firsts: dict[EventKind, datetime] = {}
        for event in ordered:
            if event.kind not in firsts:
                firsts[event.kind] = event.at
                if len(firsts) == len(EventKind):
                    break
        signals = [firsts[k] for k in SIGNAL_KINDS if k in firsts]
        resolve = firsts.get(EventKind.RESOLUTION)
        if resolve is None and incident is not None:
            resolve = incident.resolved
        moments = Moments(
            first_signal=min(signals) if signals else None,
            first_alert=firsts.get(EventKind.ALERT),
            first_page=firsts.get(EventKind.PAGE),
            first_ack=firsts.get(EventKind.ACK),
            mitigation=firsts.get(EventKind.MITIGATION),
            resolve=resolve,
        )
        timeline = cls(events=ordered, moments=moments)
        # The merge already keyed every event by identity: seed the index with it (attrs
        # keeps a slotted cached_property in a slot of its name; if that ever changes, the
        # index is simply built on first use).
        with contextlib.suppress(AttributeError):
            object.__setattr__(timeline, "index", EventIndex(ordered, unique))
        return timeline

    @functools.cached_property
    def index(self) -> Mapping[str, Event]:
        """Events by :attr:`Event.id` (computed once, on first use)."""
        return EventIndex(self.events, _first_by_identity(self.events))

    def of_kind(self, *kinds: EventKind) -> list[Event]:
        return [event for event in self.events if event.kind in kinds]

    def __len__(self) -> int:
        return len(self.events)


@attrs.frozen
class Factor:
    """A contributing condition, on one layer, citing the events that show it."""

    key: str
    layer: Layer = attrs.field(converter=Layer)
    title: str
    explanation: str
    evidence: tuple[str, ...] = attrs.field(converter=_to_tuple)
    strength: float = 1.0
    details: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping, hash=False)

    @evidence.validator
    def _has_evidence(self, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
        if not value:
            raise ValueError(f"factor {self.key!r} cites no evidence")


@attrs.frozen
class Verification:
    """How to tell the change worked: a metric on a service, and the target.

    ``metric`` names an outcome metric (``time-to-detect``, ``incident-rate``, … see
    ``docs/outcomes.md``), so that once the action is done ``retroflow outcomes`` can say
    whether it moved; ``target`` says, in words, the value that means done."""

    metric: str
    service: str | None = None
    target: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verification:
        """The verification a document holds."""
        return cls(data["metric"], data.get("service"), data.get("target"))


@attrs.frozen
class Score:
    """The value a named scoring model gave an action, with its inputs and why."""

    model: str
    value: float
    inputs: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    explanation: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Score:
        """The score a document holds."""
        return cls(data["model"], data["value"], data.get("inputs") or {}, data.get("explanation", ""))


class Severity(enum.StrEnum):
    """How much a review finding matters."""

    INFO = "info"
    WARNING = "warning"


@attrs.frozen
class Finding:
    """A review finding: a rule that tripped, on an action or on the retro's text."""

    rule: str
    message: str
    suggestion: str
    target: str = "retro"  # an action id, or "retro"
    severity: Severity = attrs.field(default=Severity.WARNING, converter=Severity)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """The finding a document holds (:func:`retroflow.serialize.finding_to_dict`)."""
        return cls(
            rule=data["rule"],
            message=data["message"],
            suggestion=data["suggestion"],
            target=data.get("target", "retro"),
            severity=data.get("severity", Severity.WARNING),
        )


def _optional_category(value: Category | str | None) -> Category | None:
    return None if value is None else Category(value)


def _optional_effort(value: Effort | str | None) -> Effort | None:
    return None if value is None else Effort(value)


@attrs.frozen
class ActionItem:
    """A system change proposed (or written by a person) to make a repeat unlikely.

    ``id`` is stable across rebuilds of the same retro, which is what makes tracker exports
    idempotent; :meth:`create` derives it from the incident, the factors and the title.
    """

    id: str
    title: str
    change: str = ""
    category: Category | None = attrs.field(default=None, converter=_optional_category)
    owner: str | None = None
    due: date | None = None
    factors: tuple[str, ...] = attrs.field(default=(), converter=_to_tuple)
    verify: Verification | None = None
    effort: Effort | None = attrs.field(default=None, converter=_optional_effort)
    proposed_by: str = ""
    score: Score | None = None
    findings: tuple[Finding, ...] = attrs.field(default=(), converter=_to_tuple)
    focus: bool = False
    details: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    @classmethod
    def create(cls, *, incident_id: str, title: str, key: object = None, **kwargs: Any) -> ActionItem:
        """Build an action whose id is derived from the incident and ``key`` (by default
        the factors it answers and its title)."""
        factors = tuple(kwargs.get("factors", ()))
        action_id = stable_id(incident_id, key if key is not None else (factors, title))
        return cls(id=action_id, title=title, **kwargs)


def strongest_factor(action: ActionItem, strengths: Mapping[str, float]) -> tuple[str, float] | None:
    """The condition ``action`` answers with the highest strength (``strengths``: factor key
    → :attr:`Factor.strength`), and that strength; ``None`` when it answers none of them."""
    known = [(strengths[key], key) for key in action.factors if key in strengths]
    if not known:
        return None
    strength, key = max(known, key=lambda item: item[0])  # the first of equals, as listed
    return key, strength


def action_rank(action: ActionItem, strengths: Mapping[str, float]) -> tuple[float, float, str, str]:
    """The order actions are listed in: highest score first; a tie goes to the action that
    answers the strongest condition (:func:`strongest_factor`), then by title (and id)."""
    strongest = strongest_factor(action, strengths)
    score = action.score.value if action.score else float("-inf")
    return (-score, -(strongest[1] if strongest else 0.0), action.title, action.id)


class GapKind(enum.StrEnum):
    """Why something is missing from a retro."""

    ERROR = "error"  # a plugin raised, or returned what it should not
    TIMEOUT = "timeout"  # a plugin gave no answer within its timeout
    SKIPPED = "skipped"  # data a source or the engine had to skip
    INCOMPLETE = "incomplete"  # the data is not final yet


def _gap_kind(value: GapKind | str) -> GapKind:
    """A kind's word as the enum. A word that names no kind is kept as given, for the
    engine to drop with the rest of a source's malformed items (a plugin's error in one
    gap must not lose its events: :func:`retroflow.validation.checked_result`)."""
    return GapKind(value) if value in _GAP_KINDS else value  # type: ignore[return-value]


_GAP_KINDS = frozenset(GapKind)


@attrs.frozen
class Gap:
    """Something retroflow could not see: a source or plugin that failed, was slow, or
    gave data it had to skip."""

    plugin: str
    stage: str
    kind: GapKind = attrs.field(converter=_gap_kind)
    reason: str
    count: int = 1

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Gap:
        """The gap a document holds."""
        return cls(data["plugin"], data["stage"], data["kind"], data["reason"], data.get("count", 1))


@attrs.frozen
class SourceResult:
    """What a timeline source returns: the incident as it knows it, events, history of
    past incidents (for recurrence and frequency), and gaps in its own data."""

    incident: Incident | None = None
    events: tuple[Event, ...] = attrs.field(default=(), converter=_to_tuple)
    history: tuple[Incident, ...] = attrs.field(default=(), converter=_to_tuple)
    gaps: tuple[Gap, ...] = attrs.field(default=(), converter=_to_tuple)


class Verdict(enum.StrEnum):
    """What the data say an action did to its metric (see ``docs/outcomes.md``)."""

    IMPROVED = "improved"  # the change is significant, in the good direction
    WORSE = "worse"  # the change is significant, in the bad direction
    NO_CHANGE = "no-change"  # the interval sits inside the equivalence band
    INCONCLUSIVE = "inconclusive"  # neither: more data would decide it


class MetricKind(enum.StrEnum):
    """How an outcome metric is compared before and after."""

    COUNT = "count"  # events over an exposure: a rate ratio, exact conditional test
    DURATION = "duration"  # one duration per incident: a ratio of medians, bootstrap


class Exposure(enum.StrEnum):
    """What a count is divided by."""

    DAYS = "days"  # a rate in time, reported per 30 days
    INCIDENTS = "incidents"  # a rate per incident (or, for a 0/1 count, a share)


@attrs.frozen
class IncidentRecord:
    """A past incident as outcome metrics see it (``retroflow outcomes``): from a stored
    retro, a source's history or the history import, merged by ``id``.

    ``started`` is when it began; the other moments and counts are ``None`` where the
    record does not tell. ``origin`` says where the record came from (``retro``,
    ``import``, or the source that reported it, e.g. ``pagerduty``).
    """

    id: str
    services: tuple[str, ...] = attrs.field(converter=_tuple_of_str)
    started: datetime = attrs.field(converter=as_utc)
    resolved: datetime | None = attrs.field(default=None, converter=_optional_utc)
    detected: datetime | None = attrs.field(default=None, converter=_optional_utc)
    acknowledged: datetime | None = attrs.field(default=None, converter=_optional_utc)
    alerts: int | None = None
    pages: int | None = None
    pages_out_of_hours: int | None = None
    auto_resolved: bool | None = None
    severity: str | None = None
    origin: str = ""
    details: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping, hash=False)


@attrs.frozen
class DoneAction:
    """A retro action marked done, with the metric it was meant to move: done in a
    tracker (``origin`` ``tracker:<sink>``) or listed in the history import (``import``)."""

    id: str
    incident: str
    title: str
    metric: str
    service: str | None
    done_at: datetime = attrs.field(converter=as_utc)
    origin: str = ""


@attrs.frozen
class OutcomeWindow:
    """A metric over one window ``[start, end)``: ``n`` incidents gave a value.

    ``value`` is a rate for counts (per 30 days, or per incident; a share for a 0/1
    count), with ``count`` events over ``exposure`` (days or incidents); the median (in
    seconds) for durations, with ``p90``. ``None`` where the window has no data.
    """

    start: datetime
    end: datetime
    n: int
    value: float | None
    count: float | None = None
    exposure: float | None = None
    p90: float | None = None


@attrs.frozen
class OutcomeControl:
    """The same metric over the same windows on every other service (``services`` of
    them): its ``effect`` (ratio after/before) and two-sided ``p``. ``fleet_moved`` when
    the fleet moved significantly the same way as the action's service: then the action
    is not shown to be what moved it."""

    services: int
    before: OutcomeWindow
    after: OutcomeWindow
    effect: float | None
    p: float | None
    fleet_moved: bool


@attrs.frozen
class Outcome:
    """A completed action's metric before and after it, and the verdict.

    ``effect`` is the ratio after/before (rates, or medians), ``ci`` its interval, ``p``
    the two-sided p-value and ``q`` the Benjamini–Hochberg q-value across the actions
    evaluated together; ``needed`` the rough number of further incidents that would decide
    an inconclusive verdict; ``reason`` says the verdict in words.
    """

    action: DoneAction
    verdict: Verdict = attrs.field(converter=Verdict)
    before: OutcomeWindow
    after: OutcomeWindow
    effect: float | None = None
    ci: tuple[float, float] | None = None
    p: float | None = None
    q: float | None = None
    method: str = ""
    needed: int | None = None
    reason: str = ""
    control: OutcomeControl | None = None


@attrs.frozen
class PastActions:
    """The answer to "which past retro actions measurably improved the system?" for a
    retro's services, as the history stood when its incident began (``as_of``).

    ``incidents`` counts the past incidents known on those services; ``outcomes`` are the
    done actions with a verdict; ``unmeasured`` the done actions whose metric is not an
    outcome metric (nothing to measure them by).
    """

    services: tuple[str, ...]
    as_of: datetime | None
    incidents: int
    outcomes: tuple[Outcome, ...] = ()
    unmeasured: tuple[DoneAction, ...] = ()


@attrs.frozen
class TimelineOwner:
    """The one person who reconstructs the timeline before the review meeting, and why
    it is them: ``"first to acknowledge"`` or ``"rota"`` (``[retroflow] timeline_owner_rota``)."""

    name: str
    reason: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimelineOwner:
        """The timeline owner a document holds."""
        return cls(data["name"], data["reason"])


@attrs.frozen
class NarrativeLine:
    """One condition in the retro's narrative ("which conditions had to line up"): the
    factor's key and the events cited for it (its first evidence, at most
    :data:`retroflow.narrative.EVIDENCE_PER_LINE`). Data, not text: each renderer words it
    (:func:`retroflow.narrative.narrative_lines` gives the Markdown)."""

    factor: str
    evidence: tuple[str, ...] = attrs.field(default=(), converter=_to_tuple)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NarrativeLine:
        """The line a document holds."""
        return cls(data["factor"], data.get("evidence", ()))


@attrs.frozen
class Retro:
    """A retrospective: what happened, what conditions lined up, what to change.

    ``rejected_factors`` are conditions a heuristic found and people rejected (each with
    ``details["human"]``: status, reason, author): shown in the documents, but no part of
    ``factors``, so nothing that analyses the retro (actions, review, scoring) counts them.
    ``past_actions`` answers "which past retro actions measurably improved the system?"
    for the incident's services; ``None`` when it was not looked up (built without the
    store).
    """

    incident: Incident
    timeline: Timeline
    factors: tuple[Factor, ...] = ()
    rejected_factors: tuple[Factor, ...] = ()
    actions: tuple[ActionItem, ...] = ()
    findings: tuple[Finding, ...] = ()
    gaps: tuple[Gap, ...] = ()
    history: tuple[Incident, ...] = ()
    scoring_model: str = ""
    narrative: tuple[NarrativeLine, ...] = ()
    version: int = 1
    schema_version: int = SCHEMA_VERSION
    past_actions: PastActions | None = None
    timeline_owner: TimelineOwner | None = None

    def actions_by_id(self) -> dict[str, ActionItem]:
        return {action.id: action for action in self.actions}


def sorted_factors(factors: Sequence[Factor]) -> tuple[Factor, ...]:
    return tuple(sorted(factors, key=lambda f: (LAYER_ORDER[f.layer], f.key, f.evidence)))
