"""What tracker sinks share: HTTP failure handling, settings checks, and ticket content.

A tracker sink (Jira, Linear, GitHub, yours) turns retro actions into tickets. Most of what
it does is the same whatever the tracker: wait out rate limits within a budget, tell a
failure that certainly did not reach the tracker from one that may have, describe a failure
without leaking URLs or credentials, read ``owner=user`` maps from its settings, map a score
to a priority, and say the same things in the ticket. This module holds those parts, so
each sink keeps only what is particular to its tracker.

It depends on the standard library and retroflow only: no HTTP client. Transport failures
of ``requests`` (and the ``urllib3`` errors it wraps) are recognised by their class names,
so a sink passes its client's exceptions in as they are.

* :func:`retry_after_seconds`, :func:`backoff`, :class:`RetryBudget`,
  :func:`rate_limit_error`: rate limits;
* :func:`sending`: telling an export that a create request is about to go out;
* :func:`certainly_not_sent`, :func:`describe`, :class:`RequestFailure`,
  :func:`not_sent_after`, :func:`create_each`, :func:`error_text`: failures, and creating
  one by one;
* :func:`check_request_settings`, :func:`looks_like_url`, :func:`parse_owner_map`,
  :class:`SinkBase`: settings;
* :func:`priority_rank`, :func:`priority_name`, :func:`one_line`, :func:`ticket_sections`, :func:`render_sections`,
  :class:`Markup`, :data:`MARKDOWN`: ticket content;
* :func:`json_or_none`, :func:`timestamp_or_none`: reading answers.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from retroflow.errors import ConfigError, TrackerError
from retroflow.logs import redact_text

if TYPE_CHECKING:
    from retroflow.config import Config
    from retroflow.model import ActionItem, Factor, Retro
    from retroflow.roles import TicketDraft, TicketRef, TrackerClient

# The model and the email date parser are imported where used: every tracker sink imports
# this module when it loads, and most commands load every plugin without exporting.

__all__ = [
    "BACKOFF_BASE",
    "ERROR_TEXT_LIMIT",
    "MARKDOWN",
    "PRIORITY_THRESHOLDS",
    "Line",
    "Markup",
    "RequestFailure",
    "RequestSettings",
    "RetryBudget",
    "Section",
    "SinkBase",
    "Span",
    "action_factors",
    "backoff",
    "certainly_not_sent",
    "check_request_settings",
    "create_each",
    "describe",
    "error_text",
    "json_or_none",
    "lazy_exports",
    "looks_like_url",
    "not_sent_after",
    "one_line",
    "parse_owner_map",
    "priority_name",
    "priority_rank",
    "rate_limit_error",
    "render_sections",
    "retry_after_seconds",
    "sending",
    "ticket_sections",
    "timestamp_or_none",
]

T = TypeVar("T")

#: Waits on a rate limit without a ``Retry-After``: 1 s, 2 s, 4 s, ...
BACKOFF_BASE = 1.0
#: Most characters of a tracker's own error text quoted in a message.
ERROR_TEXT_LIMIT = 300
#: Evidence events listed per factor in a ticket (the rest are counted).
EVIDENCE_LIMIT = 10
#: Score thresholds (``impact-math`` values run from about 0.33 to 9), checked in order:
#: a score at or above the n-th threshold has priority rank n (1 is the most urgent); below
#: the last one, ``len(PRIORITY_THRESHOLDS) + 1``.
PRIORITY_THRESHOLDS: tuple[float, ...] = (6.0, 3.0, 1.5)


# --- rate limits --------------------------------------------------------------------------


def retry_after_seconds(value: str | None, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    ``None`` when the header is absent or unreadable; never negative. ``now`` gives the
    current time (aware) for an HTTP date; the default is the system clock.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    current = now() if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def backoff(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (from 0) when the tracker did not say."""
    return float(BACKOFF_BASE * 2**attempt)


class RequestSettings(Protocol):
    """The request settings every sink's table has."""

    @property
    def timeout(self) -> float: ...
    @property
    def max_retry_wait(self) -> float: ...
    @property
    def max_retries(self) -> int: ...


