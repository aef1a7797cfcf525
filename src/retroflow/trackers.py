"""What tracker sinks share besides HTTP: creating one by one, settings, and ticket content.

A tracker sink (Jira, Linear, GitHub, yours) turns retro actions into tickets. Most of what
it does is the same whatever the tracker: tell a failure about the whole call from one about
a draft, read ``owner=user`` maps from its settings, map a score to a priority, and say the
same things in the ticket. This module holds those parts; waiting out rate limits, reading
``Retry-After`` and describing transport failures live in :mod:`retroflow.http`, which the
sources share too. Each sink keeps only what is particular to its tracker.

* :class:`RequestFailure`, :func:`not_sent_after`, :func:`create_each`: failures, and
  creating one by one; :func:`statuses_in_order`: reading states back;
* :class:`TrackerSettings`, :func:`parse_owner_map`, :class:`SinkBase`,
  :class:`ClientBase`, :func:`sink_hooks`, :func:`lazy_exports`: settings and loading;
* :func:`priority_rank`, :func:`priority_name`, :func:`one_line`, :func:`ticket_sections`,
  :func:`render_sections`, :class:`Markup`, :data:`MARKDOWN`: ticket content.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import attrs

from retroflow import hookimpl
from retroflow.clock import utcnow
from retroflow.errors import ConfigError, TrackerError
from retroflow.http import RequestSettings, check_request_settings, sending
from retroflow.lazy import import_object, lazy_exports
from retroflow.logs import get_logger

if TYPE_CHECKING:
    from retroflow.config import Config
    from retroflow.model import ActionItem, Factor, Retro
    from retroflow.roles import TicketDraft, TicketRef, TicketStatus, TrackerClient

# The model is imported where used: every tracker sink imports this module when it loads,
# and most commands load every plugin without exporting.

__all__ = [
    "MARKDOWN",
    "PRIORITY_THRESHOLDS",
    "ClientBase",
    "Line",
    "Markup",
    "RequestFailure",
    "Section",
    "SinkBase",
    "Span",
    "TrackerSettings",
    "action_factors",
    "create_each",
    "lazy_exports",
    "not_sent_after",
    "one_line",
    "parse_owner_map",
    "priority_name",
    "priority_rank",
    "render_sections",
    "sink_hooks",
    "statuses_in_order",
    "ticket_sections",
]

T = TypeVar("T")

log = get_logger(__name__)

#: Evidence events listed per factor in a ticket (the rest are counted).
EVIDENCE_LIMIT = 10
#: Score thresholds (``impact-math`` values run from about 0.33 to 9), checked in order:
#: a score at or above the n-th threshold has priority rank n (1 is the most urgent); below
#: the last one, ``len(PRIORITY_THRESHOLDS) + 1``.
PRIORITY_THRESHOLDS: tuple[float, ...] = (6.0, 3.0, 1.5)


# --- failures -----------------------------------------------------------------------------


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


def statuses_in_order(
    refs: Sequence[TicketRef],
    found: Mapping[str, T],
    status_of: Callable[[TicketRef, T], TicketStatus],
    *,
    sink: str,
) -> list[TicketStatus]:
    """``status`` from what the tracker answered: one status per ref, in order,
    ``status_of(ref, found[ref.external_id])``, or ``missing`` (and a warning in the log) for
    a ticket the answer does not hold: deleted, moved out of sight, or no longer visible to
    the account."""
    from retroflow.roles import TicketStatus

    statuses = []
    for ref in refs:
        ticket = found.get(ref.external_id)
        if ticket is None:
            log.warning(f"{sink} ticket not found for status", ticket=ref.external_id)
            statuses.append(TicketStatus(ref=ref, state="missing", changed_at=None))
        else:
            statuses.append(status_of(ref, ticket))
    return statuses


# --- settings -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TrackerSettings:
    """The request settings every tracker sink's table has (a
    :class:`~retroflow.http.RequestSettings`); a sink's settings class extends it with the
    keys of its own tracker (``@attrs.frozen class AcmeSettings(TrackerSettings): ...``).
    They are keyword-only, so the subclass's required keys may follow them.

    :ivar timeout: seconds to wait for the tracker to answer one request.
    :ivar max_retry_wait: most seconds spent waiting on rate limits in one call; a longer
        wait (``Retry-After``, a reset time) fails the call with ``retry_after`` set instead.
    :ivar max_retries: most retries of one request after a rate limit.
    """

    timeout: float = 30.0
    max_retry_wait: float = 60.0
    max_retries: int = 3


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


S = TypeVar("S", bound=RequestSettings)


class ClientBase(Generic[S]):
    """A base for a sink's client: the constructor :meth:`SinkBase.open` calls. It keeps
    the validated ``settings``, ``where`` they are (for messages), the injectable ``sleep``
    and ``clock``, checks the request settings (:func:`check_request_settings`), and calls
    :meth:`setup` with ``session`` (tests pass one a fake serves; ``None``: a new one)."""

    def __init__(
        self,
        settings: S,
        *,
        where: str,
        sleep: Callable[[float], None],
        clock: Callable[[], datetime],
        session: Any = None,
    ) -> None:
        self.settings = settings
        self._where = where
        self._sleep = sleep
        self._clock = clock
        check_request_settings(settings, where)
        self.setup(session)

    def setup(self, session: Any) -> None:
        """Check the tracker's own settings (a :class:`ConfigError` naming the key) and
        open the connection."""
        raise NotImplementedError


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
        clock: Callable[[], datetime] = utcnow,
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
        client_class = import_object(self.client)
        client: TrackerClient = client_class(settings, where=where, sleep=self._sleep, clock=self._clock)
        return client


def sink_hooks(
    sink: type[SinkBase], settings: type[Any]
) -> tuple[Callable[[Callable[[str, type[Any]], None]], None], Callable[[Callable[[Any], None]], None]]:
    """The hook implementations of a sink plugin's module: its settings table
    (``[plugins.<sink.name>]``, read into ``settings``) and the sink itself::

        retroflow_register_settings, retroflow_register_tracker_sinks = sink_hooks(AcmeSink, AcmeSettings)
    """

    @hookimpl
    def retroflow_register_settings(register: Callable[[str, type[Any]], None]) -> None:
        register(sink.name, settings)

    @hookimpl
    def retroflow_register_tracker_sinks(register: Callable[[Any], None]) -> None:
        register(sink())

    return retroflow_register_settings, retroflow_register_tracker_sinks


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
    action = draft.action
    sections = [
        Section("The change", (Line((Span(action.change or action.title),)),)),
        _why_section(action, draft.retro),
        _verify_section(action),
        _priority_section(action, priority),
        _details_section(action),
    ]
    return [section for section in sections if section is not None] + [_links_section(draft)]


def _why_section(action: ActionItem, retro: Retro) -> Section | None:
    factors = action_factors(action, retro)
    if not factors:
        return None
    lines: list[Line] = []
    for factor in factors:
        lines.append(
            Line((Span(factor.title, "strong"), _raw(f" ({factor.layer}): "), Span(factor.explanation)), depth=1)
        )
        lines += _evidence_lines(factor, retro)
    return Section("Why: the conditions it answers", tuple(lines))


def _evidence_lines(factor: Factor, retro: Retro) -> list[Line]:
    """A factor's evidence events, at most :data:`EVIDENCE_LIMIT` (the rest counted)."""
    from retroflow.model import format_timestamp

    events = retro.timeline.index
    lines: list[Line] = []
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
    return lines


