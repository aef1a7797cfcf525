"""Every request the deploy-history source makes is an operation of GitHub's OpenAPI
description with known query parameters; the replies it is tested on match the reply
schemas; the spec's own examples and PyGithub's recorded replies read into events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers
from retroflow_github._deploys import deployment_events, release_event, run_events
from retroflow_github.deploys import DeployRepo, Window

from retroflow import RetroRequest, parse_timestamp
from retroflow.testing import check_source_contract

from .deploy_kit import (
    DEPLOYS_SPEC,
    REPO,
    config,
    deployment,
    incident,
    release,
    repository,
    run,
    runs_page,
    source,
    status,
    timeline,
)
from .fake_github import TOKEN

PYGITHUB = Path(__file__).parent / "fixtures" / "pygithub-replies" / "repos" / "PyGithub" / "PyGithub"
EVERYTHING = Window(parse_timestamp("2000-01-01T00:00:00Z"), parse_timestamp("2100-01-01T00:00:00Z"))
PAYMENTS = DeployRepo(repo="acme/payments", service="payments-api")


def test_every_request_of_a_full_collection_is_a_spec_operation(
    mocked: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    page2 = f"{REPO}/deployments?environment=production&per_page=100&page=2"
    first = matchers.query_param_matcher({"environment": "production", "per_page": "100"})
    mocked.get(
        f"{REPO}/deployments", json=[deployment(100, 3000)], headers={"Link": f'<{page2}>; rel="next"'}, match=[first]
    )
    mocked.get(page2, json=[deployment(42, -8), deployment(41, -3000)])
    mocked.get(f"{REPO}/deployments/42/statuses", json=[status(2, "success", -6), status(1, "in_progress", -7)])
    mocked.get(f"{REPO}/releases", json=[release(7, "v2.14.0", -40)])
    mocked.get(REPO, json=repository())
    mocked.get(
        f"{REPO}/actions/workflows/deploy.yml/runs",
        json=runs_page(run(7, -12, updated=-4, status="completed", conclusion="success")),
    )
    repos = '{repo = "acme/payments", service = "payments-api", workflows = ["deploy.yml"]}'
    settings = config(repos)
    result = check_source_contract(source(), RetroRequest("PAY-7"), settings, incident=incident(), timeline=timeline())
    assert len(result.events) == 5 and result.gaps == ()
    operations = set()
    for call in mocked.calls:
        reply = call.response.json()
        operations.add(
            DEPLOYS_SPEC.check_call(
                call.request.method, call.request.url, call.request.body, call.response.status_code, reply
            )
        )
    assert operations == {
        "repos/list-deployments",
        "repos/list-deployment-statuses",
        "repos/list-releases",
        "repos/get",
        "actions/list-workflow-runs",
    }


def _reply_schema(operation: str) -> dict[str, Any]:
    for methods in DEPLOYS_SPEC.doc["paths"].values():
        op = methods.get("get")
        if op and op["operationId"] == operation:
            reply = DEPLOYS_SPEC.resolve(op["responses"]["200"])
            return dict(reply["content"]["application/json"]["schema"])
    raise AssertionError(operation)


@pytest.mark.parametrize(
    ("operation", "file"),
    [
        ("repos/list-deployments", PYGITHUB / "deployments.json"),
        ("repos/list-deployment-statuses", PYGITHUB / "deployments" / "263877258" / "statuses.json"),
    ],
)
def test_pygithub_s_recorded_replies_match_the_reply_schemas(operation: str, file: Path) -> None:
    DEPLOYS_SPEC.check(_reply_schema(operation), json.loads(file.read_text(encoding="utf-8")), file.name)


def test_the_recorded_repository_predates_a_required_property_the_source_does_not_read() -> None:
    """GitHub's reply of 2024-02 lacks ``has_discussions``, which the 2026 description
    requires: the source reads ``default_branch`` only, and must not insist on more."""
    reply = json.loads(PYGITHUB.with_suffix(".json").read_text(encoding="utf-8"))
    with pytest.raises(AssertionError, match="'has_discussions' is a required property"):
        DEPLOYS_SPEC.check(_reply_schema("repos/get"), reply, "repo")
    assert reply["default_branch"] == "master"


def test_the_spec_s_examples_read_into_events() -> None:
    (deployed,) = DEPLOYS_SPEC.example("deployment-items")
    statuses = DEPLOYS_SPEC.example("deployment-status-items")
    (landed,) = deployment_events(deployed, statuses, PAYMENTS, EVERYTHING, ["success"])
    assert landed.summary == "payments-api: deploy of topic-branch (a84d88e) to production succeeded"
    assert (landed.actor, landed.link) == ("octocat", "https://example.com/deployment/42/output")
    (published,) = DEPLOYS_SPEC.example("release-items")
    event = release_event(published, PAYMENTS, EVERYTHING)
    assert event is not None and event.summary == "payments-api: released v1.0.0"
    (queued,) = DEPLOYS_SPEC.example("workflow-run-paginated")["workflow_runs"]
    (started,) = run_events(queued, PAYMENTS, EVERYTHING)
    assert started.summary == "payments-api: Build #562 started on master (acb5820)", "queued: no conclusion yet"
