"""Timeline source ``file``: events from JSON Lines files, incident metadata from JSON.

Any system can feed retroflow by writing this format (see ``docs/event-format.md``). One
event per line::

    {"at": "2026-11-02T14:03:10+00:00", "kind": "alert", "summary": "p95 > 2 s on checkout",
     "id": "dd-881", "source": "datadog", "service": "checkout"}

Required: ``at`` (ISO 8601 with an offset), ``kind``, ``summary``. Optional: ``id``,
``source`` (default ``file``), ``actor``, ``service``, ``link``, ``details`` (an object).
A line that cannot be read is skipped and counted as a gap; the rest still count. A file
that cannot be opened is a gap; the other files still count. An incident file that cannot
be read, or that describes another incident, stops the build (a configuration error).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import orjson

from retroflow import hookimpl
from retroflow.config import INPUT_PATH, Config
from retroflow.errors import ConfigError, SourceError
from retroflow.model import BELIEF, KIND_ALIASES, Event, EventKind, Gap, Incident, SourceResult, stable_id
from retroflow.request import RetroRequest
from retroflow.validation import (
    EARLIEST,
    LATEST,
    MAX_DETAILS_DEPTH,
    MAX_LENGTH,
    CheckedResult,
    event_problem,
    time_problem,
)

NAME = "file"
TABLE = "file"
_OPTIONAL_TEXT = ("actor", "service", "link")
_KNOWN = frozenset({"at", "kind", "summary", "id", "source", "details", *_OPTIONAL_TEXT})


@attrs.frozen
class FileSourceSettings:
    """``[plugins.file]``.

    :ivar events: JSON Lines event files, relative to the config file.
    :ivar incident: the incident metadata JSON file, relative to the config file.
    :ivar timeout: seconds this source may take (default: ``[retroflow] source_timeout``).
    """

    events: list[Path] = attrs.field(factory=list, metadata=INPUT_PATH)
    incident: Path | None = attrs.field(default=None, metadata=INPUT_PATH)
    timeout: float | None = None


@hookimpl
def retroflow_register_settings(register: Callable[[str, type[Any]], None]) -> None:
    register(TABLE, FileSourceSettings)


@hookimpl
def retroflow_timeline_source(request: RetroRequest, config: Config) -> SourceResult | None:
    settings = config.settings_for(TABLE, FileSourceSettings) or FileSourceSettings()
    files = [*settings.events, *request.event_files]
    if not files and request.incident_file is None and settings.incident is None:
        return None
    incident = _configured_incident(request, settings, config)
    events: list[Event] = []
    gaps: list[Gap] = []
    for path in files:
        try:
            file_events, file_gap = read_events(path)
        except SourceError as exc:  # one unreadable file is a gap; the others still count
            gaps.append(Gap(NAME, "collect", "error", str(exc)))
            continue
        events.extend(file_events)
        if file_gap is not None:
            gaps.append(file_gap)
    # Every line was checked against the engine's rules as it was read (_parse_lines).
    return CheckedResult(incident=incident, events=events, gaps=gaps)


def _configured_incident(request: RetroRequest, settings: FileSourceSettings, config: Config) -> Incident | None:
    """The incident file's incident (``--incident-file``, else ``[plugins.file] incident``).

    :raises ConfigError: it cannot be read or describes another incident: a retro built
        without it, or from another incident's file, would be wrong, so there is none.
    """
    if request.incident_file is not None:
        path, origin = request.incident_file, "--incident-file"
    elif settings.incident is not None:
        path, origin = settings.incident, f"{config.label}: [plugins.{TABLE}] incident"
    else:
        return None
    try:
        return read_incident(path, request.incident_ref)
    except SourceError as exc:
        raise ConfigError(f"{origin}: {exc}") from None


def read_incident(path: Path, incident_ref: str) -> Incident:
    """Read incident metadata; its ``id`` must be the incident asked for."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(f"incident file {path} not found") from None
    except (OSError, ValueError) as exc:
        raise SourceError(f"incident file {path}: {exc}") from None
    try:
        incident = Incident.from_mapping(data, source=TABLE)
    except (ValueError, TypeError) as exc:
        raise SourceError(f"incident file {path}: {exc}") from None
    if incident.id != incident_ref:
        raise SourceError(f"incident file {path} describes incident {incident.id!r}, not {incident_ref!r}")
    return incident


def read_events(path: Path) -> tuple[list[Event], Gap | None]:
    """Read one JSON Lines file; return its events and a gap counting skipped lines."""
    try:
        # Bytes, split on b"\n" only: U+2028 or a lone "\r" inside a JSON string never
        # breaks a line, orjson checks UTF-8 line by line (a bad line is skipped, not the
        # file), and no decoding pass over the whole file. Streaming keeps memory flat.
        handle = path.open("rb")
    except FileNotFoundError:
        raise SourceError(f"event file {path} not found") from None
    except OSError as exc:
        raise SourceError(f"event file {path}: {exc}") from None
    events: list[Event] = []
    with handle:
        try:
            if handle.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:  # tolerate a BOM
                handle.seek(0)
            gap = _parse_lines(path, handle, events)
        except OSError as exc:
            raise SourceError(f"event file {path}: {exc}") from None
    return events, gap


_LONG_ID, _LONG_SOURCE = MAX_LENGTH["native_id"], MAX_LENGTH["source"]
_LONG_ACTOR, _LONG_SERVICE = MAX_LENGTH["actor"], MAX_LENGTH["service"]
_DEEP = 2 * MAX_DETAILS_DEPTH  # a line shorter than this cannot nest deeper
_BACKSLASH = ord("\\")
_fromisoformat = datetime.fromisoformat
#: Kinds whose word may add to the details (see :func:`_details`).
_WORDED = frozenset({EventKind.RESPONSE, EventKind.MESSAGE})


