"""The parts of :mod:`retroflow.sources` a source uses when it runs, imported then (through
:mod:`retroflow.sources`, which exports them), not when its plugin loads: the attrs classes
and the HTTP client base cost ``retroflow --help``, which loads every plugin, a few
milliseconds each.

* :class:`ChangeWindow`, :func:`change_window`: the time a change source reads in;
  :class:`OpenWindow`: the time a source reads around an incident, open where unknown;
* :class:`HttpSourceSettings`: the request settings of a source that reads an HTTP API;
  :func:`parsed_by`: a settings check by the parser that later reads the value;
  :func:`service_entries`: a setting's ``"service=…"`` entries, read;
* :class:`SourceApi`: a base for the ``requests`` client of such a source;
* :class:`RecordRef`, :func:`check_saved_record`, :func:`read_record`: the record (an
  alert, an incident) a first-round source is asked for, by id or by number.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar

import attrs

from retroflow.clock import utcnow
from retroflow.config import not_negative, positive
from retroflow.errors import SourceError
from retroflow.http import ERROR_TEXT_LIMIT, SourceClient, asked_or_backoff, json_or_none
from retroflow.sources import open_ended_window

if TYPE_CHECKING:
    from retroflow.model import Incident, Timeline

__all__ = [
    "ChangeWindow",
    "HttpSourceSettings",
    "OpenWindow",
    "RecordRef",
    "SourceApi",
    "change_window",
    "check_saved_record",
    "parsed_by",
    "read_record",
    "service_entries",
]

_T = TypeVar("_T")


@attrs.frozen
class ChangeWindow:
    """The time a change source (commits, deploys) reads in, both ends included."""

    since: datetime
    until: datetime

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.since <= moment <= self.until

    def __str__(self) -> str:
        from retroflow.model import format_timestamp

        return f"{format_timestamp(self.since)} – {format_timestamp(self.until)}"


def change_window(incident: Incident, timeline: Timeline, hours: float, now: datetime) -> ChangeWindow | None:
    """From ``hours`` before the incident began (its first moment on the timeline, or its
    creation if earlier) until it resolved (``now`` if it has not); ``None`` when nothing
    says when it began. The window the change sources (retroflow-git, GitHub deploys) read."""
    known = [moment for moment in (timeline.moments.start, incident.created) if moment is not None]
    if not known:
        return None
    began = min(known)
    ended = timeline.moments.resolve or incident.resolved or now
    return ChangeWindow(since=began - timedelta(hours=hours), until=max(began, ended))


@attrs.frozen
class OpenWindow:
    """The time a source reads around an incident, open (``None``) at an end whose time is
    unknown: a source that can read everything there is (a folder of files, a chat channel)
    then reads all of that side. Subclass it (``@attrs.frozen``) for what the source does
    with it."""

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def around(cls, incident: Incident, before_minutes: float, after_minutes: float) -> Self:
        """From ``before_minutes`` before the incident was created to ``after_minutes``
        after it was resolved (:func:`~retroflow.sources.open_ended_window`)."""
        return cls(*open_ended_window(incident, before_minutes, after_minutes))

    @property
    def known(self) -> bool:
        """Whether an end is known (when neither is, the window is all time)."""
        return self.start is not None or self.end is not None


@attrs.frozen
class HttpSourceSettings:
    """A base for the settings of a timeline source that reads an HTTP API: subclass it
    (``@attrs.frozen``) and add the source's own keys; these come first.

    :ivar timeout: seconds the whole source may take (default: ``[retroflow] source_timeout``).
    :ivar request_timeout: seconds one HTTP request may take.
    :ivar max_retries: how many times a request answered with 429 or 5xx, or lost on the
        network, is tried again.
    :ivar max_retry_wait: the most seconds spent waiting between tries of one request, in all.
    """

    timeout: float | None = attrs.field(default=None, validator=positive)
    request_timeout: float = attrs.field(default=10.0, validator=positive)
    max_retries: int = attrs.field(default=4, validator=not_negative)
    max_retry_wait: float = attrs.field(default=60.0, validator=not_negative)


def parsed_by(parse: Callable[[Any], object]) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """A settings check (``attrs.field(validator=parsed_by(ServiceMap.parse))``): the value
    is one ``parse``, which reads it when the source runs, accepts; its ``ValueError`` (naming
    the entry) says why not, when the settings are read."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        parse(value)

    return check


def service_entries(
    entries: Iterable[str], setting: str, expected: str, read: Callable[[str], _T | None]
) -> list[tuple[str, _T]]:
    """The ``"service=…"`` entries of the setting ``setting`` (which tags, teams, monitors
    or datasets belong to which retroflow service) as ``(service, read(rest))`` pairs, in
    their order. ``read`` gives ``None`` for a rest that is not of the form ``expected``
    describes (``'"service=tag:value"'``), or raises ``ValueError`` saying what is wrong.

    :raises ValueError: naming the entry: ``services[2]: expected "service=tag:value",
        got 'payments'``, or ``services[2]:`` and what ``read`` said.
    """
    pairs = []
    for i, entry in enumerate(entries):
        service, sep, rest = (part.strip() for part in entry.partition("="))
        try:
            found = read(rest) if sep and service and rest else None
        except ValueError as exc:
            raise ValueError(f"{setting}[{i}]: {exc}") from None
        if found is None:
            raise ValueError(f"{setting}[{i}]: expected {expected}, got {entry!r}")
        pairs.append((service, found))
    return pairs


