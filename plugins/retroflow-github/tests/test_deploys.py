"""The ``github-deploys`` source: deployments, releases and deploy runs as change events,
bounded pagination, rate limits, failures as gaps, saved replies, and a whole retro."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import responses
import structlog
from responses import matchers

from retroflow import ConfigError, EventKind, Incident, RetroRequest, SourceResult, Timeline, parse_timestamp
from retroflow.engine import build_retro
from retroflow.testing import (
    RecordingSleep,
    check_secret_not_leaked,
    check_source_contract,
    make_config,
    make_plugins,
)

from .deploy_kit import (
    REPO,
    SIGNAL,
    config,
    deployment,
    incident,
    minutes,
    release,
    repository,
    run,
    runs_page,
    source,
    stamp,
    status,
    timeline,
)
from .fake_github import NOW, TOKEN

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def github_token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return TOKEN


def collect(plugin: Any = None, settings: Any = None, **known: Any) -> SourceResult:
    known = {"incident": incident(), "timeline": timeline(), **known}
    return check_source_contract(plugin or source(), RetroRequest("PAY-7"), settings or config(), **known)


def query(call: Any) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(call.request.url).query).items()}


def paths(mocked: responses.RequestsMock) -> list[str]:
    """The paths requested by the first of the two runs check_source_contract makes."""
    calls = list(mocked.calls)
    return [urlparse(call.request.url).path for call in calls[: len(calls) // 2]]


# --- deployments --------------------------------------------------------------------------


def test_deployment_statuses_become_change_events_with_the_sha_and_the_creator(
    mocked: responses.RequestsMock,
) -> None:
    mocked.get(
        f"{REPO}/deployments",
        json=[deployment(42, -8, ref="v2.14.0", sha="a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d"), deployment(41, -2000)],
    )
    mocked.get(
        f"{REPO}/deployments/42/statuses",
        json=[
            status(3, "success", -6, log_url="https://ci.example.com/runs/99"),
            status(2, "in_progress", -7),
            status(1, "queued", -8),
        ],
    )
    result = collect()
    by_id = {e.native_id: e for e in result.events}
    assert set(by_id) == {"acme/payments/deployment/42/status/3", "acme/payments/deployment/42/status/2"}
    landed = by_id["acme/payments/deployment/42/status/3"]
    assert landed.kind is EventKind.CHANGE and landed.service == "payments-api"
    assert landed.at == SIGNAL - timedelta(minutes=6)
    assert landed.summary == "payments-api: deploy of v2.14.0 (a84d88e) to production succeeded"
    assert landed.actor == "octocat" and landed.link == "https://ci.example.com/runs/99"
    assert landed.details["sha"] == "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d"
    assert landed.details["creator"] == "octocat" and landed.details["state"] == "success"
    assert by_id["acme/payments/deployment/42/status/2"].summary.endswith("to production started")
    assert query(mocked.calls[0]) == {"environment": "production", "per_page": "100"}
    assert paths(mocked) == ["/repos/acme/payments/deployments", "/repos/acme/payments/deployments/42/statuses"], (
        "the deployment older than the window costs no statuses request"
    )
    assert result.gaps == ()


def test_deployments_are_paged_newest_first_until_a_page_reaches_past_the_window(
    mocked: responses.RequestsMock,
) -> None:
    page2 = f"{REPO}/deployments?environment=production&per_page=100&page=2"
    page3 = f"{REPO}/deployments?environment=production&per_page=100&page=3"
    after = [deployment(100 + n, 3000 + n) for n in range(3)]  # deployed since the incident
    mocked.get(
        f"{REPO}/deployments",
        json=after,
        headers={"Link": f'<{page2}>; rel="next"'},
        match=[matchers.query_param_matcher({"environment": "production", "per_page": "100"})],
    )
    mocked.get(page2, json=[deployment(42, -30), deployment(41, -3000)], headers={"Link": f'<{page3}>; rel="next"'})
    mocked.get(f"{REPO}/deployments/42/statuses", json=[status(1, "success", -29)])
    result = collect()
    assert [e.native_id for e in result.events] == ["acme/payments/deployment/42/status/1"]
    assert page3 not in [call.request.url for call in mocked.calls], "page 2 reached past the window: no page 3"


def test_pages_are_bounded_and_what_they_leave_out_is_a_gap(mocked: responses.RequestsMock) -> None:
    page2 = f"{REPO}/deployments?environment=production&per_page=100&page=2"
    mocked.get(f"{REPO}/deployments", json=[deployment(100, 3000)], headers={"Link": f'<{page2}>; rel="next"'})
    result = collect(settings=config(extra='token = "env:GITHUB_TOKEN"\nmax_pages = 1\n'))
    assert len(paths(mocked)) == 1
    (gap,) = [g for g in result.gaps if "stopped" in g.reason]
    assert gap.kind == "skipped"
    assert gap.reason.startswith("acme/payments deployments to production: stopped after 1 pages of 100")
    assert "raise max_pages" in gap.reason


def test_a_deployment_without_statuses_is_one_event_when_it_was_created(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{REPO}/deployments", json=[deployment(42, -8)])
    mocked.get(f"{REPO}/deployments/42/statuses", json=[])
    (event,) = collect().events
    assert event.native_id == "acme/payments/deployment/42"
    assert event.summary.endswith("to production requested") and event.details["state"] == "created"


def test_states_and_environments_are_settings(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{REPO}/deployments", json=[deployment(42, -8, environment="staging"), deployment(43, -7)])
    mocked.get(f"{REPO}/deployments/42/statuses", json=[status(1, "queued", -8)])
    mocked.get(f"{REPO}/deployments/43/statuses", json=[])
    repos = '{repo = "acme/payments", service = "payments-api", environments = [], releases = false}'
    result = collect(settings=config(repos, extra='token = "env:GITHUB_TOKEN"\nstates = ["queued"]\n'))
    assert "environment" not in query(mocked.calls[0]), "[] asks for every environment"
    assert [e.details["state"] for e in result.events] == ["queued", "created"]


# --- releases and deploy workflow runs ----------------------------------------------------


def test_published_releases_in_the_window_are_change_events(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{REPO}/deployments", json=[])
    mocked.get(
        f"{REPO}/releases",
        json=[
            release(9, "v2.15.0", 3000),
            release(8, "v2.14.1-rc1", -20, prerelease=True),
            release(7, "v2.14.0", -40, author={"login": "releaser"}),
            release(6, "v3.0.0-draft", None, created=-30),
            release(5, "v2.13.0", -3000),
        ],
    )
    repos = '{repo = "acme/payments", service = "payments-api", releases = true}'
    events = collect(settings=config(repos)).events
    assert [e.summary for e in events] == [
        "payments-api: released v2.14.1-rc1 (pre-release)",
        "payments-api: released v2.14.0",
    ]
    assert events[1].actor == "releaser" and events[1].details["tag"] == "v2.14.0"
    assert events[1].link == "https://github.com/octocat/Hello-World/releases/v1.0.0", "the release's html_url"


def test_deploy_workflow_runs_on_the_default_branch_start_and_conclude(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{REPO}/deployments", json=[])
    mocked.get(f"{REPO}/releases", json=[])
    mocked.get(REPO, json=repository("trunk"))
    mocked.get(
        f"{REPO}/actions/workflows/deploy.yml/runs",
        json=runs_page(
            run(7, -12, updated=-4, branch="trunk", status="completed", conclusion="failure"),
            run(8, -2, updated=-1, branch="trunk", status="in_progress", conclusion=None),
            run(9, -10, updated=-9, branch="feature", status="completed", conclusion="success"),
        ),
    )
    repos = '{repo = "acme/payments", service = "payments-api", workflows = ["deploy.yml"]}'
    events = collect(settings=config(repos)).events
    assert [e.summary for e in events] == [
        "payments-api: Deploy #7 started on trunk (acb5820)",
        "payments-api: Deploy #7 failed (acb5820)",
        "payments-api: Deploy #8 started on trunk (acb5820)",
    ]
    assert {e.actor for e in events} == {"octocat"}
    assert events[1].details["conclusion"] == "failure" and events[1].link.endswith("/actions/runs/7")
    runs_call = next(c for c in mocked.calls if "/runs" in c.request.url)
    assert query(runs_call) == {
        "branch": "trunk",
        "created": f"{minutes(-24 * 60)}..{minutes(60)}",
        "exclude_pull_requests": "true",
        "per_page": "100",
    }


def test_a_configured_branch_saves_the_repository_request(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{REPO}/deployments", json=[])
    mocked.get(f"{REPO}/actions/workflows/deploy.yml/runs", json=runs_page())
    repos = (
        '{repo = "acme/payments", service = "payments-api", workflows = ["deploy.yml"], branch = "main", '
        "releases = false}"
    )
    collect(settings=config(repos))
    assert paths(mocked) == [
        "/repos/acme/payments/deployments",
        "/repos/acme/payments/actions/workflows/deploy.yml/runs",
    ]


# --- rate limits and failures -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status_code", "headers", "waited"),
    [
        (429, {"retry-after": "7"}, 7.0),
        (403, {"retry-after": "5"}, 5.0),  # a secondary rate limit
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW.timestamp()) + 12)}, 12.0),
    ],
)
def test_rate_limits_are_waited_out(
    mocked: responses.RequestsMock, status_code: int, headers: dict[str, str], waited: float
) -> None:
    sleep = RecordingSleep()
    mocked.get(f"{REPO}/deployments", json={"message": "API rate limit exceeded"}, status=status_code, headers=headers)
    mocked.get(f"{REPO}/deployments", json=[deployment(42, -8)])
    mocked.get(f"{REPO}/deployments/42/statuses", json=[status(1, "success", -6)])
    mocked.get(f"{REPO}/releases", json=[])
    result = collect(source(sleep, clock=NOW))
    assert sleep.calls[:1] == [waited] and len(result.events) == 1


def test_an_exhausted_primary_limit_holds_the_next_request_until_the_reset(mocked: responses.RequestsMock) -> None:
    sleep = RecordingSleep()
    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW.timestamp()) + 15)}
    mocked.get(f"{REPO}/deployments", json=[deployment(42, -8)], headers=reset)
    mocked.get(f"{REPO}/deployments/42/statuses", json=[status(1, "success", -6)])
    mocked.get(f"{REPO}/releases", json=[])
    collect(source(sleep, clock=NOW))
    assert sleep.calls == [15.0, 15.0], "not sent to be refused: waited for the reset first (each run)"
    assert all(call.response.status_code == 200 for call in mocked.calls)


def test_a_rate_limit_over_the_budget_is_a_gap_and_the_rest_is_still_read(mocked: responses.RequestsMock) -> None:
    sleep = RecordingSleep()
    mocked.get(f"{REPO}/deployments", status=429, headers={"retry-after": "600"})
    mocked.get(f"{REPO}/releases", json=[release(7, "v2.14.0", -40)])
    result = collect(source(sleep, clock=NOW), config('{repo = "acme/payments", service = "payments-api"}'))
    assert sleep.calls == []
    (gap,) = result.gaps
    assert gap.kind == "error" and gap.reason.startswith("payments-api (acme/payments) deployments: GitHub is rate")
    assert "[plugins.github-deploys] max_retry_wait" in gap.reason
    assert [e.details["tag"] for e in result.events] == ["v2.14.0"]


@pytest.mark.parametrize(
    ("status_code", "message", "names"),
    [
        (401, "Bad credentials", "[plugins.github-deploys] token"),
        (403, "Resource not accessible by personal access token", "needs read access to deployments"),
        (404, "Not Found", "[plugins.github-deploys] repos (acme/payments)"),
    ],
)
def test_failures_are_gaps_that_name_the_setting_and_never_the_token(
    mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture, status_code: int, message: str, names: str
) -> None:
    mocked.get(f"{REPO}/deployments", json={"message": message}, status=status_code)
    mocked.get(f"{REPO}/releases", json={"message": message}, status=status_code)
    with structlog.testing.capture_logs() as logs:
        result = collect(settings=config('{repo = "acme/payments", service = "payments-api"}'))
    assert result.events == () and len(result.gaps) == 2, "deployments and releases each"
    assert all(names in g.reason and message in g.reason for g in result.gaps)
    assert mocked.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    for gap in result.gaps:
        assert TOKEN not in gap.reason
    check_secret_not_leaked(TOKEN, RuntimeError(result.gaps[0].reason), caplog.text, logs)


def test_records_without_the_fields_the_mapping_needs_are_counted_and_skipped(
    mocked: responses.RequestsMock,
) -> None:
    broken = deployment(43, -7)
    del broken["sha"]
    mocked.get(f"{REPO}/deployments", json=[deployment(42, -8), broken, {"id": 44, "created_at": "yesterday"}])
    mocked.get(f"{REPO}/deployments/42/statuses", json=[status(1, "success", -6)])
    mocked.get(f"{REPO}/deployments/43/statuses", json=[status(2, "success", -5)])
    mocked.get(f"{REPO}/releases", json=[])
    result = collect()
    assert [e.native_id for e in result.events] == ["acme/payments/deployment/42/status/1"]
    assert sorted((g.reason, g.count) for g in result.gaps) == [
        ("acme/payments deployments to production: 2 record(s) skipped (no sha)", 2)
    ]


# --- the window, nothing, not configured -----------------------------------------------


def test_nothing_in_the_window_is_a_gap_that_says_where_it_looked(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{REPO}/deployments", json=[])
    mocked.get(f"{REPO}/releases", json=[])
    (gap,) = collect().gaps
    assert gap.reason == (
        "no deployments, releases or deploy runs in 2026-11-01T14:00:00Z – 2026-11-02T15:00:00Z "
        "in acme/payments (production)"
    )


def test_no_time_to_read_around_is_a_gap_and_costs_no_request(mocked: responses.RequestsMock) -> None:
    result = collect(incident=Incident(id="PAY-7"), timeline=Timeline.from_events(()))
    assert "no source says when the incident began" in result.gaps[0].reason
    assert len(mocked.calls) == 0


@pytest.mark.parametrize(
    ("repos", "expected"),
    [
        ('{repo = "payments", service = "p"}', 'repos[0]: repo: expected "owner/name"'),
        ('{repo = "acme/payments"}', "repos[0] service: required key is missing"),
        ('{repo = "acme/payments", service = "p", workflow = ["d.yml"]}', "repos[0] workflow: unknown key"),
    ],
)
def test_settings_errors_name_the_item_and_key(repos: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        config(repos)
    assert "[plugins.github-deploys]" in str(info.value) and expected in str(info.value)


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"states: unknown deployment state 'landed'"):
        config(extra='states = ["landed"]\n')


# --- saved replies ------------------------------------------------------------------------


def _saved(tmp_path: Path, files: dict[str, Any]) -> Path:
    for name, reply in files.items():
        target = tmp_path / "replies" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(reply), encoding="utf-8")
    return tmp_path / "replies"


def test_saved_replies_are_read_through_the_same_code_with_their_pages(tmp_path: Path) -> None:
    _saved(
        tmp_path,
        {
            "repos/acme/payments/deployments.json": [deployment(100, 3000)],
            "repos/acme/payments/deployments.2.json": [deployment(42, -8), deployment(41, -2000)],
            "repos/acme/payments/deployments/42/statuses.json": [status(1, "success", -6)],
            "repos/acme/payments/releases.json": [release(7, "v2.14.0", -40)],
            "repos/acme/payments.json": repository(),
            "repos/acme/payments/actions/workflows/deploy.yml/runs.json": runs_page(
                run(7, -12, updated=-4, status="completed", conclusion="success")
            ),
        },
    )
    repos = '{repo = "acme/payments", service = "payments-api", workflows = ["deploy.yml"]}'
    result = collect(settings=config(repos, extra='replies = "replies"\n', base_dir=tmp_path))
    assert sorted(e.native_id for e in result.events) == [
        "acme/payments/deployment/42/status/1",
        "acme/payments/release/7",
        "acme/payments/run/7/1/completed",
        "acme/payments/run/7/1/started",
    ]
    assert result.gaps == ()


def test_a_reply_not_saved_is_a_gap_naming_the_file(tmp_path: Path) -> None:
    _saved(tmp_path, {"repos/acme/payments/deployments.json": []})
    repos = '{repo = "acme/payments", service = "payments-api"}'
    result = collect(settings=config(repos, extra='replies = "replies"\n', base_dir=tmp_path))
    (gap,) = result.gaps
    assert "releases" in gap.reason and f"no saved reply {tmp_path / 'replies/repos/acme/payments/releases.json'}" in (
        gap.reason
    )


def test_pygithub_s_recorded_replies_read_as_saved_replies(tmp_path: Path) -> None:
    """Real replies GitHub sent (PyGithub's ReplayData): a test deployment of 2020-08-26
    whose statuses were all queued, and a pull request's CI run of 2022-12-24."""
    replies = shutil.copytree(FIXTURES / "pygithub-replies", tmp_path / "replies")
    repos = (
        '{repo = "PyGithub/PyGithub", service = "pygithub", environments = ["test"], releases = false}, '
        '{repo = "PyGithub/PyGithub", service = "pygithub-ci", environments = ["none"], releases = false, '
        'workflows = ["1026390"], branch = "patch-1"}'
    )
    settings = config(repos, extra=f'replies = "{replies}"\nstates = ["queued"]\n', base_dir=tmp_path)
    quiet = Timeline.from_events(())

    def around(created: str, resolved: str) -> SourceResult:
        return collect(
            settings=settings, incident=Incident(id="X", created=_at(created), resolved=_at(resolved)), timeline=quiet
        )

    deploys = around("2020-08-26T14:00:00Z", "2020-08-26T15:00:00Z")
    assert [(e.summary, e.actor, e.at) for e in deploys.events] == [
        ("pygithub: deploy of 743f5a5 to test queued", "jacquev6", _at(f"2020-08-26T{t}Z"))
        for t in ("14:32:51", "13:56:31", "13:55:06")
    ]
    assert deploys.events[0].details["sha"] == "743f5a58b0bce91c4eab744ff7e39dfca9e6e8a5"
    assert deploys.events[0].link == "https://example.com/deployment.log"
    ci = around("2022-12-24T08:00:00Z", "2022-12-24T09:00:00Z")
    assert [(e.summary, e.actor) for e in ci.events] == [
        ("pygithub-ci: CI #916 started on patch-1 (84e26cf)", "cclauss"),
        ("pygithub-ci: CI #916 succeeded (84e26cf)", "cclauss"),
    ]


def _at(text: str) -> Any:
    return parse_timestamp(text)


# --- a whole retro ----------------------------------------------------------------------


def test_a_whole_retro_with_the_file_source_finds_the_deploy_before_the_incident(tmp_path: Path) -> None:
    from retroflow_github.deploys import GitHubDeploySource

    _saved(
        tmp_path,
        {
            "repos/acme/payments/deployments.json": [deployment(42, -8, ref="v2.14.0")],
            "repos/acme/payments/deployments/42/statuses.json": [status(1, "success", -6)],
            "repos/acme/payments/releases.json": [],
        },
    )
    (tmp_path / "events.jsonl").write_text(
        json.dumps(
            {
                "at": stamp(timeline().moments.first_signal),
                "kind": "alert",
                "summary": "5xx > 2%",
                "service": "payments-api",
            }
        )
        + "\n"
        + json.dumps({"at": minutes(60), "kind": "resolution", "summary": "Resolved"})
        + "\n",
        encoding="utf-8",
    )
    (tmp_path / "incident.json").write_text(json.dumps({"id": "PAY-7", "services": ["payments-api"]}))
    plugins = make_plugins(("github-deploys", GitHubDeploySource(sleep=RecordingSleep())))
    settings = make_config(
        '[plugins.file]\nevents = ["events.jsonl"]\nincident = "incident.json"\n\n'
        '[plugins.github-deploys]\nreplies = "replies"\n'
        'repos = [{repo = "acme/payments", service = "payments-api"}]\n',
        plugins=plugins,
        base_dir=tmp_path,
    )
    retro = build_retro(RetroRequest("PAY-7"), plugins=plugins, config=settings)
    (factor,) = [f for f in retro.factors if f.key == "change-before-incident"]
    assert "github:acme/payments/deployment/42/status/1" in factor.evidence
    assert factor.details["change"] == "payments-api: deploy of v2.14.0 (a84d88e) to production succeeded"
    assert factor.details["change_by"] == "octocat"
    assert not retro.gaps