class RetryBudget:
    """The waits on rate limits within one call: at most ``max_retries`` retries and
    ``max_retry_wait`` seconds in all (from ``settings``)."""

    def __init__(self, settings: RequestSettings, sleep: Callable[[float], None]) -> None:
        self._settings = settings
        self._sleep = sleep
        #: Retries made so far (the next one is ``attempt + 1``).
        self.attempt = 0
        #: Seconds waited so far.
        self.waited = 0.0

    def exceeded(self, wait: float) -> bool:
        """Whether waiting ``wait`` more seconds (and retrying) is over the budget."""
        settings = self._settings
        return self.attempt >= settings.max_retries or self.waited + wait > settings.max_retry_wait

    def spend(self, wait: float) -> None:
        """Wait ``wait`` seconds before the next retry (and say it is about to be sent,
        see :func:`sending`)."""
        self._sleep(wait)
        self.waited += wait
        self.attempt += 1
        sending()


_on_sending: ContextVar[Callable[[], None] | None] = ContextVar("retroflow_on_sending", default=None)


def sending() -> None:
    """Say that a request which may create tickets is about to be sent.

    An export counts the tracker's search lag from the moment its create was last sent: a
    ticket created after a long wait must not be searched for as if it were as old as the
    export's claim, or a re-run after a crash creates it again. Call this before each
    request of :meth:`~retroflow.TrackerClient.create` that is sent later than the call
    began: after a wait (:meth:`RetryBudget.spend` calls it), for the next draft or the
    next chunk (:func:`create_each` calls it). Outside an export it does nothing.
    """
    callback = _on_sending.get()
    if callback is not None:
        callback()


