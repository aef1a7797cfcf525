"""What the engine accepts from timeline sources, checked in one place.

A source is code retroflow does not control. It may return ints for events, a naive
datetime, a time the heuristics and renderers cannot compute with, text a database cannot
store, or details nested deeper than anything can write. Each of those used to fail the
whole retro far from its cause ("unexpected TypeError"). The engine checks every source's
:class:`SourceResult` here before using it (:func:`checked_result`): a bad item becomes a
gap naming the source and the first reason, and the good items of the same source are kept.
The file source applies the same rules per line as it reads it (:func:`time_problem`,
:func:`event_problem` for the rare suspicious line), so a bad line is skipped with its
reason, and returns a :class:`CheckedResult`: its 100,000 events are not checked twice.

An event is accepted when:

* it is an :class:`Event` whose ``at`` is an aware :class:`~datetime.datetime` from
  :data:`EARLIEST` up to (not including) :data:`LATEST` (any offset; it becomes UTC);
* ``kind`` is an :class:`EventKind`;
* ``source`` (without ``:``), ``summary`` and ``native_id`` are strings, and ``actor``,
  ``service``, ``link`` strings or ``None``; none longer than the store's columns
  (:data:`MAX_LENGTH`) or holding a NUL character or a lone surrogate (PostgreSQL cannot
  store the first, UTF-8 cannot encode the second);
* ``details`` is a mapping JSON can write: no NaN or infinity, nested at most
  :data:`MAX_DETAILS_DEPTH` levels, the same rule for its strings and keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import orjson

from retroflow.model import Event, EventKind, Gap, GapKind, Incident, SourceResult, as_utc
from retroflow.serialize import json_default

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_DETAILS_DEPTH",
    "MAX_LENGTH",
    "CheckedResult",
    "checked_result",
    "details_problem",
    "event_problem",
    "text_problem",
    "time_problem",
]

#: The earliest event time accepted. Zero dates ("0001-01-01", Go's zero time) and times
#: a window or an offset cannot be subtracted from are data errors, not incidents.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
#: Event times must be before this: year 9999 leaves no room for a renderer's minute rows
#: or a heuristic's window after it.
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
#: How deep ``details`` may nest (objects and arrays, the outermost object counted): what
#: orjson, the JSON writer, writes inside one list. Far beyond real data, and far below
#: what would exhaust the recursion of the store's JSON writer.
MAX_DETAILS_DEPTH = 253

#: The longest ``source``, ``native_id``, ``actor`` and ``service`` (characters): the
#: store's columns (PostgreSQL refuses longer values; the schema takes its lengths from here).
MAX_LENGTH = {"source": 100, "native_id": 300, "actor": 200, "service": 200}

_TEXT_FIELDS = ("source", "summary", "native_id")
_OPTIONAL_TEXT_FIELDS = ("actor", "service", "link")


def time_problem(at: datetime) -> str | None:
    """Why ``at`` cannot be an event time (naive, or outside :data:`EARLIEST` ..
    :data:`LATEST`), or ``None``. Never raises: the range is compared before any
    conversion, which could overflow."""
    if at.tzinfo is None or at.utcoffset() is None:
        return f"'at' {at.isoformat()} has no UTC offset"
    if not EARLIEST <= at < LATEST:
        return f"'at' {at.isoformat()} is outside {EARLIEST.year}-01-01 .. {LATEST.year - 1}-12-31"
    return None


def text_problem(name: str, value: object) -> str | None:
    """Why ``value`` cannot be the text of field ``name`` (not a string, longer than
    :data:`MAX_LENGTH` allows, a NUL character, a lone surrogate), or ``None``."""
    if not isinstance(value, str):
        return f"'{name}' is {type(value).__name__}, not a string"
    if len(value) > MAX_LENGTH.get(name, len(value)):
        return f"'{name}' is longer than {MAX_LENGTH[name]} characters"
    if "\x00" in value:
        return f"'{name}' contains a NUL character (\\u0000)"
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            return f"'{name}' is not valid Unicode (a lone surrogate)"
    return None


# The json module's writer, strict: NaN and infinity are refused (orjson writes them as null).
_strict_json = json.JSONEncoder(allow_nan=False, default=json_default).encode


def _details_written(details: Mapping[str, Any]) -> bool:
    """Whether ``details`` can be written as JSON, found at C speed: orjson writes them
    inside a list (which bounds the depth at :data:`MAX_DETAILS_DEPTH` and refuses lone
    surrogates, non-string keys and integers beyond 64 bits), no NUL is escaped in the
    output, and a ``null`` in it is not NaN or infinity."""
    try:
        data = orjson.dumps([details], default=json_default)
    except (orjson.JSONEncodeError, TypeError):
        return False
    if b"\\u0000" in data:
        return False
    if b"null" in data:
        try:
            _strict_json(details)
        except (ValueError, TypeError, RecursionError):
            return False
    return True


def details_problem(details: object) -> str | None:
    """Why ``details`` cannot be stored and written as JSON, or ``None``."""
    if not isinstance(details, Mapping):
        return f"'details' is {type(details).__name__}, not an object"
    if not details or _details_written(details):
        return None
    # Integers beyond 64 bits fail orjson and are fine; anything else has a reason.
    return _details_walk(details)


def _details_walk(details: Mapping[str, Any]) -> str | None:
    """The reason ``details`` cannot be written, found without recursion (they may be
    nested too deep for it); ``None`` when there is none."""
    pending: list[tuple[object, int]] = [(details, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, Mapping | list | tuple):
            if depth > MAX_DETAILS_DEPTH:
                return f"'details' nest deeper than {MAX_DETAILS_DEPTH} levels"
            if isinstance(value, Mapping):
                problem = _keys_problem(value)
                if problem:
                    return problem
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, float) and value - value != 0:  # NaN or infinity
            return f"'details' hold {value!r}, which JSON cannot write"
        elif not (value is None or isinstance(value, bool | int | float)):
            problem = text_problem("details", value if isinstance(value, str) else str(json_default(value)))
            if problem:
                return problem
    return None


def _keys_problem(mapping: Mapping[Any, Any]) -> str | None:
    for key in mapping:
        if isinstance(key, str):
            problem = text_problem("details", key)
            if problem:
                return problem
        elif not (key is None or isinstance(key, bool | int | float)):
            return f"'details' have a key that is {type(key).__name__}, not a string"
    return None


def event_problem(event: object) -> str | None:
    """Why ``event`` cannot go on a timeline (see the module's rules), or ``None``."""
    if not isinstance(event, Event):
        return f"{type(event).__name__} is not an Event"
    if not isinstance(event.at, datetime):
        return f"'at' is {type(event.at).__name__}, not a datetime"
    problem = time_problem(event.at)
    if problem:
        return problem
    if not isinstance(event.kind, EventKind):
        return f"'kind' {event.kind!r} is not an EventKind (Event.create takes a word)"
    for name in _TEXT_FIELDS:
        problem = text_problem(name, getattr(event, name))
        if problem:
            return problem
    if ":" in event.source:
        return f"'source' {event.source!r} contains ':'"
    for name in _OPTIONAL_TEXT_FIELDS:
        value = getattr(event, name)
        problem = None if value is None else text_problem(name, value)
        if problem:
            return problem
    return details_problem(event.details)


@attrs.frozen
class CheckedResult(SourceResult):
    """A :class:`SourceResult` whose events were checked against these rules one by one as
    they were made: retroflow's file source checks each line as it reads it, and its tests
    hold it to these rules. The engine does not check such events again (for 100,000 events
    that would add about a tenth to a build); the incident, history and gaps still are."""


def checked_result(plugin: str, result: SourceResult) -> tuple[SourceResult, list[Gap]]:
    """``result`` with every item that breaks the rules dropped, and one gap per kind of
    item dropped (counting them, with the first reason). Event times become UTC."""
    gaps: list[Gap] = []
    incident = result.incident
    if incident is not None and not isinstance(incident, Incident):
        gaps.append(_dropped(plugin, "incident", 1, f"{type(incident).__name__} is not an Incident"))
        incident = None
    events: Sequence[Event] = result.events
    if not isinstance(result, CheckedResult):
        events = [
            event if event.at.tzinfo is UTC else attrs.evolve(event, at=as_utc(event.at))
            for event in _kept(plugin, "event", events, event_problem, gaps)
        ]
    history = _kept(plugin, "past incident", result.history, _incident_problem, gaps)
    own_gaps = _kept(plugin, "gap", result.gaps, _gap_problem, gaps)
    return SourceResult(incident=incident, events=events, history=history, gaps=own_gaps), gaps


def _incident_problem(item: object) -> str | None:
    return None if isinstance(item, Incident) else f"{type(item).__name__} is not an Incident"


def _gap_problem(item: object) -> str | None:
    if not isinstance(item, Gap):
        return f"{type(item).__name__} is not a Gap"
    fields = (item.plugin, item.stage, item.kind, item.reason)
    if not all(isinstance(value, str) for value in fields) or not isinstance(item.count, int):
        return "a Gap whose fields are not strings and a count"
    if not isinstance(item.kind, GapKind):
        return f"a Gap whose kind {item.kind!r} is not one of {', '.join(GapKind)}"
    return None


def _kept(
    plugin: str, what: str, items: Iterable[Any], problem_of: Callable[[Any], str | None], gaps: list[Gap]
) -> list[Any]:
    """The items without a problem; a gap counting the others, with the first reason."""
    kept: list[Any] = []
    dropped = 0
    first = ""
    for item in items:
        problem = problem_of(item)
        if problem is None:
            kept.append(item)
        else:
            dropped += 1
            first = first or problem
    if dropped:
        gaps.append(_dropped(plugin, what, dropped, first))
    return kept


def _dropped(plugin: str, what: str, count: int, reason: str) -> Gap:
    return Gap(plugin, "collect", "error", f"returned {count} {what}(s) it had to drop ({reason})", count)
