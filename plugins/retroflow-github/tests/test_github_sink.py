"""The GitHub Issues sink's behaviour against an API faked with ``responses``.

Replies are built from the ``issue`` example in GitHub's OpenAPI description (see
``spec/PROVENANCE.md``); ``test_contract.py`` checks requests and replies against it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
import retroflow_github
import structlog
from retroflow_github import GitHubSink

from retroflow import ConfigError, TicketRef, TrackerError
from retroflow.testing import make_config, make_plugins

from .fake_github import ISSUES, issue_json

# --- plugin and settings -------------------------------------------------------------------


def test_a_repo_without_owner_names_the_repo_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "x" * 12)
    config = make_config(
        '[plugins.github]\nrepo = "shop"\ntoken = "env:GITHUB_TOKEN"\n',
        plugins=make_plugins(retroflow_github, default_plugins=False),
    )
    with pytest.raises(ConfigError, match=r'\[plugins\.github\] repo: expected "owner/name"'):
        GitHubSink().open(config)


# --- what an issue says --------------------------------------------------------------------


def test_the_issue_carries_everything_the_action_says_and_the_key(
    make_client: Any, retro_with: Any, drafts: Any
) -> None:
    payload = make_client().preview(drafts(retro_with(1))[0])

    assert payload["title"] == "Gate deploys of checkout on a canary check #0"
    assert payload["labels"] == ["incident-followup", "retroflow"]
    assert payload["assignees"] == ["alice-gh"]
    body = payload["body"]
    for expected in (
        "Deploy to a canary first",
        "**A change to checkout shortly before the first signal** (technical)",
        "2026-11-02T13:54:00Z — Deploy checkout v2.14.0",
        "bad deploys reaching all traffic on checkout: target 0 per quarter",
        "**high** — score 4.5 (impact-math)",
        "- Due: 2026-12-15",
        "[Incident CHK-1042: Checkout card payments failing](<https://pd.example.com/incidents/CHK-1042>)",
        "[Retrospective](<https://retros.example.com/CHK-1042>)",
    ):
        assert expected in body
    assert body.endswith("<!-- retroflow:k-act000 -->")


# --- create --------------------------------------------------------------------------------


def test_create_sends_one_request_per_draft_and_returns_refs_in_order(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    for number in (7, 8, 9):
        mocked.post(ISSUES, json=issue_json(number), status=201)

    refs = make_client().create(drafts(retro_with(3)))

    assert refs == [
        TicketRef(sink="github", external_id=str(n), url=f"https://github.com/acme/shop/issues/{n}", key=f"k-act00{i}")
        for i, n in enumerate((7, 8, 9))
    ]
    assert mocked.calls[0].request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert mocked.calls[0].request.headers["Accept"] == "application/vnd.github+json"


def test_after_an_ambiguous_failure_the_rest_are_reported_not_sent(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    mocked.post(ISSUES, json=issue_json(7), status=201)
    mocked.post(ISSUES, body=requests.ReadTimeout("read timed out"))

    first, second, third = make_client().create(drafts(retro_with(3)))

    assert isinstance(first, TicketRef)
    assert isinstance(second, TrackerError) and second.ambiguous
    assert isinstance(third, TrackerError) and not third.ambiguous and "not sent" in str(third)
    assert len(mocked.calls) == 2


def test_a_dropped_marker_label_is_logged(
    make_client: Any, retro_with: Any, drafts: Any, mocked: responses.RequestsMock
) -> None:
    mocked.post(ISSUES, json=issue_json(7, labels=()), status=201)

    with structlog.testing.capture_logs() as logs:
        make_client().create(drafts(retro_with(1)))

    assert [e["event"] for e in logs] == ["github dropped the marker label"]


# --- failures ------------------------------------------------------------------------------


# --- find ----------------------------------------------------------------------------------


def test_find_lists_marked_issues_across_pages_and_matches_the_body_marker(
    make_client: Any, mocked: responses.RequestsMock
) -> None:
    page2 = f"{ISSUES}?labels=retroflow&state=all&per_page=100&page=2"
    mocked.get(
        ISSUES,
        json=[issue_json(3, body="<!-- retroflow:k-other -->"), issue_json(4, body="no marker")],
        headers={"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"'},
        match=[
            responses.matchers.query_param_matcher(
                {"labels": "retroflow", "state": "all", "sort": "created", "direction": "asc", "per_page": "100"}
            )
        ],
    )
    mocked.get(page2, json=[issue_json(12, body="text\n<!-- retroflow:k-act000 -->")])

    ref = make_client().find("k-act000")

    assert ref == TicketRef(
        sink="github", external_id="12", url="https://github.com/acme/shop/issues/12", key="k-act000"
    )


def test_find_ignores_pull_requests_and_returns_none_when_absent(
    make_client: Any, mocked: responses.RequestsMock
) -> None:
    pull = issue_json(
        5,
        body="<!-- retroflow:k-act000 -->",
        pull_request={"url": "x", "html_url": "x", "diff_url": "x", "patch_url": "x"},
    )
    mocked.get(ISSUES, json=[pull])

    assert make_client().find("k-act000") is None


# --- status --------------------------------------------------------------------------------


def test_status_maps_state_and_state_reason(make_client: Any, mocked: responses.RequestsMock) -> None:
    closed = {"state": "closed", "closed_at": "2026-11-20T09:30:00Z"}
    mocked.get(f"{ISSUES}/1", json=issue_json(1))
    mocked.get(f"{ISSUES}/2", json=issue_json(2, labels=("retroflow", "In Progress")))
    mocked.get(f"{ISSUES}/3", json=issue_json(3, state_reason="completed", **closed))
    mocked.get(f"{ISSUES}/4", json=issue_json(4, state_reason="not_planned", **closed))
    mocked.get(f"{ISSUES}/5", json=issue_json(5, state_reason="duplicate", **closed))
    mocked.get(f"{ISSUES}/6", json=issue_json(6, state_reason="reopened"))
    refs = [TicketRef(sink="github", external_id=str(n)) for n in range(1, 7)]

    statuses = make_client().status(refs)

    assert [s.state for s in statuses] == ["open", "in progress", "done", "won't do", "won't do", "open"]
    assert [s.ref for s in statuses] == refs
    assert statuses[0].changed_at == datetime(2026, 11, 3, 10, 0, tzinfo=UTC)  # created, never closed
    assert statuses[2].changed_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)  # closed_at
    assert statuses[5].changed_at == datetime(2026, 11, 10, 10, 0, tzinfo=UTC)  # reopened: updated_at


def test_status_of_a_deleted_issue_is_missing_but_a_missing_repo_is_an_error(
    make_client: Any, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{ISSUES}/9", json={"message": "This issue was deleted", "documentation_url": "x"}, status=410)
    mocked.get(ISSUES, json=[])
    (status,) = make_client().status([TicketRef(sink="github", external_id="9")])
    assert status.state == "missing" and status.changed_at is None

    mocked.replace(responses.GET, ISSUES, json={"message": "Not Found", "documentation_url": "x"}, status=404)
    mocked.replace(responses.GET, f"{ISSUES}/9", json={"message": "Not Found", "documentation_url": "x"}, status=404)
    with pytest.raises(TrackerError, match=r"\[plugins\.github\] repo"):
        make_client().status([TicketRef(sink="github", external_id="9")])


def test_query_parameters_of_find(make_client: Any, mocked: responses.RequestsMock) -> None:
    mocked.get(ISSUES, json=[])
    make_client('marker_label = "from-retro"\n').find("k")
    query = parse_qs(urlparse(mocked.calls[0].request.url).query)
    assert query["labels"] == ["from-retro"] and query["state"] == ["all"]
