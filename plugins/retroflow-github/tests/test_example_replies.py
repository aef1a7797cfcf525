"""The bundled example's saved replies (``contrib/examples/checkout-outage/github/``) are
shaped as GitHub answers: read through the source as the example reads them, every request
is an operation of GitHub's OpenAPI description and every reply matches its schema; what
they deploy are commits of the example's repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import requests
from retroflow_github.deploys import GitHubDeploySource

from retroflow import EventKind, Incident, Timeline, parse_timestamp
from retroflow.testing import make_config, make_event, make_plugins

from .deploy_kit import DEPLOYS_SPEC

EXAMPLE = Path(__file__).parents[3] / "contrib" / "examples" / "checkout-outage"


def example_table() -> str:
    """The example config's ``[plugins.github-deploys]`` table, as written there."""
    text = (EXAMPLE / "retroflow.toml").read_text(encoding="utf-8")
    table = text.split("[plugins.github-deploys]", 1)[1].split("\n[", 1)[0]
    return "[plugins.github-deploys]" + table


def read_example() -> tuple[list[requests.Response], list[object]]:
    """The source run on the example's saved replies: each reply it read, and the events."""
    replies: list[requests.Response] = []
    session = requests.Session()
    session.hooks["response"].append(lambda response, *args, **kwargs: replies.append(response))
    source = GitHubDeploySource(session=session)
    plugins = make_plugins(source, default_plugins=False)
    config = make_config(example_table(), plugins=plugins, path=EXAMPLE / "retroflow.toml")
    incident = Incident(
        id="CHK-1042",
        services=("checkout", "payments"),
        created=parse_timestamp("2026-11-07T02:19:00Z"),
        resolved=parse_timestamp("2026-11-07T03:32:00Z"),
    )
    first_signal = make_event("signal", at=parse_timestamp("2026-11-07T01:58:08Z"), service="checkout")
    result = source.retroflow_timeline_source(config, incident, Timeline.from_events([first_signal]))
    assert result is not None and result.gaps == ()
    return replies, list(result.events)


def test_every_saved_reply_answers_a_spec_operation_and_matches_its_schema() -> None:
    replies, _ = read_example()
    operations = []
    for reply in replies:
        url = reply.url.replace("https://github.example.com/api/v3", "https://api.github.com")
        operations.append(DEPLOYS_SPEC.check_call("GET", url, None, reply.status_code, reply.json()))
    assert sorted(operations) == [
        "actions/list-workflow-runs",
        "repos/list-deployment-statuses",
        "repos/list-deployment-statuses",
        "repos/list-deployments",
        "repos/list-releases",
    ], "the deployment of 3 November is older than the window: its statuses are not asked for"


def test_the_example_deploys_commits_of_its_repository(example_repo: Path) -> None:
    _, events = read_example()
    deployed = {e.details["ref"]: e.details["sha"] for e in events if e.details["change"] == "deployment"}
    for ref, sha in deployed.items():
        found = subprocess.run(
            ["git", "rev-parse", f"{ref}^{{commit}}"], cwd=example_repo, capture_output=True, text=True, check=True
        )
        assert found.stdout.strip() == sha, ref
    assert {e.kind for e in events} == {EventKind.CHANGE}
    assert sorted(e.summary for e in events if e.details["change"] == "deployment") == [
        f"checkout: deploy of v2.13.2 ({deployed['v2.13.2'][:7]}) to production started",
        f"checkout: deploy of v2.13.2 ({deployed['v2.13.2'][:7]}) to production succeeded",
        f"checkout: deploy of v2.14.0 ({deployed['v2.14.0'][:7]}) to production started",
        f"checkout: deploy of v2.14.0 ({deployed['v2.14.0'][:7]}) to production succeeded",
    ]
