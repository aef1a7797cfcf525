"""What timeline source plugins share: the plugin object's seams, the incident's window, and
records skipped and counted rather than crashing the source.

* :class:`SourcePlugin`: a base for a source plugin object with an injectable ``session``,
  ``sleep`` and ``now`` (tests pass fakes) that registers its settings table, and its
  three kinds, each running :meth:`~SourcePlugin.collect` once configured:
  :class:`NamedIncidentSource` (reads the incident a retro is asked for),
  :class:`AroundIncidentSource` (reads around the incident the others described) and
  :class:`ChangeSource` (reads the changes of :func:`change_window`);
* :func:`incident_window`, :func:`open_ended_window` (:class:`OpenWindow`),
  :func:`change_window`: the time a second-round source reads around an incident;
* :class:`HttpSourceSettings`: the request settings of a source that reads an HTTP API;
  :func:`parsed_by`: a settings check by the parser that later reads the value;
  :func:`service_entries`: a setting's ``"service=…"`` entries, read;
* :class:`SourceApi`: a base for the ``requests`` client of such a source (credentials,
  retries, refusals in the server's words);
* :class:`RecordRef`, :func:`check_saved_record`, :func:`read_record`: the record (an
  alert, an incident) a first-round source is asked for, by id or by number;
* :func:`saved_directory`, :func:`load_saved_reply`, :func:`page_order`: saved API replies
  read instead of the API (setting ``replies``);
* :class:`BadRecord`, :func:`record_time`, :class:`SkippedRecords`, :func:`skipped`:
  unreadable records, skipped and counted as gaps.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from retroflow import hookimpl
from retroflow.clock import utcnow
from retroflow.errors import SourceError
from retroflow.lazy import import_object, lazy_exports

if TYPE_CHECKING:
    from pathlib import Path

    from retroflow.config import Config
    from retroflow.model import Gap, Incident, SourceResult, Timeline
    from retroflow.request import RetroRequest
    from retroflow.source_kit import (
        ChangeWindow,
        HttpSourceSettings,
        OpenWindow,
        RecordRef,
        SourceApi,
        change_window,
        check_saved_record,
        parsed_by,
        read_record,
        service_entries,
    )

# The domain model is imported where it is used: a source plugin's module imports this one
# when it loads, and most commands load every plugin without running any.

__all__ = [
    "AroundIncidentSource",
    "BadRecord",
    "ChangeSource",
    "ChangeWindow",
    "HttpSourceSettings",
    "Margins",
    "NamedIncidentSource",
    "OpenWindow",
    "RecordRef",
    "SkippedRecords",
    "SourceApi",
    "SourcePlugin",
    "Window",
    "change_window",
    "check_saved_record",
    "incident_window",
    "load_saved_reply",
    "open_ended_window",
    "page_order",
    "parsed_by",
    "read_record",
    "record_time",
    "saved_directory",
    "service_entries",
    "settings_class_of",
    "skipped",
]

#: A time range, start first.
Window = tuple[datetime, datetime]


class Margins(Protocol):
    """The settings of a source that reads around the incident."""

    @property
    def before_minutes(self) -> float: ...
    @property
    def after_minutes(self) -> float: ...


def incident_window(incident: Incident, margins: Margins, now: datetime) -> Window | None:
    """From ``before_minutes`` before the incident was created to ``after_minutes`` after it
    was resolved (or ``now``, while it is not); ``None`` when its creation time is unknown."""
    if incident.created is None:
        return None
    start = incident.created - timedelta(minutes=margins.before_minutes)
    end = (incident.resolved or now) + timedelta(minutes=margins.after_minutes)
    return start, max(start, end)


def open_ended_window(
    incident: Incident, before_minutes: float, after_minutes: float
) -> tuple[datetime | None, datetime | None]:
    """From ``before_minutes`` before the incident was created to ``after_minutes`` after it
    was resolved; an end whose time is unknown is ``None`` (open): the window of a source
    that reads everything when it cannot tell (a folder of files, a chat channel)."""
    start = incident.created - timedelta(minutes=before_minutes) if incident.created else None
    end = incident.resolved + timedelta(minutes=after_minutes) if incident.resolved else None
    return start, end


class BadRecord(ValueError):
    """A record a source cannot turn into an event (the message says why): it is skipped
    and counted (:class:`SkippedRecords`), never a crash."""


def record_time(record: Mapping[str, Any], key: str) -> datetime:
    """``record[key]``, an ISO 8601 time with an offset, as an aware UTC datetime.

    :raises BadRecord: it is missing or not such a time.
    """
    value = record.get(key)
    if not isinstance(value, str):
        raise BadRecord(f"missing {key!r}")
    try:
        from retroflow.model import parse_timestamp

        return parse_timestamp(value)
    except ValueError:
        raise BadRecord(f"{key} {value!r} is not an ISO 8601 time with an offset") from None


def saved_directory(directory: Path, service: str, table: str) -> Path:
    """``directory`` of saved API replies (setting ``replies``), checked to be one.

    :raises SourceError: it is not a directory (naming ``[plugins.<table>] replies``).
    """
    if not directory.is_dir():
        raise SourceError(f"saved {service} replies: {directory} is not a directory ([plugins.{table}] replies)")
    return directory


def load_saved_reply(path: Path, service: str) -> Any:
    """A saved API reply: the JSON in ``path``.

    :raises SourceError: the file cannot be read or is not JSON (naming it).
    """
    import json  # here: every source plugin imports this module when it loads

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SourceError(f"saved {service} reply {path}: {exc}") from None


def page_order(path: Path) -> tuple[int, str]:
    """The order of saved pages of one list: by the last number in the file's name
    (``logs.json``, ``logs.2.json``, ``logs.10.json``), then by name."""
    numbers = re.findall(r"\d+", path.stem)
    return (int(numbers[-1]) if numbers else 0, path.name)


def skipped(source: str, reason: str, count: int = 1) -> Gap:
    """A gap of ``source``'s collection: ``count`` things it skipped, and why."""
    from retroflow.model import Gap

    return Gap(source, "collect", "skipped", reason, count)


