"""Rate limits, server errors, the network and refusals: bounded, and never the keys."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import responses

from retroflow import SourceError
from retroflow.testing import RecordingSleep, check_secret_not_leaked

from .conftest import API_KEY, APP_KEY, LIVE, source
from .test_mapping import monitor_event
from .test_source import EVENTS, collect

OK = {"data": [monitor_event()]}


@responses.activate
def test_a_429_waits_what_x_ratelimit_reset_asks_then_retries(session: requests.Session, tmp_path: Path) -> None:
    responses.get(EVENTS, status=429, headers={"X-RateLimit-Reset": "7", "X-RateLimit-Remaining": "0"})
    responses.get(EVENTS, json=OK)
    sleep = RecordingSleep()
    result = collect(source(session, sleep), LIVE, tmp_path)
    assert sleep.calls == [7.0]
    assert len(result.events) == 1


@responses.activate
def test_a_429_asking_for_more_than_the_budget_fails_at_once(session: requests.Session, tmp_path: Path) -> None:
    responses.get(EVENTS, status=429, headers={"X-RateLimit-Reset": "3600"})
    sleep = RecordingSleep()
    with pytest.raises(SourceError, match=r"asked to wait 3600 s, over the 60 s budget \(\[plugins.datadog\]"):
        collect(source(session, sleep), LIVE, tmp_path)
    assert (sleep.calls, len(responses.calls)) == ([], 1)


@responses.activate
def test_rate_limits_are_retried_at_most_max_retries_times(session: requests.Session, tmp_path: Path) -> None:
    responses.get(EVENTS, status=429, headers={"Retry-After": "1"})
    sleep = RecordingSleep()
    with pytest.raises(SourceError, match="rate limiting"):
        collect(source(session, sleep), LIVE + "max_retries = 2\n", tmp_path)
    assert (sleep.calls, len(responses.calls)) == ([1.0, 1.0], 3)


@responses.activate
def test_server_errors_and_lost_connections_are_retried_with_back_off(
    session: requests.Session, tmp_path: Path
) -> None:
    responses.get(EVENTS, status=502)
    responses.get(EVENTS, body=requests.ConnectionError("reset by peer"))
    responses.get(EVENTS, json=OK)
    sleep = RecordingSleep()
    assert len(collect(source(session, sleep), LIVE, tmp_path).events) == 1
    assert sleep.calls == [1.0, 2.0]


@responses.activate
def test_a_server_that_keeps_failing_is_an_error_after_the_retries(session: requests.Session, tmp_path: Path) -> None:
    responses.get(EVENTS, status=503)
    with pytest.raises(SourceError, match=r"Datadog failed with HTTP 503 \(events page 1\), 2 tries"):
        collect(source(session), LIVE + "max_retries = 1\n", tmp_path)


@pytest.mark.parametrize(
    ("status", "hint"),
    [(401, "belong to another site"), (403, "needs the events_read permission")],
)
@responses.activate
def test_refusals_name_the_settings_never_the_keys(
    session: requests.Session, tmp_path: Path, status: int, hint: str, caplog: pytest.LogCaptureFixture
) -> None:
    responses.get(EVENTS, status=status, json={"errors": ["Forbidden"]})
    with pytest.raises(SourceError) as caught:
        collect(source(session), LIVE, tmp_path)
    message = str(caught.value)
    assert "[plugins.datadog] api_key and app_key" in message and hint in message and "Forbidden" in message
    for key in (API_KEY, APP_KEY):
        check_secret_not_leaked(key, caught.value, caplog.text)


@responses.activate
def test_network_failures_say_what_happened_without_the_url_s_secrets(
    session: requests.Session, tmp_path: Path
) -> None:
    responses.get(EVENTS, body=requests.ConnectTimeout(f"timed out, key {API_KEY}"))
    with pytest.raises(SourceError, match="unreachable \\(events page 1\\): connect timeout, 2 tries") as caught:
        collect(source(session), LIVE + "max_retries = 1\n", tmp_path)
    check_secret_not_leaked(API_KEY, caught.value)


@responses.activate
def test_a_reply_that_is_not_json_is_an_error(session: requests.Session, tmp_path: Path) -> None:
    responses.get(EVENTS, body="<html>maintenance</html>")
    with pytest.raises(SourceError, match="not a JSON object"):
        collect(source(session), LIVE, tmp_path)