def _verify_section(action: ActionItem) -> Section | None:
    verify = action.verify
    if verify is None:
        return None
    spans = [Span(verify.metric)]
    if verify.service:
        spans += [_raw(" on "), Span(verify.service)]
    if verify.target:
        spans += [_raw(": target "), Span(verify.target)]
    return Section("How to verify", (Line(tuple(spans)),))


def _priority_section(action: ActionItem, priority: str | None) -> Section | None:
    score = action.score
    if score is None:
        return None
    lead = (
        [Span(priority, "strong"), _raw(f" — score {score.value:g} (")]
        if priority
        else [_raw(f"Score {score.value:g} (")]
    )
    spans = [*lead, Span(score.model), _raw("): "), Span(score.explanation)]
    return Section("Priority", (Line(tuple(spans)),))


def _details_section(action: ActionItem) -> Section | None:
    facts: list[Line] = []
    if action.category is not None:
        facts.append(Line((_raw(f"Category: {action.category}"),), depth=1))
    if action.effort is not None:
        facts.append(Line((_raw(f"Effort: {action.effort}"),), depth=1))
    if action.owner:
        facts.append(Line((_raw("Owner: "), Span(action.owner)), depth=1))
    if action.due is not None:
        facts.append(Line((_raw(f"Due: {action.due.isoformat()}"),), depth=1))
    return Section("Details", tuple(facts)) if facts else None


def _links_section(draft: TicketDraft) -> Section:
    incident = draft.retro.incident
    name = f"Incident {incident.id}" + (f": {incident.title}" if incident.title else "")
    links = [Line((Span(name, "link", incident.links[0]) if incident.links else Span(name),), depth=1)]
    if draft.retro_url:
        links.append(Line((Span("Retrospective", "link", draft.retro_url),), depth=1))
    return Section("Links", tuple(links))


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
