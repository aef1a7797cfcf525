"""Failure behaviour: bounded waits and retries, clear errors, never the key, never a hang."""

from __future__ import annotations

import httpx2
import pytest
from retroflow_pagerduty.testing import reply

from retroflow import RetroRequest, SourceError
from retroflow.testing import build, make_incident, make_plugins

INCIDENT = "/incidents/PT4KHLK"
RATE_LIMITED = {"error": {"code": 2020, "message": "Rate Limit Exceeded"}}


def collect(source, config, ref="PT4KHLK"):
    return source.retroflow_timeline_source(RetroRequest(ref), config)


def test_429_waits_as_ratelimit_reset_says_then_succeeds(kit, source_for, sleeps):
    fake = kit.fake_account()
    fake.script(INCIDENT, reply(429, RATE_LIMITED, {"ratelimit-reset": "7"}))
    source, config = source_for(fake)
    assert collect(source, config).incident.id == "PT4KHLK"
    assert sleeps == [7.0]
    assert [r.url.path for r in fake.requests].count(INCIDENT) == 2  # one request per attempt


def test_429_honours_retry_after_and_caps_every_wait(kit, source_for, sleeps):
    fake = kit.fake_account()
    fake.script(
        INCIDENT, reply(429, RATE_LIMITED, {"Retry-After": "2"}), reply(429, RATE_LIMITED, {"Retry-After": "600"})
    )
    source, config = source_for(fake, kit.SETTINGS + "max_wait = 10\n")
    collect(source, config)
    assert sleeps == [2.0, 10.0]


def test_429_without_headers_backs_off_and_gives_up_after_the_bound(kit, source_for, sleeps):
    fake = kit.fake_account()
    fake.script(INCIDENT, *[reply(429, RATE_LIMITED) for _ in range(10)])
    source, config = source_for(fake, kit.SETTINGS + "rate_limit_retries = 3\n")
    with pytest.raises(SourceError, match=r"rate limit.*4 tries.*rate_limit_retries"):
        collect(source, config)
    assert sleeps == [0.5, 1.0, 2.0]
    assert [r.url.path for r in fake.requests].count(INCIDENT) == 4


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_a_bounded_number_of_times(kit, source_for, sleeps, status):
    fake = kit.fake_account()
    fake.script(INCIDENT, reply(status), reply(status))
    source, config = source_for(fake)
    assert collect(source, config).incident.id == "PT4KHLK"
    assert len(sleeps) == 2
    fake.script(INCIDENT, *[reply(status) for _ in range(5)])
    with pytest.raises(SourceError, match=rf"failed 4 time\(s\) \(HTTP {status}\)"):
        collect(source, config)


def test_network_errors_are_retried_a_bounded_number_of_times(kit, source_for, sleeps):
    fake = kit.fake_account()
    fake.script(INCIDENT, httpx2.ConnectError("connection refused"))
    source, config = source_for(fake)
    assert collect(source, config).incident.id == "PT4KHLK"
    fake.script(INCIDENT, *[httpx2.ReadTimeout("timed out") for _ in range(4)])
    with pytest.raises(SourceError, match=r"unreachable.*failed 4 time\(s\) \(ReadTimeout\)"):
        collect(source, config, ref="PT4KHLK")
    assert sleeps[-3:] == [0.5, 1.0, 2.0]


def test_the_client_never_retries_on_its_own(kit, source_for):
    """The pagerduty client retries 429 for ever and network errors three times unless
    told otherwise; the plugin tells it, and counts the attempts itself."""
    fake = kit.fake_account()
    fake.script(INCIDENT, reply(429, RATE_LIMITED), httpx2.ConnectError("refused"), reply(503))
    source, config = source_for(fake, kit.SETTINGS + "retries = 0\nrate_limit_retries = 1\n")
    with pytest.raises(SourceError, match="unreachable"):
        collect(source, config)
    assert [r.url.path for r in fake.requests].count(INCIDENT) == 2


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_names_the_setting_and_never_the_token(kit, source_for, status):
    fake = kit.fake_account()
    if status == 401:
        fake.token = "another-key"
    else:
        fake.script(INCIDENT, reply(403, {"error": {"message": "Access Denied", "code": 2010}}))
    source, config = source_for(fake)
    with pytest.raises(SourceError) as caught:
        collect(source, config)
    message = str(caught.value)
    assert "[plugins.pagerduty] token" in message
    assert f"HTTP {status}" in message
    assert kit.TOKEN not in message and kit.TOKEN[-4:] not in message
    # the client's own 401 error (which shows the key's last characters) is not chained
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_an_auth_failure_is_a_gap_in_the_retro_without_the_token(kit, source_for):
    fake = kit.fake_account()
    fake.token = "another-key"
    source, _ = source_for(fake)
    retro = build(plugins=[source], config=kit.SETTINGS, incident=make_incident(id="PT4KHLK"))
    (gap,) = [g for g in retro.gaps if g.plugin == "pagerduty"]
    assert gap.kind == "error"
    assert "[plugins.pagerduty] token" in gap.reason
    assert kit.TOKEN[-4:] not in gap.reason


