"""Rate-limit waits and the classification of transport failures.

Exactly-once export needs to know whether a failed request may have taken effect: a read
timeout or a dropped connection after the request left may have created the ticket
(ambiguous), a refused connection or a connect timeout certainly did not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

#: Waits on 429 without a ``Retry-After``: 1 s, 2 s, 4 s, ...
BACKOFF_BASE = 1.0


def retry_after_seconds(value: str | None, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    ``None`` when the header is absent or unreadable; never negative.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    current = now() if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def backoff(attempt: int) -> float:
    return float(BACKOFF_BASE * 2**attempt)


def certainly_not_sent(exc: requests.RequestException) -> bool:
    """Whether a transport failure happened before the request could reach the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.Timeout):  # read timeout: the request was sent
        return False
    if isinstance(exc, requests.ConnectionError):
        return _mentions_new_connection_error(exc)
    return False


def describe(exc: requests.RequestException) -> str:
    """A few words on what went wrong on the wire (no URL, no headers)."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.Timeout):
        return "read timeout"
    cause = _new_connection_error(exc)
    if isinstance(cause, NameResolutionError):
        return "cannot resolve the host"
    if cause is not None:
        return "connection refused" if "refused" in str(cause).lower() else "cannot connect"
    if isinstance(exc, requests.ConnectionError):
        return "connection lost"
    return type(exc).__name__


def _mentions_new_connection_error(exc: BaseException) -> bool:
    return _new_connection_error(exc) is not None


def _new_connection_error(exc: BaseException) -> NewConnectionError | None:
    """requests wraps a refused connection as ConnectionError(MaxRetryError(reason=NewConnectionError))."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        item = pending.pop()
        if id(item) in seen or not isinstance(item, BaseException):
            continue
        seen.add(id(item))
        if isinstance(item, NewConnectionError):
            return item
        pending.extend(item.args)
        pending.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
    return None