class SourceApi(SourceClient[Any]):
    """A base for the ``requests`` client of a source that reads one HTTP API: its
    ``settings`` (:class:`HttpSourceSettings`), one session carrying a JSON ``Accept``, a
    ``retroflow-<table>`` ``User-Agent`` and the credentials, GETs retried within the
    settings' budget (:class:`retroflow.http.SourceClient`), and refusals told in the
    server's own words, never with the credentials.

    Subclass it with ``service`` (the server's name in messages) and ``table``, define
    :meth:`credentials`, and override :meth:`said` and :meth:`hint` (and :meth:`wait`,
    ``place``, ``not_found``) where the API needs it. The plugin depends on ``requests``
    (retroflow does not): it is imported when a client is made.

    :param session: a ``requests.Session`` (tests pass one ``responses`` serves).
    :param sleep: how to wait before trying again (tests pass a recorder).
    :param clock: the current time, for ``Retry-After`` dates.
    """

    table: ClassVar[str]
    #: Raised for a 404 (``None``: a 404 is refused like any other status).
    not_found: ClassVar[type[SourceError] | None] = None

    def __init__(
        self,
        settings: Any,
        *,
        session: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        import requests  # the plugin's dependency, not retroflow's

        self.settings = settings
        opened = session or requests.Session()
        headers = {"Accept": "application/json", "User-Agent": f"retroflow-{self.table}", **self.credentials(opened)}
        super().__init__(
            self.service,
            self.table,
            settings,
            session=opened,
            headers=headers,
            sleep=sleep,
            clock=clock,
            transport_errors=(requests.RequestException,),
            wait=self.wait,
            place=self.place,
        )

    @property
    def service(self) -> str:
        """The server's name in messages (``"Datadog"``)."""
        raise NotImplementedError

    @property
    def place(self) -> str:
        """Where the server is, for "unreachable" messages (``""``: not said)."""
        return ""

    def credentials(self, session: Any) -> Mapping[str, str]:
        """The headers that carry the credentials (or set them on ``session``, as basic
        auth), from ``self.settings``.

        :raises SourceError: they are not set (naming the settings).
        """
        raise NotImplementedError

    def wait(self, response: Any, attempt: int) -> float:
        """Seconds to wait after a 429 or 5xx: ``Retry-After``, else back-off."""
        return asked_or_backoff(response.headers, attempt, self._clock)

    def get_json(self, url: str, *, what: str, params: Mapping[str, Any] | None = None) -> Any:
        """The decoded JSON of ``GET url`` (``None``: empty or not JSON); 429, 5xx and
        network failures are tried again within the budget.

        :raises SourceError: ``not_found`` for a 404 when the class names one; else
            refused (:meth:`refusal`), or still failing when the budget is spent.
        """
        response = self.send_get(url, params=params, what=what)
        if response.status_code < 300:
            return json_or_none(response)
        if response.status_code == 404 and self.not_found is not None:
            raise self.not_found(f"{what}: not found (HTTP 404)")
        raise SourceError(self.refusal(response, what))

    def refusal(self, response: Any, what: str) -> str:
        """A refused request in words: the status, what the server said (:meth:`said`,
        never headers, so never the credentials) and, after 401 or 403, :meth:`hint`."""
        status = response.status_code
        said = self.said(json_or_none(response))[:ERROR_TEXT_LIMIT]
        refused = f"{self.service} refused {what} (HTTP {status})" + (f": {said}" if said else "")
        return f"{refused}: {self.hint(status)}" if status in (401, 403) else refused

    def said(self, body: Any) -> str:
        """The server's own words in the decoded JSON ``body`` of a refusal (``""``: none)."""
        return ""

    def hint(self, status: int) -> str:
        """What to check after a 401 or 403: the settings, never their values."""
        return f"check [plugins.{self.table}]"


@attrs.frozen
class RecordRef:
    """A reference to the record a retro is asked for (an alert, an incident): its id, or,
    ``by_number``, the short number people say (``#1791``).

    Subclass it for a tool's references and parse them with :meth:`first_match`.
    """

    value: str
    by_number: bool = False

    def __str__(self) -> str:
        return f"#{self.value}" if self.by_number else self.value

    @classmethod
    def first_match(cls, text: str, patterns: Iterable[tuple[re.Pattern[str], bool]]) -> Self | None:
        """The reference the first of ``patterns`` that matches ``text`` (stripped) gives:
        its first group (the whole text when it has none), by number when its flag says
        so; ``None`` when none matches."""
        text = text.strip()
        for pattern, by_number in patterns:
            if match := pattern.match(text):
                return cls(match.group(1) if pattern.groups else text, by_number)
        return None


def check_saved_record(
    record: Mapping[str, Any], asked: str, ref: RecordRef | None, *, names: Iterable[str], number: str, saved: str
) -> None:
    """Saved replies describe one record: refuse to pass them off as another.

    ``asked`` (the reference the retro is asked for; ``ref``, its parse) must be the value
    of one of the record's ``names`` keys (its id, its URL) or its ``number`` (``1791`` or
    ``#1791``), or parse to one of them.

    :raises SourceError: it is not (``saved`` says whose replies are where: ``"saved JSM
        replies in DIR are for alert"``).
    """
    known = {str(record[key]) for key in names if record.get(key)}
    if isinstance(record.get(number), int | str) and record[number] != "":
        known |= {str(record[number]), f"#{record[number]}"}
    if asked.strip() in known or (ref is not None and ref.value in known):
        return
    raise SourceError(f"{saved} {record.get('id')} (#{record.get(number)}), not {asked!r}")


class _Closing(Protocol):
    def close(self) -> None: ...


def read_record(client: _Closing, read: Callable[[], _T], not_found: type[Exception], missing: str) -> _T:
    """What ``read()`` reads through ``client``, which is closed afterwards.

    :raises SourceError: ``read`` raised ``not_found`` (``missing`` says what is missing
        and where it was looked for).
    """
    try:
        return read()
    except not_found:
        raise SourceError(missing) from None
    finally:
        client.close()
