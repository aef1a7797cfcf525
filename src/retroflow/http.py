"""HTTP failure handling every retroflow client shares: tracker sinks, the PagerDuty source
and the HTTP source plugins (Datadog, Honeycomb, JSM, GitHub deploys).

Wait out rate limits within a budget, read ``Retry-After`` one way everywhere, tell a failure
that certainly did not reach the server from one that may have, describe a failure without
leaking URLs or credentials, and quote a server's own error text with secrets masked.

It depends on the standard library and retroflow only: no HTTP client. Transport failures
of ``requests`` (and the ``urllib3`` errors it wraps) are recognised by their class names,
so a client passes its library's exceptions in as they are.

* :func:`retry_after_seconds`, :func:`backoff`, :func:`asked_or_backoff`,
  :class:`RetryBudget` (:meth:`~RetryBudget.wait_out`), :class:`RetryLimits`,
  :func:`rate_limit_error`: rate limits;
* :class:`RetryPolicy`, :func:`send_with_retries`, :class:`SourceClient`: the retry loop of
  a read-only client (a timeline source): 429, 5xx and network failures tried again within
  the budget;
* :func:`sending`: telling an export that a create request is about to go out;
* :func:`certainly_not_sent`, :func:`describe`, :func:`transport_failure`,
  :func:`error_text`: failures;
* :func:`json_or_none`, :func:`timestamp_or_none`: reading answers;
* :func:`check_request_settings`, :func:`looks_like_url`: request settings.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import attrs

from retroflow.clock import utcnow
from retroflow.errors import ConfigError, RetroflowError, SourceError
from retroflow.logs import get_logger, redact_text

__all__ = [
    "BACKOFF_BASE",
    "ERROR_TEXT_LIMIT",
    "HttpResponse",
    "RequestSettings",
    "RetryBudget",
    "RetryLimits",
    "RetryPolicy",
    "SourceClient",
    "SourceRequestSettings",
    "asked_or_backoff",
    "backoff",
    "certainly_not_sent",
    "check_request_settings",
    "describe",
    "error_text",
    "json_or_none",
    "looks_like_url",
    "on_sending",
    "rate_limit_error",
    "retry_after_seconds",
    "send_with_retries",
    "sending",
    "timestamp_or_none",
    "transport_failure",
]

log = get_logger(__name__)

#: Waits on a rate limit without a ``Retry-After``: 1 s, 2 s, 4 s, ...
BACKOFF_BASE = 1.0
#: Most characters of a server's own error text quoted in a message.
ERROR_TEXT_LIMIT = 300


# --- rate limits --------------------------------------------------------------------------


def retry_after_seconds(value: str | None, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    ``None`` when the header is absent or unreadable; never negative. An HTTP date without
    a zone (or with ``-0000``) is read as GMT, as RFC 9110 defines every HTTP date; every
    retroflow client reads the header through this function. ``now`` gives the current time
    (aware) for an HTTP date; the default is :func:`~retroflow.clock.utcnow`.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime  # only for a date, seldom sent

        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110: an HTTP date is GMT, whether or not it says so
        when = when.replace(tzinfo=UTC)
    current = (now or utcnow)()
    return max(0.0, (when - current).total_seconds())


def backoff(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (from 0) when the tracker did not say."""
    return float(BACKOFF_BASE * 2**attempt)


class _RetryBudgetSettings(Protocol):
    """The budget for waits on rate limits that every table of request settings has."""

    @property
    def max_retry_wait(self) -> float: ...
    @property
    def max_retries(self) -> int: ...


