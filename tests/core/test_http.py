"""retroflow.http: one reading of Retry-After for every client, and the shared retry loop."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from retroflow import SourceError, TrackerError
from retroflow.http import RetryLimits, RetryPolicy, asked_or_backoff, retry_after_seconds, send_with_retries
from retroflow.testing import RecordingSleep

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "Wed, 25 Nov 2026 12:00:30 GMT",
        "Wed, 25 Nov 2026 12:00:30 +0000",
        "Wed, 25 Nov 2026 12:00:30 -0000",  # RFC 5322: "no zone information"
        "Wed, 25 Nov 2026 12:00:30",  # no zone at all
    ],
)
def test_an_http_date_is_gmt_whether_or_not_it_names_a_zone(value: str) -> None:
    """RFC 9110 defines every HTTP date as GMT: a date that names no zone is read as GMT, the
    same in every client (the PagerDuty source used to ignore it and back off instead)."""
    assert retry_after_seconds(value, lambda: NOW) == 30.0


def test_an_http_date_with_another_zone_is_converted() -> None:
    assert retry_after_seconds("Wed, 25 Nov 2026 13:00:30 +0100", lambda: NOW) == 30.0


def test_asked_or_backoff_prefers_retry_after() -> None:
    assert asked_or_backoff({"Retry-After": "3"}, 5) == 3.0
    assert asked_or_backoff({}, 2) == 4.0
    assert asked_or_backoff({"Retry-After": "Wed, 25 Nov 2026 12:00:09"}, 0, lambda: NOW) == 9.0


@attrs.frozen
class _Reply:
    status_code: int
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def json(self) -> Any:
        return None


class _Refused(Exception):
    """A transport failure of a fake client library."""


def _policy(sleep: RecordingSleep, **fields: Any) -> RetryPolicy[_Reply]:
    limits = RetryLimits(timeout=5.0, max_retry_wait=20.0, max_retries=3)
    return RetryPolicy[_Reply]("Acme", "acme", limits, sleep, (_Refused,), **fields)


def _sender(*replies: _Reply | Exception) -> Any:
    queue = list(replies)

    def send() -> _Reply:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return send


def test_429_5xx_and_transport_failures_are_retried_and_the_answer_returned() -> None:
    sleep = RecordingSleep()
    send = _sender(_Reply(429, {"Retry-After": "2"}), _Refused("no route"), _Reply(503), _Reply(404))

    reply = send_with_retries(send, _policy(sleep), what="markers")

    assert reply.status_code == 404  # a refusal is the caller's to read
    assert sleep.calls == [2.0, 2.0, 4.0]  # Retry-After, then back-off by attempt (1 s × 2^attempt)


def test_a_rate_limit_over_the_budget_names_the_setting() -> None:
    sleep = RecordingSleep()
    with pytest.raises(SourceError, match=r"Acme is rate limiting \(markers\).*\[plugins\.acme\] max_retry_wait"):
        send_with_retries(_sender(_Reply(429, {"Retry-After": "600"})), _policy(sleep), what="markers")
    assert sleep.calls == []


def test_an_unreachable_server_says_where_and_how_often_without_context() -> None:
    sleep = RecordingSleep()
    send = _sender(*[_Refused("secret-url") for _ in range(5)])
    with pytest.raises(TrackerError) as caught:
        send_with_retries(send, _policy(sleep, place="at https://acme.example", error=TrackerError), what="alerts")
    assert str(caught.value) == "Acme at https://acme.example unreachable (alerts): _Refused, 4 tries"
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert sleep.calls == [1.0, 2.0, 4.0]


def test_5xx_past_the_retries_says_the_status() -> None:
    sleep = RecordingSleep()
    send = _sender(*[_Reply(502) for _ in range(5)])
    with pytest.raises(SourceError, match=r"Acme failed with HTTP 502 \(alerts\), 4 tries"):
        send_with_retries(send, _policy(sleep, wait=lambda reply, attempt: 0.5), what="alerts")
    assert sleep.calls == [0.5, 0.5, 0.5]


class _Session:
    """A session that answers from a list and records what it was sent."""

    def __init__(self, *replies: _Reply) -> None:
        self.headers: dict[str, str] = {}
        self.replies = list(replies)
        self.sent: list[tuple[str, Any, float]] = []
        self.closed = False

    def get(self, url: str, *, params: Any, timeout: float) -> _Reply:
        self.sent.append((url, params, timeout))
        return self.replies.pop(0)

    def close(self) -> None:
        self.closed = True


@attrs.frozen
class _SourceSettings:
    request_timeout: float = 7.0
    max_retry_wait: float = 60.0
    max_retries: int = 2


def test_a_source_client_sends_its_headers_and_reads_retry_after_dates_by_its_clock() -> None:
    from retroflow.http import SourceClient

    sleep = RecordingSleep()
    session = _Session(_Reply(503, {"Retry-After": "Wed, 25 Nov 2026 12:00:09"}), _Reply(200))
    client = SourceClient[_Reply](
        "Acme",
        "acme",
        _SourceSettings(),
        session=session,
        headers={"X-Key": "k"},
        sleep=sleep,
        clock=lambda: NOW,
        transport_errors=(_Refused,),
    )

    assert client.send_get("https://acme.example/x", params={"a": 1}, what="x").status_code == 200
    client.close()

    assert session.headers == {"X-Key": "k"} and session.closed
    assert session.sent == [("https://acme.example/x", {"a": 1}, 7.0)] * 2  # request_timeout per request
    assert sleep.calls == [9.0]
