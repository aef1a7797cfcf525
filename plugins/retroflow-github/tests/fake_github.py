"""GitHub's Issues API faked with ``responses`` for retroflow's sink contract suite.

Replies are built from the ``issue`` example in GitHub's OpenAPI description (see
``spec/PROVENANCE.md``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import responses
from retroflow_github import GitHubSink

from retroflow.testing.sink_contract import NOW, SinkUnderTest

API = "https://api.github.com"
ISSUES = f"{API}/repos/acme/shop/issues"
SPEC = json.loads((Path(__file__).parent / "spec" / "github-issues.extract.json").read_text(encoding="utf-8"))
EXAMPLE = SPEC["components"]["examples"]["issue"]["value"]
#: A distinctive fake token: it must never appear in an error message or a log line.
TOKEN = "github_pat_11FAKE0fake0github0token0e7c"
__all__ = ["API", "ISSUES", "NOW", "TOKEN", "FakeGitHub", "github_sink", "issue_json"]
NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
RATE_LIMITED = {"message": "API rate limit exceeded", "documentation_url": "https://docs.github.com/rest"}
#: GitHub's validation-error reply to an issue whose assignee it does not accept.
INVALID_ASSIGNEE = {
    "message": "Validation Failed",
    "errors": [{"resource": "Issue", "code": "invalid", "field": "assignees", "value": ["alice-gh"]}],
    "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
}


def issue_json(
    number: int, *, body: str = "", labels: tuple[str, ...] = ("retroflow",), **fields: Any
) -> dict[str, Any]:
    """The spec's example issue with this number, body, labels and fields."""
    issue = copy.deepcopy(EXAMPLE)
    issue.pop("pull_request", None)
    issue.update(
        number=number,
        id=1000 + number,
        url=f"{ISSUES}/{number}",
        html_url=f"https://github.com/acme/shop/issues/{number}",
        body=body,
        labels=[{"id": i, "name": name, "color": "ededed", "default": False} for i, name in enumerate(labels)],
        state="open",
        state_reason=None,
        closed_at=None,
        created_at="2026-11-03T10:00:00Z",
        updated_at="2026-11-10T10:00:00Z",
    )
    issue.update(fields)
    return issue


_CLOSED = {"state": "closed", "closed_at": "2026-11-20T09:30:00Z"}
_STATES: Mapping[str, dict[str, Any]] = {
    "open": {},
    "in progress": {"labels": ("retroflow", "In Progress")},
    "done": {"state_reason": "completed", **_CLOSED},
    "won't do": {"state_reason": "not_planned", **_CLOSED},
}


class FakeGitHub:
    """One repository's issues (``acme/shop``); issue numbers count from 41."""

    def __init__(self) -> None:
        self._next = 41

    def accept_creates(self, mocked: responses.RequestsMock, count: int) -> list[str]:
        numbers = list(range(self._next, self._next + count))
        self._next += count
        for number in numbers:
            mocked.post(ISSUES, json=issue_json(number), status=201)
        return [str(number) for number in numbers]

    def answer_create(self, mocked: responses.RequestsMock, **reply: Any) -> None:
        mocked.add(responses.POST, ISSUES, **reply)

    def accept_creates_but_reject(self, mocked: responses.RequestsMock, count: int, rejected: int) -> str:
        for index in range(count):
            if index == rejected:
                mocked.post(ISSUES, json=INVALID_ASSIGNEE, status=422)
            else:
                self.accept_creates(mocked, 1)
        return "Validation Failed; assignees invalid"

    def serve_lookup(self, mocked: responses.RequestsMock, key: str, external_id: str | None) -> None:
        found = [] if external_id is None else [issue_json(int(external_id), body=f"<!-- retroflow:{key} -->")]
        mocked.get(ISSUES, json=found)

    def serve_states(self, mocked: responses.RequestsMock, states: Mapping[str, str]) -> None:
        for number, state in states.items():
            if state == "missing":
                mocked.get(f"{ISSUES}/{number}", json=NOT_FOUND, status=404)
            else:
                mocked.get(f"{ISSUES}/{number}", json=issue_json(int(number), **_STATES[state]))
        mocked.get(ISSUES, json=[])  # the repository is there: a 404 is about one issue


def github_sink() -> SinkUnderTest:
    return SinkUnderTest(
        required="repo and token",
        table=lambda: (
            '[plugins.github]\nrepo = "acme/shop"\ntoken = "env:GITHUB_TOKEN"\n'
            'labels = ["incident-followup"]\nassignees = ["alice=alice-gh"]\n'
        ),
        secret=TOKEN,
        secret_env="GITHUB_TOKEN",
        sink=GitHubSink,
        fake=FakeGitHub(),
        refusals=tuple(
            ({"status": status, "json": {"message": said, "documentation_url": "https://docs.github.com/rest"}}, words)
            for status, said, words in [
                (401, "Bad credentials", ("[plugins.github] token", "Bad credentials")),
                (403, "Resource not accessible by personal access token", ("[plugins.github] repo",)),
                (404, "Not Found", ("[plugins.github] repo (acme/shop)", "Not Found")),
                (410, "Issues are disabled for this repo", ("[plugins.github] repo", "Issues are disabled")),
            ]
        ),
        rate_limits=(
            ({"status": 403, "json": RATE_LIMITED, "headers": {"retry-after": "5"}}, 5.0),  # a secondary limit
            # The primary limit spent: no requests left until its reset, 30 s after NOW.
            ({"status": 403, "json": RATE_LIMITED, "headers": _spent_until(NOW + timedelta(seconds=30))}, 30.0),
        ),
    )


def _spent_until(reset: datetime) -> dict[str, str]:
    return {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(reset.timestamp()))}