def _parse_lines(path: Path, lines: Iterable[bytes], events: list[Event]) -> Gap | None:
    """Parse JSON Lines into ``events``; the hot loop of the file source. One bad line is
    skipped with its reason, whatever it is: it never drops the file.

    orjson parses strict JSON (RFC 8259) about 2.5× faster than the ``json`` module
    (bench/bench_build.py): ``NaN`` is refused, and integers beyond 64 bits become floats.
    """
    skipped = 0
    first_problem = ""
    append = events.append
    for number, line in enumerate(lines, start=1):
        if not line or line.isspace():
            continue
        try:
            append(_event_of(line))
        except KeyError as exc:
            skipped += 1
            first_problem = first_problem or f"line {number}: unknown kind or missing field {exc}"
        except orjson.JSONDecodeError as exc:  # its own "line 1" would be this line's
            skipped += 1
            first_problem = first_problem or f"line {number}, column {exc.colno}: not JSON ({exc.msg})"
        except (ValueError, TypeError, AttributeError, ArithmeticError, RecursionError) as exc:
            skipped += 1
            first_problem = first_problem or f"line {number}: {exc}"
    if skipped:
        return Gap(NAME, "collect", "skipped", f"{path.name}: {skipped} line(s) skipped ({first_problem})", skipped)
    return None


def _event_of(line: bytes) -> Event:
    """The event one line holds; the common case inline (100,000 lines: a call costs), the
    rare ones in :func:`_timestamp`, :func:`_details` and :func:`_problem`.

    :raises ValueError: (or KeyError, TypeError …) the line is not a valid event.
    """
    record = orjson.loads(line)
    if type(record) is not dict:
        raise ValueError("not a JSON object")
    at = _fromisoformat(record["at"])
    if at.tzinfo is not UTC or not EARLIEST <= at < LATEST:  # "Z", "+00:00": the UTC singleton
        at = _timestamp(at, record["at"])
    word = record["kind"]
    kind = KIND_ALIASES.get(word) or KIND_ALIASES[word.lower()]
    summary = record["summary"]
    if type(summary) is not str:
        raise ValueError("'summary' is not a string")
    native_id = record.get("id")
    if native_id is None:
        native_id = stable_id(line.strip().decode())
    elif type(native_id) is not str:
        if type(native_id) not in (int, float):
            raise ValueError(f"'id' is {type(native_id).__name__}, not a string or a number")
        native_id = str(native_id)
    details = record.get("details") or {}
    if type(details) is not dict or kind in _WORDED:
        details = _details(details, kind, word)
    source = record.get("source") or TABLE
    if type(source) is not str or ":" in source:
        raise ValueError(f"'source' {source!r} must be a string without ':'")
    actor = record.get("actor")
    if actor is not None and type(actor) is not str:
        actor = str(actor)
    service = record.get("service")
    if service is not None and type(service) is not str:
        service = str(service)
    link = record.get("link")
    if len(record) > 3 and not _KNOWN.issuperset(record):
        raise ValueError(f"unknown field(s) {', '.join(sorted(set(record) - _KNOWN))}")
    # Positional arguments, in Event's field order: measurably faster than keywords.
    link = link if link is None or type(link) is str else str(link)
    event = Event(at, source, kind, summary, native_id, actor, service, link, details)
    # What orjson lets through and the engine would drop (an escaped NUL, text longer than
    # the store's columns, deep nesting) is rare: only such lines are checked in full.
    if (
        (_BACKSLASH in line and b"\\u0000" in line)  # the byte first: several times faster
        or len(native_id) > _LONG_ID
        or len(source) > _LONG_SOURCE
        or (actor is not None and len(actor) > _LONG_ACTOR)
        or (service is not None and len(service) > _LONG_SERVICE)
        or (len(line) > _DEEP and line.count(b"{") + line.count(b"[") > MAX_DETAILS_DEPTH)
    ):
        _problem(event)
    return event


def _problem(event: Event) -> None:
    """:raises ValueError: ``event`` breaks one of the engine's rules (named as the file
    names its fields)."""
    problem = event_problem(event)
    if problem:
        raise ValueError(problem.replace("'native_id'", "'id'"))


def _timestamp(at: datetime, text: str) -> datetime:
    """``at`` (parsed from ``text``) in UTC: it must have an offset, and be in the range
    retroflow keeps."""
    if at.tzinfo is not UTC:
        if at.utcoffset() is None:
            raise ValueError(f"'at' {text!r} has no UTC offset")
        if not EARLIEST <= at < LATEST:  # before converting, which could overflow
            raise ValueError(time_problem(at))
        at = at.astimezone(UTC)
    if not EARLIEST <= at < LATEST:
        raise ValueError(time_problem(at))
    return at


def _details(details: Any, kind: EventKind, word: str) -> dict[str, Any]:
    """An event's ``details``, with what its kind's word says: ``escalate``, ``assign``
    (responses) are the hand-off the heuristics look for; ``belief`` marks a message as one
    (as the Slack source marks beliefs)."""
    if type(details) is not dict:
        raise ValueError("'details' is not an object")
    if kind is EventKind.RESPONSE and word != "response" and "action" not in details:
        return {**details, "action": word.lower()}
    if kind is EventKind.MESSAGE and word.lower() == BELIEF and "belief" not in details:
        return {**details, "belief": True}
    return details
