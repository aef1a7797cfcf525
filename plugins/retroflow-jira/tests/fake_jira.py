"""A Jira Cloud site faked with ``responses`` for retroflow's sink contract suite (reply
bodies follow Atlassian's OpenAPI document, see ``spec/PROVENANCE.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import responses
from retroflow_jira import JiraSink

from retroflow.testing.sink_contract import SinkUnderTest

__all__ = ["API", "BULK", "SEARCH", "SITE", "TOKEN", "FakeJira", "bulk_reply", "issue", "jira_sink"]

SITE = "https://example.atlassian.net"
API = f"{SITE}/rest/api/2"
BULK = f"{API}/issue/bulk"
SEARCH = f"{API}/search/jql"
#: A distinctive fake token: it must never appear in an error message or a log line.
TOKEN = "ATATT3xFfGF0-fake-jira-token-5b1e"


def bulk_reply(start: int, count: int, failed: dict[int, dict[str, str]] | None = None) -> dict[str, Any]:
    """A CreatedIssues body: issues for the elements not in ``failed``, errors for the rest."""
    failed = failed or {}
    issues = [
        {"id": str(10000 + start + i), "key": f"OPS-{start + i + 1}", "self": f"{API}/issue/{10000 + start + i}"}
        for i in range(count)
        if i not in failed
    ]
    errors = [
        {"elementErrors": {"errorMessages": [], "errors": errs}, "failedElementNumber": i, "status": 400}
        for i, errs in sorted(failed.items())
    ]
    return {"issues": issues, "errors": errors}


def issue(issue_id: str, category: str, resolution: str | None = None, changed: str = "2026-11-20T09:30:00.000+0000"):
    return {
        "id": issue_id,
        "key": f"OPS-{issue_id}",
        "fields": {
            "status": {"name": category.title(), "statusCategory": {"key": category}},
            "resolution": {"name": resolution} if resolution else None,
            "statuscategorychangedate": changed,
            "updated": "2026-11-21T10:00:00.000+0000",
        },
    }


_CATEGORIES = {
    "open": ("new", None),
    "in progress": ("indeterminate", None),
    "done": ("done", "Done"),
    "won't do": ("done", "Won't Do"),
}
BULK_LIMIT = 50
NO_PERMISSION = "You do not have permission to create issues in this project."


class FakeJira:
    """One Cloud site; created issues get ids from 10000, in bulk creates of 50 at most."""

    def __init__(self) -> None:
        self._created = 0

    def accept_creates(self, mocked: responses.RequestsMock, count: int) -> list[str]:
        ids: list[str] = []
        for size in [BULK_LIMIT] * (count // BULK_LIMIT) + [count % BULK_LIMIT] * bool(count % BULK_LIMIT):
            reply = bulk_reply(self._created, size)
            self._created += size
            mocked.post(BULK, json=reply, status=201)
            ids += [created["id"] for created in reply["issues"]]
        return ids

    def answer_create(self, mocked: responses.RequestsMock, **reply: Any) -> None:
        mocked.add(responses.POST, BULK, **reply)

    def accept_creates_but_reject(self, mocked: responses.RequestsMock, count: int, rejected: int) -> str:
        failed = {rejected: {"assignee": "User cannot be assigned issues."}}
        mocked.post(BULK, json=bulk_reply(self._created, count, failed=failed), status=201)
        self._created += count
        return "assignee: User cannot be assigned issues."

    def serve_lookup(self, mocked: responses.RequestsMock, key: str, external_id: str | None) -> None:
        found = [] if external_id is None else [{"id": external_id, "key": f"OPS-{external_id}"}]
        mocked.get(SEARCH, json={"isLast": True, "issues": found})

    def serve_states(self, mocked: responses.RequestsMock, states: Mapping[str, str]) -> None:
        found = [issue(i, *_CATEGORIES[state]) for i, state in states.items() if state != "missing"]
        mocked.get(SEARCH, json={"isLast": True, "issues": found})


def _table(deployment: str = "cloud") -> str:
    email = 'email = "bot@example.com"\n' if deployment == "cloud" else ""
    return (
        f'[plugins.jira]\nurl = "{SITE}"\nproject = "OPS"\ntoken = "env:JIRA_TOKEN"\n{email}'
        f'deployment = "{deployment}"\nassignees = ["alice=5b10ac8d82e05b22cc7d4ef5"]\n'
    )


def jira_sink() -> SinkUnderTest:
    """``make_client(extra, deployment="server")`` opens a Server/Data Center client."""
    return SinkUnderTest(
        required="url, project and token",
        table=_table,
        secret=TOKEN,
        secret_env="JIRA_TOKEN",
        sink=JiraSink,
        fake=FakeJira(),
        refusals=(
            ({"status": 401, "json": {}}, ("[plugins.jira] email and token",)),
            ({"status": 403, "json": {"errorMessages": [NO_PERMISSION]}}, ("project", NO_PERMISSION)),
            ({"status": 404, "json": {"errorMessages": ["Not found"]}}, ("[plugins.jira] url",)),
        ),
        rate_limits=(({"status": 429, "json": {}}, 1.0),),  # no Retry-After: back off 1 s
    )