@contextlib.contextmanager
def on_sending(callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` for every :func:`sending` in this context (the export wraps its
    ``create`` calls in it). A context variable, so concurrent exports in other threads
    each hear only their own requests."""
    token = _on_sending.set(callback)
    try:
        yield
    finally:
        _on_sending.reset(token)


def rate_limit_error(tracker: str, table: str, what: str, wait: float, budget: float) -> str:
    """The message for a rate limit that asks for a wait over the budget."""
    return (
        f"{tracker} is rate limiting ({what}): asked to wait {wait:g} s, over the "
        f"{budget:g} s budget ([plugins.{table}] max_retry_wait)"
    )


# --- transport failures -------------------------------------------------------------------


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def certainly_not_sent(exc: BaseException) -> bool:
    """Whether a transport failure happened before the request could reach the server.

    A connect timeout or a refused connection (``requests``' ``ConnectTimeout``, or a
    ``ConnectionError`` caused by ``urllib3``'s ``NewConnectionError``) certainly did not
    send it; a read timeout, a dropped connection or anything else may have (ambiguous).
    """
    names = _class_names(exc)
    if "ConnectTimeout" in names:
        return True
    if "Timeout" in names:  # read timeout: the request was sent
        return False
    if "ConnectionError" in names:
        return _new_connection_error(exc) is not None
    return False


def describe(exc: BaseException) -> str:
    """A few words on what went wrong on the wire: never the URL, headers or the
    exception's own text (which can carry both)."""
    names = _class_names(exc)
    if "ConnectTimeout" in names:
        return "connect timeout"
    if "Timeout" in names:
        return "read timeout"
    cause = _new_connection_error(exc)
    if cause is not None and "NameResolutionError" in _class_names(cause):
        return "cannot resolve the host"
    if cause is not None:
        return "connection refused" if "refused" in str(cause).lower() else "cannot connect"
    if "ConnectionError" in names:
        return "connection lost"
    return type(exc).__name__


def error_text(text: str) -> str:
    """A tracker's own error text (its message, the reasons it gives) as a message may
    quote it: secrets masked first, then cut to :data:`ERROR_TEXT_LIMIT` characters, so a
    credential the server echoes never survives, not even the part of it before the cut."""
    return redact_text(text)[:ERROR_TEXT_LIMIT]


def _new_connection_error(exc: BaseException) -> BaseException | None:
    """``requests`` wraps a refused connection as
    ``ConnectionError(MaxRetryError(reason=NewConnectionError))``: find the latter."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        item = pending.pop()
        if id(item) in seen or not isinstance(item, BaseException):
            continue
        seen.add(id(item))
        if "NewConnectionError" in _class_names(item):
            return item
        pending.extend(item.args)
        pending.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
    return None


class RequestFailure(TrackerError):
    """A :class:`TrackerError` that knows whether it is about the whole call (credentials,
    address, rate limit, transport: the next draft would fail the same way) or about one
    draft (the tracker rejected what it says)."""

    def __init__(
        self, message: str, *, whole_call: bool, ambiguous: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message, ambiguous=ambiguous, retry_after=retry_after)
        self.whole_call = whole_call


def create_each(
    drafts: Sequence[TicketDraft], create_one: Callable[[TicketDraft], TicketRef]
) -> list[TicketRef | TrackerError]:
    """``create`` for a tracker without bulk create: ``create_one`` per draft, results in
    order.

    ``create_one`` raises :class:`RequestFailure`. A certain failure of the first draft
    that is about the whole call is raised (as a plain :class:`TrackerError`, with no
    exception context); otherwise every failure is reported for its draft, and after an
    ambiguous one or one about the whole call the drafts not yet sent get
    :func:`not_sent_after` (the next request would most likely fail the same way).
    """
    results: list[TicketRef | TrackerError] = []
    stop: RequestFailure | None = None
    for index, draft in enumerate(drafts):
        if stop is not None:
            results.append(not_sent_after(stop))
            continue
        if index:
            sending()
        try:
            ref = create_one(draft)
        except RequestFailure as exc:
            failure: RequestFailure | None = exc
        else:
            failure = None
        if failure is None:
            results.append(ref)
            continue
        # Raised here, outside the except block, so it carries no exception context.
        if index == 0 and failure.whole_call and not failure.ambiguous:
            raise TrackerError(str(failure), retry_after=failure.retry_after)
        results.append(TrackerError(str(failure), ambiguous=failure.ambiguous, retry_after=failure.retry_after))
        if failure.whole_call or failure.ambiguous:
            stop = failure
    return results


def not_sent_after(cause: TrackerError) -> TrackerError:
    """The error for a draft not sent because an earlier request of the call failed."""
    return TrackerError(f"not sent after an earlier failure: {cause}", retry_after=cause.retry_after)


# --- reading answers ----------------------------------------------------------------------


class _HasJson(Protocol):
    def json(self) -> Any: ...


def json_or_none(response: _HasJson) -> Any:
    """The decoded JSON of a response (anything with ``.json()``), or ``None`` when the body
    is empty or not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def timestamp_or_none(value: Any) -> datetime | None:
    """An ISO 8601 time from a tracker's answer as an aware UTC datetime, or ``None`` when
    it is missing or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        from retroflow.model import parse_timestamp

        return parse_timestamp(value)
    except ValueError:
        return None


# --- settings -----------------------------------------------------------------------------


def check_request_settings(settings: RequestSettings, where: str) -> None:
    """Raise :class:`ConfigError` unless ``timeout`` is positive and ``max_retry_wait`` and
    ``max_retries`` are not negative."""
    if settings.max_retry_wait < 0 or settings.max_retries < 0 or settings.timeout <= 0:
        raise ConfigError(f"{where}: timeout must be positive, max_retry_wait and max_retries not negative")


def looks_like_url(text: str) -> bool:
    """Whether ``text`` starts like an ``http(s)://host`` URL."""
    return re.match(r"https?://[^/\s]+", text) is not None


def parse_owner_map(entries: Sequence[str], where: str, *, user: str = "id", key: str = "assignees") -> dict[str, str]:
    """``"owner=user"`` entries as a map from an action's owner to a tracker user.

    ``user`` names the value in the error (``"login"``, ``"userId"``); ``key`` is the
    setting's name. Raises :class:`ConfigError` naming the entry when one is malformed.
    """
    mapping: dict[str, str] = {}
    for i, entry in enumerate(entries):
        owner, sep, value = entry.partition("=")
        if not sep or not owner.strip() or not value.strip():
            raise ConfigError(f'{where} {key}[{i}]: expected "owner={user}", got {entry!r}')
        mapping[owner.strip()] = value.strip()
    return mapping


def _now() -> datetime:
    return datetime.now(UTC)


def _import_object(path: str) -> Any:
    """``"package.module:name"`` → that object, importing the module."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def lazy_exports(module: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each of ``exports`` (name → ``"module:name"``)
    when it is first asked for: ``__getattr__ = lazy_exports(__name__, {"AcmeClient":
    AcmeSink.client})`` keeps ``from acme_plugin import AcmeClient`` working while loading
    the plugin imports no HTTP library."""

    def __getattr__(name: str) -> Any:
        path = exports.get(name)
        if path is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        return _import_object(path)

    return __getattr__


class SinkBase:
    """A base for tracker sinks: injectable ``sleep`` and ``clock`` (so tests never wait
    for real), the sink's settings table read in :meth:`configured`, and :meth:`open`.

    Set ``name`` (also the settings table), ``required`` (the keys a configuration needs,
    as words for the error, e.g. ``"repo and token"``) and ``client``.
    """

    name: str
    required: str
    #: The client class as ``"package.module:Class"``, constructed by :meth:`open` as
    #: ``Class(settings, where=..., sleep=..., clock=...)``. It is imported when a sink is
    #: first opened: every command loads every plugin, and an HTTP client library costs
    #: about 0.1 s to import.
    client: str

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._sleep = sleep
        self._clock = clock

    def configured(self, config: Config) -> tuple[Any, str]:
        """The validated settings of ``[plugins.<name>]`` and where they are (for messages);
        raises :class:`ConfigError` when the table is not configured."""
        settings = config.settings_for(self.name)
        where = f"{config.label}: [plugins.{self.name}]"
        if settings is None:
            raise ConfigError(f"{where} is not configured: {self.required} are required")
        return settings, where

    def open(self, config: Config) -> TrackerClient:
        """A client for the configured tracker (see :attr:`client`)."""
        settings, where = self.configured(config)
        client_class = _import_object(self.client)
        client: TrackerClient = client_class(settings, where=where, sleep=self._sleep, clock=self._clock)
        return client


# --- ticket content -----------------------------------------------------------------------


def priority_rank(action: ActionItem) -> int | None:
    """The priority rank of the action's score: 1 (most urgent) to
    ``len(PRIORITY_THRESHOLDS) + 1``, or ``None`` when it has no score."""
    if action.score is None:
        return None
    for rank, threshold in enumerate(PRIORITY_THRESHOLDS, start=1):
        if action.score.value >= threshold:
            return rank
    return len(PRIORITY_THRESHOLDS) + 1


def priority_name(action: ActionItem, names: Sequence[T]) -> T | None:
    """The tracker's name for the action's :func:`priority_rank`: ``names[rank - 1]``
    (``names`` most urgent first, one per rank), or ``None`` when it has no score."""
    rank = priority_rank(action)
    return None if rank is None else names[rank - 1]


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (whitespace runs become one space), cut to ``limit``
    characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def action_factors(action: ActionItem, retro: Retro) -> list[Factor]:
    """The retro's factors the action answers, in the action's order."""
    by_key = {factor.key: factor for factor in retro.factors}
    return [by_key[key] for key in action.factors if key in by_key]


@dataclass(frozen=True)
class Span:
    """A run of text in a ticket line.

    ``kind``: ``"text"`` (from the retro: the markup escapes it), ``"raw"`` (written as
    is: fixed words, times, numbers), ``"strong"`` (escaped, emphasised), ``"code"`` (an
    id, as code) or ``"link"`` (escaped text linking to ``url``).
    """

    text: str
    kind: Literal["text", "raw", "strong", "code", "link"] = "text"
    url: str = ""


@dataclass(frozen=True)
class Line:
    """A line of a section: a paragraph (``depth`` 0) or a list item (1, nested: 2)."""

    spans: tuple[Span, ...]
    depth: int = 0


@dataclass(frozen=True)
class Section:
    """A titled part of a ticket's description."""

    title: str
    lines: tuple[Line, ...]


def _raw(text: str) -> Span:
    return Span(text, "raw")


def ticket_sections(draft: TicketDraft, *, priority: str | None = None) -> list[Section]:
    """What every sink's ticket says, independent of markup: the change, the factors it
    answers with their evidence (at most :data:`EVIDENCE_LIMIT` events each), how to verify
    it, the score and why, the details (category, effort, owner, due date), and links to
    the incident and the retro.

    ``priority``: the tracker's name for the action's priority, to lead the priority line
    with; without it the line starts with "Score".
    """
    from retroflow.model import format_timestamp

    action, retro = draft.action, draft.retro
    incident = retro.incident
    sections = [Section("The change", (Line((Span(action.change or action.title),)),))]
    factors = action_factors(action, retro)
    if factors:
        events = retro.timeline.index
        lines: list[Line] = []
        for factor in factors:
            lines.append(
                Line((Span(factor.title, "strong"), _raw(f" ({factor.layer}): "), Span(factor.explanation)), depth=1)
            )
            for event_id in factor.evidence[:EVIDENCE_LIMIT]:
                event = events.get(event_id)
                if event is None:
                    lines.append(Line((_raw("evidence "), Span(event_id, "code")), depth=2))
                    continue
                spans = [_raw(f"{format_timestamp(event.at)} — "), Span(event.summary)]
                if event.link:
                    spans += [_raw(" ("), Span("source", "link", event.link), _raw(")")]
                lines.append(Line(tuple(spans), depth=2))
            if len(factor.evidence) > EVIDENCE_LIMIT:
                lines.append(Line((_raw(f"and {len(factor.evidence) - EVIDENCE_LIMIT} more events"),), depth=2))
        sections.append(Section("Why: the conditions it answers", tuple(lines)))
    if action.verify is not None:
        verify = action.verify
        spans = [Span(verify.metric)]
        if verify.service:
            spans += [_raw(" on "), Span(verify.service)]
        if verify.target:
            spans += [_raw(": target "), Span(verify.target)]
        sections.append(Section("How to verify", (Line(tuple(spans)),)))
    if action.score is not None:
        score = action.score
        lead = (
            [Span(priority, "strong"), _raw(f" — score {score.value:g} (")]
            if priority
            else [_raw(f"Score {score.value:g} (")]
        )
        spans = [*lead, Span(score.model), _raw("): "), Span(score.explanation)]
        sections.append(Section("Priority", (Line(tuple(spans)),)))
    facts: list[Line] = []
    if action.category is not None:
        facts.append(Line((_raw(f"Category: {action.category}"),), depth=1))
    if action.effort is not None:
        facts.append(Line((_raw(f"Effort: {action.effort}"),), depth=1))
    if action.owner:
        facts.append(Line((_raw("Owner: "), Span(action.owner)), depth=1))
    if action.due is not None:
        facts.append(Line((_raw(f"Due: {action.due.isoformat()}"),), depth=1))
    if facts:
        sections.append(Section("Details", tuple(facts)))
    name = f"Incident {incident.id}" + (f": {incident.title}" if incident.title else "")
    links = [Line((Span(name, "link", incident.links[0]) if incident.links else Span(name),), depth=1)]
    if draft.retro_url:
        links.append(Line((Span("Retrospective", "link", draft.retro_url),), depth=1))
    sections.append(Section("Links", tuple(links)))
    return sections


class Markup:
    """How a tracker writes rich text; :func:`render_sections` calls these.

    Subclass it for a markup language; :data:`MARKDOWN` is GitHub-flavoured Markdown.
    """

    def escape(self, text: str) -> str:
        """Text from the retro, escaped so it cannot turn into markup."""
        raise NotImplementedError

    def strong(self, escaped: str) -> str:
        raise NotImplementedError

    def code(self, text: str) -> str:
        raise NotImplementedError

    def link(self, escaped: str, url: str) -> str:
        raise NotImplementedError

    def heading(self, title: str) -> list[str]:
        """The lines that open a section."""
        raise NotImplementedError

    def item(self, text: str, depth: int) -> str:
        """A line at ``depth``: 0 a paragraph, 1 a list item, 2 a nested one."""
        raise NotImplementedError

    def span(self, span: Span) -> str:
        if span.kind == "raw":
            return span.text
        if span.kind == "code":
            return self.code(span.text)
        if span.kind == "strong":
            return self.strong(self.escape(span.text))
        if span.kind == "link":
            return self.link(self.escape(span.text), span.url)
        return self.escape(span.text)


def render_sections(sections: Sequence[Section], markup: Markup) -> list[str]:
    """The lines of ``sections`` in ``markup``, each section followed by a blank line."""
    lines: list[str] = []
    for section in sections:
        lines += markup.heading(section.title)
        lines += [markup.item("".join(markup.span(s) for s in line.spans), line.depth) for line in section.lines]
        lines.append("")
    return lines


class _Markdown(Markup):
    _SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")

    def escape(self, text: str) -> str:
        """Markdown and HTML characters escaped, whitespace runs made one space (so retro
        text can neither become markup nor close an HTML comment)."""
        return self._SPECIAL.sub(r"\\\1", " ".join(text.split()))

    def strong(self, escaped: str) -> str:
        return f"**{escaped}**"

    def code(self, text: str) -> str:
        return f"`{text}`"

    def link(self, escaped: str, url: str) -> str:
        return f"[{escaped}](<{url}>)"

    def heading(self, title: str) -> list[str]:
        return [f"### {title}", ""]

    def item(self, text: str, depth: int) -> str:
        return "  " * (depth - 1) + "- " + text if depth else text


#: GitHub-flavoured Markdown (GitHub, Linear).
MARKDOWN: Markup = _Markdown()