def test_an_unknown_incident_is_not_found(kit, source_for):
    source, config = source_for(kit.fake_account())
    with pytest.raises(SourceError, match=r"^PagerDuty incident PNOPE42 not found$"):
        collect(source, config, ref="PNOPE42")
    with pytest.raises(SourceError, match=r"^PagerDuty incident #999 not found$"):
        collect(source, config, ref="999")


def test_other_client_errors_say_what_pagerduty_said(kit, source_for):
    fake = kit.fake_account()
    fake.script(INCIDENT, reply(400, {"error": {"message": "Invalid Input Provided", "errors": ["bad include"]}}))
    source, config = source_for(fake)
    with pytest.raises(SourceError, match=r"HTTP 400\): Invalid Input Provided: bad include"):
        collect(source, config)


def test_a_page_without_its_list_is_a_gap_not_a_crash(kit, source_for):
    fake = kit.fake_account()
    fake.script(f"{INCIDENT}/alerts", reply(200, {"limit": 100, "offset": 0, "more": False}))
    fake.script(f"{INCIDENT}/notes", reply(200, {"notes": "nope"}))
    source, config = source_for(fake)
    result = collect(source, config)
    reasons = sorted(g.reason for g in result.gaps)
    assert reasons == ["alerts: 1 page(s) without a 'alerts' list", "notes: 1 page(s) without a 'notes' list"]
    assert any(e.details.get("log_entry_type") for e in result.events)


def test_a_reply_that_is_not_json_is_an_error(kit, source_for):
    fake = kit.fake_account()
    broken = httpx2.Response(200, text="<html>maintenance</html>")
    fake.script(INCIDENT, broken)
    source, config = source_for(fake)
    with pytest.raises(SourceError, match="not JSON"):
        collect(source, config)


def test_a_slow_api_is_a_timeout_gap_not_a_hang(kit, sleeps):
    from retroflow_pagerduty import PagerDutySource

    fake = kit.fake_account(latency=2.0)
    source = PagerDutySource(transport=fake.transport, sleep=sleeps)
    retro = build(plugins=[source], config=kit.SETTINGS + "timeout = 0.2\n", incident=make_incident(id="PT4KHLK"))
    (gap,) = [g for g in retro.gaps if g.plugin == "pagerduty"]
    assert gap.kind == "timeout"


def test_settings_are_validated_with_the_key_named(kit):
    from retroflow_pagerduty import PagerDutySource

    from retroflow import ConfigError
    from retroflow.testing import make_config

    plugins = make_plugins(PagerDutySource(), default_plugins=False)
    with pytest.raises(ConfigError, match="api"):
        make_config('[plugins.pagerduty]\napi = "http://api.pagerduty.com"\n', plugins=plugins)
    with pytest.raises(ConfigError, match="token"):
        make_config('[plugins.pagerduty]\ntoken = "u+abcdef"\n', plugins=plugins)
    with pytest.raises(ConfigError, match="concurrency"):
        make_config('[plugins.pagerduty]\ntoken = "env:PAGERDUTY_TOKEN"\nconcurrency = 0\n', plugins=plugins)


@pytest.mark.parametrize("header", ["Retry-After", "ratelimit-reset"])
def test_a_rate_limit_date_without_a_zone_is_gmt_as_in_every_client(kit, sleeps, header):
    """PagerDuty reads ``Retry-After`` as retroflow.http does: a date naming no zone is GMT
    (RFC 9110), not ignored in favour of the back-off."""
    from datetime import UTC, datetime

    from retroflow_pagerduty import PagerDutySource

    from retroflow.testing import make_config

    fake = kit.fake_account()
    fake.script(INCIDENT, reply(429, RATE_LIMITED, {header: "Wed, 25 Nov 2026 12:00:07"}))
    source = PagerDutySource(
        transport=fake.transport, sleep=sleeps, now=lambda: datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    )
    config = make_config(kit.SETTINGS, plugins=make_plugins(source, default_plugins=False), base_dir=kit.FIXTURES)
    assert collect(source, config).incident.id == "PT4KHLK"
    assert sleeps == [7.0]


def test_pagerduty_s_error_text_is_quoted_with_secrets_masked(kit, source_for):
    fake = kit.fake_account()
    echoed = {
        "error": {
            "code": 2001,
            "message": "Invalid Input Provided",
            "errors": ["Token token=u+SecretValue123 is not valid"],
        }
    }
    fake.script(INCIDENT, reply(400, echoed))
    source, config = source_for(fake)
    with pytest.raises(SourceError, match="Invalid Input Provided") as caught:
        collect(source, config)
    assert "SecretValue123" not in str(caught.value)
