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
  :class:`ClientBase`, :func:`sink_module`, :func:`sink_hooks`, :func:`lazy_exports`:
  settings and loading;
* :func:`priority_rank`, :func:`priority_name`, :func:`one_line`, :func:`ticket_sections`,
  :func:`render_sections`, :class:`Markup`, :data:`MARKDOWN`: ticket content.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from retroflow import hookimpl
from retroflow.clock import utcnow
from retroflow.errors import ConfigError, TrackerError
from retroflow.lazy import import_object, lazy_exports
from retroflow.logs import get_logger

if TYPE_CHECKING:
    from retroflow.config import Config
    from retroflow.http import RequestSettings
    from retroflow.roles import TicketDraft, TicketRef, TicketStatus, TrackerClient
    from retroflow.tickets import (
        MARKDOWN,
        PRIORITY_THRESHOLDS,
        Line,
        Markup,
        Section,
        Span,
        action_factors,
        one_line,
        priority_name,
        priority_rank,
        render_sections,
        ticket_sections,
    )
    from retroflow.tracker_settings import TrackerSettings

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
    "sink_module",
    "statuses_in_order",
    "ticket_sections",
]

T = TypeVar("T")

log = get_logger(__name__)


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
    from retroflow.http import sending  # here: loading a sink imports no HTTP code

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


S = TypeVar("S", bound="RequestSettings")


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
        from retroflow.http import check_request_settings

        check_request_settings(settings, where)
        self.setup(session)

    def setup(self, session: Any) -> None:
        """Check the tracker's own settings (a :class:`ConfigError` naming the key) and
        open the connection."""
        raise NotImplementedError


class SinkBase:
    """A base for tracker sinks: injectable ``sleep`` and ``clock`` (so tests never wait
    for real), the sink's settings table read in :meth:`configured`, and :meth:`open`.

    Set ``name`` (the plugin's name: also its settings table ``[plugins.<name>]``, and what
    ``retroflow export --sink`` takes), ``search_lag``, ``client`` and ``settings_class``;
    ``max_batch`` and ``required`` when the defaults do not fit.
    """

    name: str
    #: The keys a configuration needs, as words for the error (``"repo and token"``); by
    #: default the keys of :attr:`settings_class` that have no default, in their order.
    required: str | None = None
    #: Drafts per call: a tracker without bulk create gets one request per draft
    #: (:func:`create_each`), and a small batch bounds the call.
    max_batch: int = 20
    #: Seconds a new ticket may take to show up in ``find`` (see :class:`~retroflow.TrackerSink`).
    search_lag: float
    #: The client class as ``"package.module:Class"``, constructed by :meth:`open` as
    #: ``Class(settings, where=..., sleep=..., clock=...)``. It is imported when a sink is
    #: first opened: every command loads every plugin, and an HTTP client library costs
    #: about 0.1 s to import.
    client: str
    #: The attrs class of ``[plugins.<name>]`` (a subclass of :class:`TrackerSettings`), or
    #: ``"package.module:Class"``, imported only when settings are registered, so that
    #: loading the plugin (``retroflow --help``) makes no attrs class.
    settings_class: type[Any] | str

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
            raise ConfigError(f"{where} is not configured: {self.required or self._required_keys()} are required")
        return settings, where

    def _required_keys(self) -> str:
        """The keys of :attr:`settings_class` without a default, as words: ``"a, b and c"``."""
        import attrs

        from retroflow.model import and_list
        from retroflow.sources import settings_class_of

        fields = attrs.fields(settings_class_of(self.settings_class))
        return and_list(field.alias for field in fields if field.default is attrs.NOTHING)

    def open(self, config: Config) -> TrackerClient:
        """A client for the configured tracker (see :attr:`client`)."""
        settings, where = self.configured(config)
        client_class = import_object(self.client)
        client: TrackerClient = client_class(settings, where=where, sleep=self._sleep, clock=self._clock)
        return client


def sink_hooks(
    sink: type[SinkBase], settings: type[Any] | str | None = None
) -> tuple[Callable[[Callable[[str, type[Any]], None]], None], Callable[[Callable[[Any], None]], None]]:
    """The hook implementations of a sink plugin's module: its settings table
    (``[plugins.<sink.name>]``, read into ``settings``, by default the sink's
    :attr:`~SinkBase.settings_class`) and the sink itself::

        retroflow_register_settings, retroflow_register_tracker_sinks = sink_hooks(AcmeSink)
    """

    @hookimpl
    def retroflow_register_settings(register: Callable[[str, type[Any]], None]) -> None:
        from retroflow.sources import settings_class_of

        register(sink.name, settings_class_of(settings if settings is not None else sink.settings_class))

    @hookimpl
    def retroflow_register_tracker_sinks(register: Callable[[Any], None]) -> None:
        register(sink())

    return retroflow_register_settings, retroflow_register_tracker_sinks


def sink_module(
    sink: type[SinkBase],
) -> tuple[
    Callable[[Callable[[str, type[Any]], None]], None], Callable[[Callable[[Any], None]], None], Callable[[str], Any]
]:
    """What the package module of a sink plugin defines: the hooks of :func:`sink_hooks`,
    and its ``__getattr__``, which exports the sink's :attr:`~SinkBase.client` and
    :attr:`~SinkBase.settings_class` under their own names, each imported when first asked
    for (so that loading the plugin imports neither the HTTP client nor attrs)::

        retroflow_register_settings, retroflow_register_tracker_sinks, __getattr__ = sink_module(AcmeSink)
    """
    paths = [path for path in (sink.client, sink.settings_class) if isinstance(path, str)]
    exports = lazy_exports(sink.__module__, {path.rpartition(":")[2]: path for path in paths})
    return (*sink_hooks(sink), exports)


# Imported when first used: every tracker sink imports this module when it loads, and most
# commands load every plugin without exporting (the settings base is an attrs class, the
# ticket content needs dataclasses: a few milliseconds each of `retroflow --help`).
__getattr__ = lazy_exports(
    __name__, {"TrackerSettings": "retroflow.tracker_settings:TrackerSettings"}, all_of=("retroflow.tickets",)
)