class RequestSettings(_RetryBudgetSettings, Protocol):
    """The request settings every sink's table has."""

    @property
    def timeout(self) -> float: ...


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

    def wait_out(
        self,
        wait: float,
        what: str,
        *,
        service: str,
        table: str,
        refuse: Callable[..., Exception],
        status: int | None = None,
    ) -> None:
        """Wait out a rate limit that asks for ``wait`` seconds before ``what`` is retried
        (logged with the ``status`` that said so), or, over the budget, raise
        ``refuse(message, retry_after=wait)``: :func:`rate_limit_error`'s message, naming
        ``service`` and ``[plugins.<table>] max_retry_wait``."""
        if self.exceeded(wait):
            message = rate_limit_error(service, table, what, wait, self._settings.max_retry_wait)
            raise refuse(message, retry_after=wait)
        log.warning(f"{service.lower()} rate limited", what=what, status=status, wait=wait, attempt=self.attempt + 1)
        self.spend(wait)


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


@attrs.frozen
class RetryLimits:
    """:class:`RequestSettings` from a settings table whose names differ (a source's
    ``request_timeout``: its ``timeout`` is the whole source's)."""

    timeout: float
    max_retry_wait: float
    max_retries: int

    @classmethod
    def of_source(cls, settings: SourceRequestSettings) -> RetryLimits:
        """A timeline source's: ``request_timeout`` for one request."""
        return cls(settings.request_timeout, settings.max_retry_wait, settings.max_retries)


class SourceRequestSettings(_RetryBudgetSettings, Protocol):
    """The request settings of a timeline source's table (its ``timeout`` is the whole
    source's, so one request's is ``request_timeout``)."""

    @property
    def request_timeout(self) -> float: ...


def asked_or_backoff(headers: Mapping[str, str], attempt: int, clock: Callable[[], datetime] | None = None) -> float:
    """Seconds to wait before retry ``attempt``: what ``Retry-After`` asks, else
    :func:`backoff`."""
    asked = retry_after_seconds(headers.get("Retry-After"), clock)
    return backoff(attempt) if asked is None else asked


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
        from retroflow.model import parse_timestamp  # the model: imported when an answer is read

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


# --- the retry loop of a read-only client -------------------------------------------------