class SkippedRecords:
    """Records skipped so far, by what they were, with the first reason of each.

    Subclass it with the ``source`` the gaps name (and ``unit``, the word after the count)::

        class Skips(SkippedRecords):
            source = "acme"
    """

    source: ClassVar[str]
    unit: ClassVar[str] = "record(s) "

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.first_reason: dict[str, str] = {}

    def add(self, what: str, reason: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1
        self.first_reason.setdefault(what, reason)

    def gaps(self) -> list[Gap]:
        """One gap per kind of record, in the order of their names."""
        return [
            skipped(self.source, f"{what}: {count} {self.unit}skipped ({self.first_reason[what]})", count)
            for what, count in sorted(self.counts.items())
        ]


def settings_class_of(named: type[Any] | str) -> type[Any]:
    """A settings class, or the one ``"module:Class"`` names (imported now)."""
    if not isinstance(named, str):
        return named
    found: type[Any] = import_object(named)
    return found


class SourcePlugin:
    """A base for a timeline source plugin object: set ``table`` (its name, its settings
    table and the source its gaps name) and ``settings_class`` (the attrs class of
    ``[plugins.<table>]``, with a ``configured`` property), which it registers. The class
    may be named as ``"module:Class"``, imported only when settings are registered, so that
    loading the plugin (``retroflow --help``) does not import its settings.

    :param session: the HTTP session for live requests (tests pass one ``responses``
        serves); ``None``: the client makes its own.
    :param sleep: how to wait before trying again (tests pass a recorder).
    :param now: the current time.
    """

    table: ClassVar[str]
    settings_class: ClassVar[type[Any] | str]

    def __init__(
        self, *, session: Any = None, sleep: Callable[[float], None] = time.sleep, now: Callable[[], datetime] = utcnow
    ) -> None:
        self.__name__ = self.table  # the plugin's name when registered directly (tests, embedding)
        self._session = session
        self._sleep = sleep
        self._now = now

    @hookimpl
    def retroflow_register_settings(self, register: Callable[[str, type[Any]], None]) -> None:
        register(self.table, settings_class_of(self.settings_class))

    def configured(self, config: Config) -> Any:
        """The plugin's settings when its table says enough to run (``settings.configured``),
        else ``None`` (the source then returns ``None``: it does not know the incident)."""
        settings = config.settings_for(self.table)
        return settings if settings is not None and settings.configured else None

    def gap(self, reason: str, count: int = 1) -> Gap:
        """A gap of this source's collection (:func:`skipped`)."""
        return skipped(self.table, reason, count)


class NamedIncidentSource(SourcePlugin):
    """A source of the first round: it reads the incident the retro is asked for
    (``request.incident_ref``), once configured, with :meth:`collect`."""

    @hookimpl
    def retroflow_timeline_source(self, request: RetroRequest, config: Config) -> SourceResult | None:
        settings = self.configured(config)
        return None if settings is None else self.collect(settings, request)

    def collect(self, settings: Any, request: RetroRequest) -> SourceResult | None:
        """What it read with its ``settings`` (``None``: the reference is not its own)."""
        raise NotImplementedError


class AroundIncidentSource(SourcePlugin):
    """A source of the second round: it reads around the incident the first round
    described (its services, its window), once configured, with :meth:`collect`."""

    @hookimpl
    def retroflow_timeline_source(self, config: Config, incident: Incident) -> SourceResult | None:
        settings = self.configured(config)
        return None if settings is None else self.collect(settings, incident)

    def collect(self, settings: Any, incident: Incident) -> SourceResult:
        """What it read with its ``settings`` around ``incident``."""
        raise NotImplementedError


#: Why a change source read nothing: nothing says when the incident began.
_NO_WINDOW = "no source says when the incident began (no first signal, no creation time): no window to read"


class ChangeSource(SourcePlugin):
    """A source of the changes (commits, deploys) made in the :func:`change_window` of
    its settings' ``window_hours``, once configured, with :meth:`collect`; without a window
    it reads nothing and says why in a gap."""

    @hookimpl
    def retroflow_timeline_source(self, config: Config, incident: Incident, timeline: Timeline) -> SourceResult | None:
        settings = self.configured(config)
        if settings is None:
            return None
        from retroflow.source_kit import change_window

        window = change_window(incident, timeline, settings.window_hours, self._now())
        if window is None:
            from retroflow.model import SourceResult

            return SourceResult(gaps=[self.gap(_NO_WINDOW)])
        return self.collect(settings, window, config)

    def collect(self, settings: Any, window: ChangeWindow, config: Config) -> SourceResult:
        """The changes in ``window`` (``config``: for the engine's settings)."""
        raise NotImplementedError


# Imported when first used (what a running source needs, not a loading plugin).
__getattr__ = lazy_exports(__name__, all_of=("retroflow.source_kit",))