class HttpResponse(Protocol):
    """What :func:`send_with_retries` reads of a response (``requests.Response`` has it)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    def json(self) -> Any: ...


R = TypeVar("R", bound=HttpResponse)


@attrs.frozen
class RetryPolicy(Generic[R]):
    """How one client retries (see :func:`send_with_retries`).

    :ivar service: the server's name in messages (``"Datadog"``).
    :ivar table: the settings table, named by a rate limit over the budget and in the log.
    :ivar limits: ``timeout``, ``max_retries`` and ``max_retry_wait``.
    :ivar sleep: how to wait (tests pass :class:`~retroflow.testing.RecordingSleep`).
    :ivar transport_errors: the client library's transport exceptions
        (``(requests.RequestException,)``).
    :ivar wait: seconds to wait before retry ``attempt`` after a 429 or 5xx ``response``:
        by default ``Retry-After``, else :func:`backoff`.
    :ivar place: where the server is, for "unreachable" messages (``"at https://…"``).
    :ivar error: the exception raised (:class:`SourceError` for a timeline source).
    """

    service: str
    table: str
    limits: RequestSettings
    sleep: Callable[[float], None]
    transport_errors: tuple[type[BaseException], ...]
    wait: Callable[[R, int], float] | None = None
    place: str = ""
    error: type[RetroflowError] = SourceError

    def seconds(self, response: R, attempt: int) -> float:
        return self.wait(response, attempt) if self.wait is not None else asked_or_backoff(response.headers, attempt)


def send_with_retries(send: Callable[[], R], policy: RetryPolicy[R], *, what: str) -> R:
    """``send()`` until the server answers something other than 429 or 5xx, and return
    that answer (the caller reads a success or a refusal); 429, 5xx and transport failures
    are tried again within the budget of ``policy.limits``.

    :raises RetroflowError: ``policy.error``: still failing when the budget is spent (a
        rate limit asking for more than the budget says so, naming ``max_retry_wait``).
        It is raised outside the ``except`` block, so the library's exception (whose text
        can carry the URL) is not even its context.
    """
    budget = RetryBudget(policy.limits, policy.sleep)
    while True:
        response: R | None = None
        try:
            response = send()
        except policy.transport_errors as exc:
            failure = describe(exc)
        if response is None:
            wait = backoff(budget.attempt)
            if budget.exceeded(wait):
                where = f"{policy.service} {policy.place}".strip()
                raise policy.error(f"{where} unreachable ({what}): {failure}, {budget.attempt + 1} tries")
            budget.spend(wait)
            continue
        status = response.status_code
        if status != 429 and status < 500:
            return response
        wait = policy.seconds(response, budget.attempt)
        if budget.exceeded(wait):
            raise policy.error(_retries_spent(policy, status, what, wait, budget.attempt + 1))
        log.warning(f"{policy.table} retrying", what=what, status=status, wait=wait, attempt=budget.attempt + 1)
        budget.spend(wait)


class SourceClient(Generic[R]):
    """What a timeline source's HTTP client shares: one session carrying the source's
    headers (its credentials among them), GET requests retried by :func:`send_with_retries`
    within the settings' budget, and a clock for ``Retry-After`` dates.

    :param service: the server's name in messages; ``table``: the settings table.
    :param session: a ``requests.Session`` (tests pass one ``responses`` serves).
    :param transport_errors: the session's transport exceptions (``(requests.RequestException,)``).
    :param wait: seconds to wait after a 429 or 5xx (default: ``Retry-After``, else back-off).
    :param place: where the server is, for "unreachable" messages.
    """

    def __init__(
        self,
        service: str,
        table: str,
        settings: SourceRequestSettings,
        *,
        session: Any,
        headers: Mapping[str, str],
        sleep: Callable[[float], None],
        clock: Callable[[], datetime],
        transport_errors: tuple[type[BaseException], ...],
        wait: Callable[[R, int], float] | None = None,
        place: str = "",
    ) -> None:
        self._clock = clock
        self._session = session
        session.headers.update(headers)
        limits = RetryLimits.of_source(settings)
        wait = wait or (lambda response, attempt: asked_or_backoff(response.headers, attempt, clock))
        self._retrying = RetryPolicy[R](service, table, limits, sleep, transport_errors, wait=wait, place=place)

    def close(self) -> None:
        self._session.close()

    def send_get(self, url: str, *, what: str, params: Mapping[str, Any] | None = None) -> R:
        """``GET url`` until it is answered other than 429 or 5xx (see :func:`send_with_retries`)."""
        timeout = self._retrying.limits.timeout
        query = None if params is None else dict(params)
        return send_with_retries(
            lambda: self._session.get(url, params=query, timeout=timeout), self._retrying, what=what
        )


def _retries_spent(policy: RetryPolicy[Any], status: int, what: str, wait: float, tries: int) -> str:
    if status == 429:
        return rate_limit_error(policy.service, policy.table, what, wait, policy.limits.max_retry_wait)
    return f"{policy.service} failed with HTTP {status} ({what}), {tries} tries"


# --- a request that failed on the wire ----------------------------------------------------


def transport_failure(service: str, exc: BaseException, what: str, *, place: str = "") -> tuple[str, bool]:
    """The message for a request that failed on the wire with ``exc`` (a client library's
    transport exception), and whether it may have reached ``service`` (so the failure is
    ambiguous: see :func:`certainly_not_sent`).

    The message says what was being done, what went wrong in :func:`describe`'s words and
    whether the request reached the server: ``"Jira at https://… failed (search issues):
    connect timeout; the request did not reach Jira"`` (``place``: ``"at https://…"``).
    """
    sent = not certainly_not_sent(exc)
    reached = "may have reached" if sent else "did not reach"
    where = f"{service} {place}".strip()
    return f"{where} failed ({what}): {describe(exc)}; the request {reached} {service}", sent
